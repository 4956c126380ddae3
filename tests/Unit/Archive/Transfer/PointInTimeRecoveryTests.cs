using System.Globalization;
using PgDr.Archive.Server;
using PgDr.Archive.Transfer;
using PgDr.Connections;
using PgDr.Hosting;
using PgDr.Hosting.Sandbox;
using PgDr.Tests.Archive.Server;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Archive.Transfer;

/// <summary>
/// The whole archiving path with PostgreSQL on both ends: a primary archives through pgdr wal push (archive_command),
/// and a new instance, built from a base backup without WAL, replays the archive alone through pgdr wal fetch
/// (restore_command) to a point in time between two markers, pgBackRest-style. Both run the NativeAOT pgdr, the one users
/// install (the framework-dependent build archives too, but Test-PgWalArchiving rightly calls it unhealthy: slow).
/// </summary>
public sealed class PointInTimeRecoveryTests(LonePrimaryFixture fixture, NativePgDrFixture native) : IClassFixture<LonePrimaryFixture>, IClassFixture<NativePgDrFixture>
{
    private readonly PgSandbox _sandbox = fixture.Sandbox;

    [Fact]
    public async Task Instance_restored_from_the_archive_alone_lands_exactly_on_the_target_between_two_markers()
    {
        var primary = _sandbox.Primary.Instance;
        var directory = await ArchiveTestSupport.NewDirectoryAsync("pitr");
        var repository = Directory.CreateDirectory(Path.Combine(directory, "repo")).FullName;
        await OsUser.ForPostgres().TakeOwnershipAsync(repository, CancellationToken.None);
        var keyFile = await ArchiveTestSupport.NewKeyFileAsync(directory);
        var configPath = await ArchiveTestSupport.WriteConfigAsync(directory,
            ArchiveTestSupport.ConfigJson("pitr", [ArchiveTestSupport.FileSystemRepository("local", repository)], "zstd", keyFile));
        var config = PgDr.Archive.Configuration.PgDrConfig.Load(configPath);

        await WalArchivingService.SetAsync(primary, new WalArchivingRequest { PgDrPath = native.ExecutablePath, ConfigPath = configPath }, apply: true, restart: true, CancellationToken.None);
        var healthy = await WalArchivingHealthService.TestAsync(primary, new WalArchivingTestOptions { ForceSwitch = true, Deadline = TimeSpan.FromSeconds(60) }, new RepositoryWalProbe(config), CancellationToken.None);
        Assert.True(healthy.Healthy, healthy.ToString());
        Assert.NotNull(healthy.SwitchArchivedAfter);

        // A base backup without WAL: the restored instance can only become consistent from the archive.
        var restoreDirectory = Path.Combine(directory, "restored");
        await ProcessRunner.RunCheckedAsync(
            _sandbox.Binaries.Tool("pg_basebackup"),
            ["-h", "127.0.0.1", "-p", primary.Port.ToString(CultureInfo.InvariantCulture), "-U", "postgres", "-D", restoreDirectory, "-X", "none", "-c", "fast", "--no-password"],
            CancellationToken.None,
            _sandbox.RunAs,
            new Dictionary<string, string> { ["PGPASSFILE"] = _sandbox.PasswordFile },
            directory);

        await Sql.ExecuteAsync(primary, "CREATE TABLE markers (id int PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())");
        await Sql.ExecuteAsync(primary, "INSERT INTO markers (id) VALUES (1)");
        var target = await Sql.ScalarAsync<DateTime>(primary, "SELECT clock_timestamp()");
        await Sql.ExecuteAsync(primary, "INSERT INTO markers (id) VALUES (2)");
        var afterTarget = await WalArchivingHealthService.TestAsync(primary, new WalArchivingTestOptions { ForceSwitch = true, Deadline = TimeSpan.FromSeconds(60) }, new RepositoryWalProbe(config), CancellationToken.None);
        Assert.True(afterTarget.Healthy, afterTarget.ToString());

        var port = Ports.Closed();
        await File.AppendAllTextAsync(Path.Combine(restoreDirectory, "postgresql.auto.conf"), string.Join('\n',
            $"port = {port}",
            "cluster_name = 'restored'",
            "archive_mode = off",
            $"restore_command = '{WalArchivingService.RestoreCommand(native.ExecutablePath, configPath).Replace("'", "''", StringComparison.Ordinal)}'",
            $"recovery_target_time = '{target.ToUniversalTime():yyyy-MM-dd HH:mm:ss.ffffff}+00'",
            "recovery_target_action = 'promote'",
            string.Empty));
        await File.WriteAllTextAsync(Path.Combine(restoreDirectory, "recovery.signal"), string.Empty);
        await OsUser.ForPostgres().TakeOwnershipAsync(restoreDirectory, CancellationToken.None);
        var restored = new LocalCluster(_sandbox.Binaries, restoreDirectory, _sandbox.RunAs);
        try
        {
            await restored.StartAsync(CancellationToken.None);
            var instance = new PgInstance("127.0.0.1", port, username: "postgres").WithCredential("postgres", _sandbox.SuperuserPassword);
            await Wait.UntilAsync(
                async ct => !await Sql.ScalarAsync<bool>(instance, "SELECT pg_is_in_recovery()"),
                TimeSpan.FromSeconds(90), "the restored instance to reach its target and promote", CancellationToken.None);

            var markers = await Sql.ScalarAsync<string>(instance, "SELECT string_agg(id::text, ',' ORDER BY id) FROM markers");
            Assert.Equal("1", markers);
            var log = await File.ReadAllTextAsync(restored.LogFile);
            Assert.Contains("restored log file", log, StringComparison.Ordinal);
            Assert.Contains("recovery stopping before commit", log, StringComparison.Ordinal);
        }
        finally
        {
            await restored.ForceStopAsync(CancellationToken.None);
        }
    }
}
