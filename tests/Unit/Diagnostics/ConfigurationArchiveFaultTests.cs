using PgDr.Archive.Configuration;
using PgDr.Archive.Server;
using PgDr.Archive.Stanza;
using PgDr.Diagnostics;
using PgDr.Errors;
using PgDr.Hosting;
using PgDr.Tests.Archive.Server;
using PgDr.Tests.Fixtures;
using static PgDr.Tests.Diagnostics.ConfigurationCheckSupport;

namespace PgDr.Tests.Diagnostics;

/// <summary>
/// Test-PgDrConfiguration on a primary archiving through the NativeAOT pgdr, with the faults of the archive caused for
/// real: the async spool on a 2 MiB tmpfs filled up, the filesystem repository removed. Each test sets its own
/// archive_command and configuration, and turns archiving off again.
/// </summary>
public sealed class ConfigurationArchiveFaultTests(HealthCheckPrimaryFixture fixture, NativePgDrFixture native, TmpfsFixture tmpfs)
    : IClassFixture<HealthCheckPrimaryFixture>, IClassFixture<NativePgDrFixture>, IClassFixture<TmpfsFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);

    private readonly PgDr.Hosting.Sandbox.PgSandbox _sandbox = fixture.Sandbox;

    [Fact]
    public async Task A_full_async_spool_fails_the_ArchiveSpool_check_while_the_repository_still_passes()
    {
        Assert.True(tmpfs.Mounted, tmpfs.Unavailable);
        await OsUser.ForPostgres().TakeOwnershipAsync(tmpfs.Directory, CancellationToken.None);
        var spool = Path.Combine(tmpfs.Directory, "spool");
        var (config, _) = await ArchiveThroughAsync("spool", spool);
        string? filler = null;
        try
        {
            // A segment goes through the spool on the tmpfs first: the spool is in use, and healthy.
            await SwitchAndArchiveAsync(config);
            var healthy = await CheckAsync(_sandbox, new ConfigurationCheckOptions { ScanLog = false }, "region-a");
            Assert.Equal(PgDrCheckVerdict.Pass, Single(healthy, "region-a", CheckIds.Archiver).Verdict);
            Assert.Equal(PgDrCheckVerdict.Pass, Single(healthy, "region-a", CheckIds.ArchiveSpool, "spool").Verdict);
            Assert.True(Directory.Exists(Path.Combine(spool, "out")));

            filler = await tmpfs.FillAsync();

            var full = Single(await CheckAsync(_sandbox, new ConfigurationCheckOptions { ScanLog = false }, "region-a"), "region-a", CheckIds.ArchiveSpool, "spool");
            Assert.Equal(PgDrCheckVerdict.Fail, full.Verdict);
            Assert.Contains(tmpfs.Directory, full.Evidence, StringComparison.Ordinal);
            Assert.Contains("spoolPath", full.Fix, StringComparison.Ordinal);
        }
        finally
        {
            if (filler is not null)
            {
                File.Delete(filler);
            }

            await StopArchivingAsync();
        }
    }

    [Fact]
    public async Task A_removed_repository_fails_the_Repository_check_and_after_a_switch_the_Archiver_check_with_RepositoryNotFound()
    {
        var (config, repository) = await ArchiveThroughAsync("removed", spoolPath: null);
        try
        {
            await SwitchAndArchiveAsync(config);
            var healthy = await CheckAsync(_sandbox, new ConfigurationCheckOptions { ScanLog = false }, "region-a");
            Assert.Equal(PgDrCheckVerdict.Pass, Single(healthy, "region-a", CheckIds.Archiver).Verdict);
            Assert.Equal(PgDrCheckVerdict.Pass, Single(healthy, "region-a", CheckIds.Repository, "local").Verdict);

            Directory.Delete(repository, recursive: true);

            // Before any segment fails on it, the repository check already sees it gone.
            var gone = Single(await CheckAsync(_sandbox, new ConfigurationCheckOptions { ScanLog = false }, "region-a"), "region-a", CheckIds.Repository, "local");
            Assert.Equal(PgDrCheckVerdict.Fail, gone.Verdict);
            Assert.Contains($"[{ErrorIds.RepositoryNotFound}]", gone.Evidence, StringComparison.Ordinal);

            // The next segment fails on it, and the archiver's check names pgdr's error id from the log.
            var health = await WalArchivingHealthService.TestAsync(_sandbox.Primary.Instance, new WalArchivingTestOptions { ForceSwitch = true, Deadline = Deadline }, null, CancellationToken.None);
            Assert.Equal(ErrorIds.RepositoryNotFound, health.Failure?.ErrorId);
            var results = await CheckAsync(_sandbox, "region-a");
            var archiver = Single(results, "region-a", CheckIds.Archiver);
            Assert.Equal(PgDrCheckVerdict.Fail, archiver.Verdict);
            Assert.Contains($"[{ErrorIds.RepositoryNotFound}]", archiver.Evidence, StringComparison.Ordinal);
            Assert.Equal(PgDrCheckVerdict.Fail, Single(results, "region-a", CheckIds.Repository, "local").Verdict);
            Assert.Equal(PgDrCheckVerdict.Fail, Single(results, "region-a", CheckIds.LogArchiveFailed).Verdict);
        }
        finally
        {
            await StopArchivingAsync();
        }
    }

    /// <summary>A repository made by New-PgWalRepository's engine and archive_command set to the native pgdr; returns the repository's path.</summary>
    private async Task<(PgDrConfig Config, string Repository)> ArchiveThroughAsync(string label, string? spoolPath)
    {
        var directory = await ArchiveTestSupport.NewDirectoryAsync("check-" + label);
        var repository = Path.Combine(directory, "repo");
        var json = ArchiveTestSupport.ConfigJson("main", [ArchiveTestSupport.FileSystemRepository("local", repository)], spoolPath: spoolPath);
        var configPath = await ArchiveTestSupport.WriteConfigAsync(directory, json);
        var config = PgDrConfig.Load(configPath);
        await WalRepositoryService.CreateAsync(_sandbox.Primary.Instance, config, null, CancellationToken.None);
        await WalArchivingService.SetAsync(
            _sandbox.Primary.Instance, new WalArchivingRequest { PgDrPath = native.ExecutablePath, ConfigPath = configPath }, apply: true, restart: true, CancellationToken.None);
        return (config, repository);
    }

    private async Task SwitchAndArchiveAsync(PgDrConfig config)
    {
        var health = await WalArchivingHealthService.TestAsync(
            _sandbox.Primary.Instance, new WalArchivingTestOptions { ForceSwitch = true, Deadline = Deadline }, new PgDr.Archive.Transfer.RepositoryWalProbe(config), CancellationToken.None);
        Assert.True(health.Healthy, health.ToString());
    }

    private async Task StopArchivingAsync() =>
        await WalArchivingService.SetAsync(_sandbox.Primary.Instance, WalArchivingRequest.Disabling(), apply: true, restart: true, CancellationToken.None);
}
