using PgDr.Archive.Server;
using PgDr.Archive.Transfer;
using PgDr.Hosting;
using PgDr.Hosting.Sandbox;
using PgDr.Tests.Archive.Server;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Packaging;

/// <summary>
/// The fast pgdr and the slow one, told apart: by the running process itself (the warning the framework-dependent build
/// writes to the server log at each archive_command call) and by reading a file (Test-PgWalArchiving's reason, the
/// refusal to install it), on the real binaries the build makes.
/// </summary>
public sealed class PgDrBuildTests(NativePgDrFixture native, LonePrimaryFixture primary, WalCorpusFixture corpus)
    : IClassFixture<NativePgDrFixture>, IClassFixture<LonePrimaryFixture>, IClassFixture<WalCorpusFixture>
{
    private readonly PgSandbox _sandbox = primary.Sandbox;

    [Fact]
    public void Inspect_tells_the_NativeAOT_pgdr_from_the_framework_dependent_one_and_from_other_programs()
    {
        var directory = TestDirectories.Path("inspect-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        var lonelyApphost = Path.Combine(directory, "pgdr");
        File.Copy(PgDrForPostgres.ExecutablePath, lonelyApphost);

        Assert.Equal(PgDrBuildKind.NativeAot, PgDrBuild.Inspect(native.ExecutablePath));
        Assert.Equal(PgDrBuildKind.FrameworkDependent, PgDrBuild.Inspect(PgDrForPostgres.ExecutablePath));
        Assert.Equal(PgDrBuildKind.FrameworkDependent, PgDrBuild.Inspect("/usr/bin/dotnet"));
        Assert.Equal(PgDrBuildKind.Unknown, PgDrBuild.Inspect(lonelyApphost)); // an apphost without its pgdr.dll is no pgdr at all
        Assert.Equal(PgDrBuildKind.Unknown, PgDrBuild.Inspect("/bin/false"));
        Assert.Equal(PgDrBuildKind.Unknown, PgDrBuild.Inspect(Path.Combine(directory, "absent")));
        Assert.Equal(PgDrBuildKind.FrameworkDependent, PgDrBuild.Current); // the test host JIT-compiles
    }

    [Fact]
    public async Task The_framework_dependent_pgdr_writes_one_warning_line_per_push_and_the_NativeAOT_one_writes_none()
    {
        var directory = await ArchiveTestSupport.NewDirectoryAsync("build-warn");
        var repository = Directory.CreateDirectory(Path.Combine(directory, "repo")).FullName;
        var config = await ArchiveTestSupport.WriteConfigAsync(directory, ArchiveTestSupport.ConfigJson("main", [ArchiveTestSupport.FileSystemRepository("local", repository)]));
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));

        var slow = await ProcessRunner.RunAsync(PgDrForPostgres.ExecutablePath, ["wal", "push", "--config", config, corpus.Segments[0]], timeout.Token);
        var fast = await ProcessRunner.RunAsync(native.ExecutablePath, ["wal", "push", "--config", config, corpus.Segments[1]], timeout.Token);

        Assert.True(slow.ExitCode == 0, slow.StandardError);
        Assert.Equal(PgDrBuild.SlowBuildWarning, Assert.Single(slow.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        Assert.Contains(PgDrBuild.SlowBuildReason, PgDrBuild.SlowBuildWarning, StringComparison.Ordinal);
        Assert.True(fast.ExitCode == 0, fast.StandardError);
        Assert.Equal(string.Empty, fast.StandardError);
    }

    [Fact]
    public async Task Archiving_through_the_slow_build_warns_in_the_server_log_and_Test_PgWalArchiving_gives_the_reason_which_the_NativeAOT_pgdr_clears()
    {
        var instance = _sandbox.Primary.Instance;
        var directory = await ArchiveTestSupport.NewDirectoryAsync("build-log");
        var repository = Directory.CreateDirectory(Path.Combine(directory, "repo")).FullName;
        await OsUser.ForPostgres().TakeOwnershipAsync(repository, CancellationToken.None);
        var configPath = await ArchiveTestSupport.WriteConfigAsync(directory, ArchiveTestSupport.ConfigJson("build", [ArchiveTestSupport.FileSystemRepository("local", repository)]));
        var probe = new RepositoryWalProbe(PgDr.Archive.Configuration.PgDrConfig.Load(configPath));
        var log = _sandbox.Cluster(_sandbox.Primary.Name).LogFile;
        var switchTest = new WalArchivingTestOptions { ForceSwitch = true, Deadline = TimeSpan.FromSeconds(90) };

        var set = await WalArchivingService.SetAsync(instance, new WalArchivingRequest { PgDrPath = PgDrForPostgres.ExecutablePath, ConfigPath = configPath }, apply: true, restart: true, CancellationToken.None);
        var slow = await WalArchivingHealthService.TestAsync(instance, switchTest, probe, CancellationToken.None);
        var warnings = WarningLines(log);

        // Archiving works, slowly: the switched segment arrives, every call left its one line, and the reason is given.
        Assert.Contains(PgDrBuild.SlowBuildReason, set.Note, StringComparison.Ordinal);
        Assert.NotNull(slow.SwitchArchivedAfter);
        Assert.Equal(PgDrBuildKind.FrameworkDependent, slow.PgDrBuild);
        Assert.Contains(slow.Reasons, r => r.StartsWith(PgDrBuild.SlowBuildReason, StringComparison.Ordinal));
        Assert.False(slow.Healthy);
        Assert.True(warnings > 0, "no warning in the server log");
        Assert.True(warnings <= slow.ArchivedCount + slow.FailedCount, $"{warnings} warnings for {slow.ArchivedCount} archived and {slow.FailedCount} failed calls");

        await WalArchivingService.SetAsync(instance, new WalArchivingRequest { PgDrPath = native.ExecutablePath, ConfigPath = configPath }, apply: true, restart: false, CancellationToken.None);
        var fast = await WalArchivingHealthService.TestAsync(instance, switchTest, probe, CancellationToken.None);

        Assert.True(fast.Healthy, fast.ToString());
        Assert.Equal(PgDrBuildKind.NativeAot, fast.PgDrBuild);
        Assert.True(fast.ArchivedCount > slow.ArchivedCount);
        Assert.Equal(warnings, WarningLines(log));
    }

    private static int WarningLines(string log) =>
        File.ReadLines(log).Count(l => l.Contains(PgDrBuild.SlowBuildWarning, StringComparison.Ordinal));
}
