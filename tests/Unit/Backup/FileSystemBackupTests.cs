using Xunit.Abstractions;
using PgDr.Backup.Catalog;
using PgDr.Backup.Create;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Backup;

/// <summary>Full backups into an encrypted filesystem repository, listed, and restored to every kind of target.</summary>
[Collection(FileSystemBackups.Name)]
public sealed class FileSystemBackupTests(FileSystemArchivedClusterFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task Full_backup_is_listed_and_restores_exactly_to_every_target_type()
    {
        await Sql.ExecuteAsync(fixture.Primary, "DROP TABLE IF EXISTS markers; CREATE TABLE markers (id int PRIMARY KEY)");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var backup = await BackupService.CreateAsync(fixture.Config, new BackupRequest { Instance = fixture.Primary }, progress: null, CancellationToken.None);
        output.WriteLine($"backup {sw.Elapsed} {backup.Duration} copy {backup.CopyDuration} wal {backup.WalWaitDuration} objects {backup.ObjectCount} files {backup.FileCount} bytes {backup.OriginalBytes} stored {backup.StoredBytes}");
        Assert.Equal(BackupType.Full, backup.Type);
        Assert.True(backup.FileCount > 500, $"{backup.FileCount} files");
        Assert.Equal(backup.FileCount, backup.StoredFileCount);
        Assert.True(backup.ObjectCount < backup.FileCount / 10, $"{backup.ObjectCount} objects for {backup.FileCount} files: small files are packed");

        var listed = Assert.Single(await BackupCatalog.ListAsync(fixture.Config, null, CancellationToken.None), b => b.Label == backup.Label);
        Assert.True(listed.Consistent);
        Assert.Equal(backup.StopLsn, listed.StopLsn);
        Assert.Equal(backup.OriginalBytes, listed.OriginalBytes);

        var markers = await MarkerTimeline.WriteAsync(fixture.Primary, "fs-markers");
        await fixture.ArchiveCurrentSegmentAsync();
        output.WriteLine($"markers {sw.Elapsed}");
        await markers.AssertEveryTargetAsync(fixture, backup.Label);
        output.WriteLine($"restores {sw.Elapsed}");
    }
}
