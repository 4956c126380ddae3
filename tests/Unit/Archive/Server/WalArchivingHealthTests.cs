using PgDr.Archive.Configuration;
using PgDr.Archive.Server;
using PgDr.Archive.Transfer;
using PgDr.Errors;
using PgDr.Hosting;
using PgDr.Hosting.Sandbox;
using PgDr.Hosting.Services;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Archive.Server;

/// <summary>A primary alone for the health checks; each test sets the archive_command it needs.</summary>
public sealed class HealthCheckPrimaryFixture : SandboxFixture
{
    protected override SandboxSpec Spec(string directory) => new() { Directory = directory, Standbys = 0 };
}

/// <summary>
/// Test-PgWalArchiving on a real primary archiving through pgdr: a forced switch on an idle primary, failures told at
/// once with pgdr's error id and its fix, and the access check run as the postgres account before anything else.
/// These tests run as root, as CI does, so that the postgres account is another one than the caller's.
/// </summary>
public sealed class WalArchivingHealthTests(HealthCheckPrimaryFixture fixture) : IClassFixture<HealthCheckPrimaryFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);

    private readonly PgSandbox _sandbox = fixture.Sandbox;

    [Fact]
    public async Task Forced_switch_on_an_idle_primary_is_archived_every_time_it_is_run_in_a_row()
    {
        var primary = _sandbox.Primary.Instance;
        var (config, configPath) = await NewConfigAsync("idle", createRepository: true);
        await ArchiveThroughAsync(PgDrForPostgres.ExecutablePath, configPath);

        var switched = new List<string>();
        for (var run = 0; run < 4; run++)
        {
            // Nothing is written between the runs: each switch must still close a segment of its own.
            var health = await WalArchivingHealthService.TestAsync(primary, new WalArchivingTestOptions { ForceSwitch = true, Deadline = Deadline }, new RepositoryWalProbe(config), CancellationToken.None);
            Assert.True(health.Healthy, $"run {run + 1}: {health}");
            Assert.NotNull(health.SwitchArchivedAfter);
            Assert.Null(health.Failure);
            switched.Add(health.SwitchedWal!);
        }

        Assert.Equal(switched.Order(StringComparer.Ordinal), switched);
        Assert.Equal(switched.Count, switched.Distinct().Count());
        Assert.Empty(await new RepositoryWalProbe(config).MissingFromAsync(switched[^1], CancellationToken.None));
    }

    [Fact]
    public async Task Forced_switch_stops_at_the_archivers_first_failure_and_names_pgdrs_error_and_its_fix()
    {
        Assert.True(OsUser.CallerIsRoot, "this test runs as root, as CI does");
        var primary = _sandbox.Primary.Instance;
        var (config, configPath) = await NewConfigAsync("norepo", createRepository: false);
        var applied = await ArchiveThroughAsync(PgDrForPostgres.ExecutablePath, configPath);
        Assert.Equal("postgres", applied.AccessCheckedAs);

        var health = await WalArchivingHealthService.TestAsync(primary, new WalArchivingTestOptions { ForceSwitch = true, Deadline = Deadline }, new RepositoryWalProbe(config), CancellationToken.None);

        // A Failure is only set when the wait ended on the archiver's failure, never when the deadline ran out.
        Assert.False(health.Healthy);
        Assert.Null(health.SwitchArchivedAfter);
        var failure = Assert.IsType<WalArchiveFailure>(health.Failure);
        Assert.Equal(ErrorIds.RepositoryNotFound, failure.ErrorId);
        Assert.Equal(2, failure.ExitCode);
        Assert.Equal(ArchiveFailureAdvice.For(ErrorIds.RepositoryNotFound), failure.Fix);
        Assert.Equal(LogFile(), failure.Evidence);
        Assert.True(health.FailedCount > 0);

        // The fix: once the repository exists, the same check is healthy.
        var repository = config.Repositories[0].ToRepositoryConfig().Path!;
        Directory.CreateDirectory(repository);
        await OsUser.ForPostgres().TakeOwnershipAsync(repository, CancellationToken.None);
        var fixedHealth = await WalArchivingHealthService.TestAsync(primary, new WalArchivingTestOptions { ForceSwitch = true, Deadline = Deadline }, new RepositoryWalProbe(config), CancellationToken.None);
        Assert.True(fixedHealth.Healthy, fixedHealth.ToString());
    }

    [Fact]
    public async Task Key_file_the_postgres_account_cannot_read_is_ArchiveKeyAccessDenied_naming_that_account_and_Set_changes_nothing()
    {
        Assert.True(OsUser.CallerIsRoot, "this test runs as root, as CI does");
        var primary = _sandbox.Primary.Instance;
        var (_, configPath) = await NewConfigAsync("rootkey", createRepository: true, keyOwnedByRoot: true);
        var before = await Sql.ScalarAsync<string>(primary, "SELECT reset_val FROM pg_settings WHERE name = 'archive_command'");

        var ex = await Assert.ThrowsAsync<PgDrException>(() => WalArchivingService.SetAsync(
            primary, new WalArchivingRequest { PgDrPath = PgDrForPostgres.ExecutablePath, ConfigPath = configPath }, apply: true, restart: true, CancellationToken.None));

        Assert.Equal(ErrorIds.ArchiveKeyAccessDenied, ex.ErrorId);
        Assert.Contains("'postgres'", ex.Message, StringComparison.Ordinal);
        Assert.Equal(before, await Sql.ScalarAsync<string>(primary, "SELECT reset_val FROM pg_settings WHERE name = 'archive_command'"));

        // The same id from pgdr itself, as archive_command would log it.
        var push = await ProcessRunner.RunAsync(PgDrForPostgres.ExecutablePath, ["config", "check", "--config", configPath], CancellationToken.None, OsUser.ForPostgres());
        Assert.Equal(2, push.ExitCode);
        Assert.EndsWith($"[{ErrorIds.ArchiveKeyAccessDenied}]", push.StandardError.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pgdr_the_postgres_account_cannot_execute_is_refused_by_Set_found_by_the_access_check_and_by_the_archivers_restart()
    {
        Assert.True(OsUser.CallerIsRoot, "this test runs as root, as CI does");
        var primary = _sandbox.Primary.Instance;
        var (_, configPath) = await NewConfigAsync("noexec", createRepository: true);

        // A build under a directory only root may enter, as under /root.
        var privateDirectory = TestDirectories.Path("private-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(privateDirectory);
        File.SetUnixFileMode(privateDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var unreachable = Path.Combine(privateDirectory, "pgdr");
        File.Copy(PgDrForPostgres.ExecutablePath, unreachable);

        var refused = await Assert.ThrowsAsync<PgDrException>(() => WalArchivingService.SetAsync(
            primary, new WalArchivingRequest { PgDrPath = unreachable, ConfigPath = configPath }, apply: false, restart: false, CancellationToken.None));
        Assert.Equal(ErrorIds.PgDrNotExecutable, refused.ErrorId);

        // Set by hand, around PgDr: the access check finds it without archiving anything.
        await SetArchiveCommandAsync(WalArchivingService.ArchiveCommand(unreachable, configPath));
        try
        {
            var health = await WalArchivingHealthService.TestAsync(primary, new WalArchivingTestOptions { ForceSwitch = true, Deadline = Deadline }, null, CancellationToken.None);
            Assert.False(health.Healthy);
            Assert.Equal("postgres", health.AccessCheckedAs);
            Assert.Null(health.SwitchedWal);
            Assert.Equal(ErrorIds.PgDrNotExecutable, health.Failure?.ErrorId);
            Assert.Equal(126, health.Failure?.ExitCode);

            // Without the access check (a node on another host), the archiver's FATAL exit ends the wait: PostgreSQL
            // restarts it without counting a failure, and the server log tells exit code 126.
            var remote = await WalArchivingHealthService.TestAsync(primary, new WalArchivingTestOptions { ForceSwitch = true, Deadline = Deadline, CheckAccess = false }, null, CancellationToken.None);
            Assert.False(remote.Healthy);
            Assert.Null(remote.AccessCheckedAs);
            Assert.NotNull(remote.SwitchedWal);
            var failure = Assert.IsType<WalArchiveFailure>(remote.Failure);
            Assert.Equal(126, failure.ExitCode);
            Assert.Equal(ErrorIds.PgDrNotExecutable, failure.ErrorId);
            Assert.Equal(LogFile(), failure.Evidence);
        }
        finally
        {
            // Anything that archives, so the archiver stops failing for the other tests.
            await SetArchiveCommandAsync("/bin/true");
        }
    }

    [Fact]
    public async Task Disable_needs_neither_pgdr_nor_a_configuration_and_changes_only_archive_mode()
    {
        var primary = _sandbox.Primary.Instance;
        var (_, configPath) = await NewConfigAsync("disable", createRepository: true);
        await ArchiveThroughAsync(PgDrForPostgres.ExecutablePath, configPath);
        var command = await Sql.ScalarAsync<string>(primary, "SELECT reset_val FROM pg_settings WHERE name = 'archive_command'");

        var planned = await WalArchivingService.SetAsync(primary, WalArchivingRequest.Disabling(), apply: false, restart: false, CancellationToken.None);
        var mode = Assert.Single(planned.Settings, s => s.Changed);
        Assert.Equal(("archive_mode", "on", "off"), (mode.Name, mode.OldValue, mode.NewValue));
        Assert.Equal("on", await Sql.ScalarAsync<string>(primary, "SHOW archive_mode"));

        var applied = await WalArchivingService.SetAsync(primary, WalArchivingRequest.Disabling(), apply: true, restart: true, CancellationToken.None);
        Assert.True(applied.Restarted);
        Assert.Equal("off", await Sql.ScalarAsync<string>(primary, "SHOW archive_mode"));
        Assert.Equal(command, await Sql.ScalarAsync<string>(primary, "SELECT reset_val FROM pg_settings WHERE name = 'archive_command'"));
    }

    private string LogFile() => _sandbox.Primary.DataDirectory + ".log";

    private async Task<PgWalArchivingChange> ArchiveThroughAsync(string pgdr, string configPath) =>
        await WalArchivingService.SetAsync(
            _sandbox.Primary.Instance, new WalArchivingRequest { PgDrPath = pgdr, ConfigPath = configPath }, apply: true, restart: true, CancellationToken.None);

    private async Task SetArchiveCommandAsync(string command)
    {
        var primary = _sandbox.Primary.Instance;
        await Sql.ExecuteAsync(primary, "ALTER SYSTEM SET archive_mode = on");
        await Sql.ExecuteAsync(primary, $"ALTER SYSTEM SET archive_command = '{command.Replace("'", "''", StringComparison.Ordinal)}'");
        if (await Sql.ScalarAsync<string>(primary, "SHOW archive_mode") != "on")
        {
            await ((IPostgresService)_sandbox.Cluster(_sandbox.Primary.Name)).RestartAsync(CancellationToken.None);
        }

        await Sql.ExecuteAsync(primary, "SELECT pg_reload_conf()");
        await Wait.UntilAsync(
            async _ => await Sql.ScalarAsync<string>(primary, "SHOW archive_command") == command,
            TimeSpan.FromSeconds(30), "archive_command to be reloaded", CancellationToken.None);
    }

    /// <summary>A configuration with one filesystem repository and a key, readable by the postgres account unless asked otherwise.</summary>
    private static async Task<(PgDrConfig Config, string Path)> NewConfigAsync(string label, bool createRepository, bool keyOwnedByRoot = false)
    {
        var directory = await ArchiveTestSupport.NewDirectoryAsync(label);
        var repository = Path.Combine(directory, "repo");
        if (createRepository)
        {
            Directory.CreateDirectory(repository);
            await OsUser.ForPostgres().TakeOwnershipAsync(repository, CancellationToken.None);
        }

        string keyFile;
        if (keyOwnedByRoot)
        {
            keyFile = Path.Combine(directory, "root.key");
            await File.WriteAllTextAsync(keyFile, Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)));
            File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        else
        {
            keyFile = await ArchiveTestSupport.NewKeyFileAsync(directory);
        }

        var path = await ArchiveTestSupport.WriteConfigAsync(directory,
            ArchiveTestSupport.ConfigJson(label, [ArchiveTestSupport.FileSystemRepository("local", repository)], "lz4", keyFile));
        return (PgDrConfig.Load(path), path);
    }
}
