using PgDr.Archive.Repositories;
using PgDr.Archive.Stanza;
using PgDr.Backup.Catalog;
using PgDr.Backup.Create;
using PgDr.Backup.Restore;
using PgDr.Backup.Verify;
using PgDr.Errors;
using PgDr.Hosting;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Backup;

/// <summary>What a backup or restore refuses, with its error id, and what it leaves untouched when it does.</summary>
[Collection(FileSystemBackups.Name)]
public sealed class BackupRefusalTests(FileSystemArchivedClusterFixture fixture)
{
    [Fact]
    public async Task A_backup_into_a_stanza_of_another_cluster_is_refused_before_anything_is_written()
    {
        var directory = await ArchiveTestSupport.NewDirectoryAsync("other-stanza");
        var repository = Directory.CreateDirectory(Path.Combine(directory, "repo")).FullName;
        var other = new FileSystemArchiveRepository("other", repository);
        await RepositoryIdentity.EnsureAsync(other, "main", new ClusterIdentity(7000000000000000001, 15, 16 * 1024 * 1024), CancellationToken.None);
        var config = ArchiveTestSupport.Config("main", [ArchiveTestSupport.FileSystemRepository("other", repository)], "zstd", await ArchiveTestSupport.NewKeyFileAsync(directory));

        var error = await Assert.ThrowsAnyAsync<PgDrException>(() => BackupService.CreateAsync(config, new BackupRequest { Instance = fixture.Primary }, progress: null, CancellationToken.None));

        Assert.Equal(ErrorIds.StanzaMismatch, error.ErrorId);
        Assert.Equal(["identity.json"], Directory.EnumerateFileSystemEntries(Path.Combine(repository, "main")).Select(Path.GetFileName));
    }

    [Fact]
    public async Task A_backup_of_a_data_directory_that_is_not_the_connected_clusters_is_refused()
    {
        // Another cluster's files: a pg_control with another system identifier.
        var other = Path.Combine(await ArchiveTestSupport.NewDirectoryAsync("other-cluster"), "data");
        Directory.CreateDirectory(Path.Combine(other, "global"));
        var control = await File.ReadAllBytesAsync(Path.Combine(fixture.Sandbox.Primary.DataDirectory, "global", "pg_control"));
        control[0] ^= 0xFF;
        await File.WriteAllBytesAsync(Path.Combine(other, "global", "pg_control"), control);
        var before = await BackupCatalog.ListAsync(fixture.Config, null, CancellationToken.None);

        var error = await Assert.ThrowsAnyAsync<PgDrException>(() => BackupService.CreateAsync(
            fixture.Config, new BackupRequest { Instance = fixture.Primary, DataDirectory = other }, progress: null, CancellationToken.None));

        Assert.Equal(ErrorIds.BackupSourceMismatch, error.ErrorId);
        Assert.Equal(before.Count, (await BackupCatalog.ListAsync(fixture.Config, null, CancellationToken.None)).Count);
    }

    [Fact]
    public async Task A_restore_into_a_non_empty_directory_without_delta_or_force_is_refused_and_the_directory_is_untouched()
    {
        var backup = await LatestOrNewAsync();
        var directory = Path.Combine(await ArchiveTestSupport.NewDirectoryAsync("occupied"), "data");
        Directory.CreateDirectory(directory);
        await File.WriteAllTextAsync(Path.Combine(directory, "precious"), "keep me");

        var error = await Assert.ThrowsAnyAsync<PgDrException>(() => RestoreService.PlanAsync(
            fixture.Config, new RestoreRequest { DataDirectory = directory, Label = backup, PgDrPath = PgDrForPostgres.ExecutablePath }, CancellationToken.None));

        Assert.Equal(ErrorIds.RestoreTargetNotEmpty, error.ErrorId);
        Assert.Equal(["precious"], Directory.EnumerateFileSystemEntries(directory).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Targets_outside_the_recoverable_window_or_on_a_timeline_the_archive_lacks_are_refused_with_their_own_ids()
    {
        var label = await LatestOrNewAsync();
        var backup = (await BackupCatalog.ListAsync(fixture.Config, null, CancellationToken.None)).Single(b => b.Label == label);
        var directory = Path.Combine(await ArchiveTestSupport.NewDirectoryAsync("window"), "data");
        async Task<string> Refusal(RestoreRequest request) =>
            (await Assert.ThrowsAnyAsync<PgDrException>(() => RestoreService.PlanAsync(fixture.Config, request with { PgDrPath = PgDrForPostgres.ExecutablePath }, CancellationToken.None))).ErrorId;

        Assert.Equal(ErrorIds.RestoreTargetBeforeConsistency, await Refusal(new RestoreRequest { DataDirectory = directory, Label = label, TargetTime = backup.StopTime.AddSeconds(-1) }));
        Assert.Equal(ErrorIds.RestoreTargetBeforeConsistency, await Refusal(new RestoreRequest { DataDirectory = directory, Label = label, TargetLsn = new PgDr.Topology.PgLsn(backup.StopLsn.Value - 1) }));
        Assert.Equal(ErrorIds.RestoreTargetAfterArchive, await Refusal(new RestoreRequest { DataDirectory = directory, Label = label, TargetTime = DateTimeOffset.UtcNow.AddHours(1) }));
        Assert.Equal(ErrorIds.RestoreTargetAfterArchive, await Refusal(new RestoreRequest { DataDirectory = directory, Label = label, TargetLsn = new PgDr.Topology.PgLsn(backup.RecoverableUntilLsn!.Value.Value + 1) }));
        Assert.Equal(ErrorIds.RestoreTimelineNotInArchive, await Refusal(new RestoreRequest { DataDirectory = directory, Label = label, TargetTimeline = "7" }));
        Assert.Equal(ErrorIds.BackupNotFound, await Refusal(new RestoreRequest { DataDirectory = directory, Label = "20000101-000000F" }));
        Assert.False(Directory.Exists(directory), "a refused restore creates nothing");
    }

    [Fact]
    public async Task A_restore_command_the_postgres_account_cannot_run_is_refused_before_anything_is_written()
    {
        if (!OsUser.ForPostgres().SwitchNeeded)
        {
            return; // only root restores for another account
        }

        var label = await LatestOrNewAsync();
        var privateDirectory = Path.Combine(TestDirectories.Root, "root-only-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(privateDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var pgdr = Path.Combine(privateDirectory, "pgdr");
        File.Copy(PgDrForPostgres.ExecutablePath, pgdr);
        var directory = Path.Combine(await ArchiveTestSupport.NewDirectoryAsync("unreachable"), "data");

        var error = await Assert.ThrowsAnyAsync<PgDrException>(() => RestoreService.PlanAsync(
            fixture.Config, new RestoreRequest { DataDirectory = directory, Label = label, PgDrPath = pgdr }, CancellationToken.None));

        // Refused where every pgdr named for PostgreSQL is checked (PgDrExecutable.LocateAsync, as Set-PgWalArchiving does).
        Assert.Equal(ErrorIds.ServiceAccountAccessDenied, error.ErrorId);
        Assert.False(Directory.Exists(directory));
    }

    private async Task<string> LatestOrNewAsync()
    {
        var existing = await BackupCatalog.ListAsync(fixture.Config, null, CancellationToken.None);
        return existing.Count > 0 ? existing[^1].Label : (await BackupService.CreateAsync(fixture.Config, new BackupRequest { Instance = fixture.Primary }, progress: null, CancellationToken.None)).Label;
    }
}
