using PgDr.Archive.Format;
using PgDr.Backup.Catalog;
using PgDr.Backup.Create;
using PgDr.Backup.Restore;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Backup;

/// <summary>Full, changes, incremental, changes, incremental: each point restores exactly; a delta restore equals a clean one.</summary>
[Collection(FileSystemBackups.Name)]
public sealed class IncrementalBackupTests(FileSystemArchivedClusterFixture fixture)
{
    private const string Contents = "SELECT count(*)::text || '/' || coalesce(sum(id), 0)::text || '/' || (SELECT count(*) FROM pg_class WHERE relname = 'chain_extra')::text FROM chain";

    [Fact]
    public async Task Each_backup_of_an_incremental_chain_restores_exactly_and_a_delta_restore_over_a_diverged_copy_equals_a_clean_restore()
    {
        var primary = fixture.Primary;
        await Sql.ExecuteAsync(primary, "DROP TABLE IF EXISTS chain, chain_extra; CREATE TABLE chain (id int PRIMARY KEY, payload text); INSERT INTO chain SELECT g, repeat('a', 200) FROM generate_series(1, 20000) g");
        var full = await Backup(BackupType.Full);
        var atFull = await Sql.ScalarAsync<string>(primary, Contents);

        await Sql.ExecuteAsync(primary, "INSERT INTO chain SELECT g, repeat('b', 200) FROM generate_series(20001, 25000) g; CREATE TABLE chain_extra AS SELECT g FROM generate_series(1, 1000) g");
        var first = await Backup(BackupType.Incremental);
        var atFirst = await Sql.ScalarAsync<string>(primary, Contents);

        await Sql.ExecuteAsync(primary, "DELETE FROM chain WHERE id % 7 = 0; DROP TABLE chain_extra");
        await Sql.ExecuteAsync(primary, "VACUUM chain");
        var second = await Backup(BackupType.Incremental);
        var atSecond = await Sql.ScalarAsync<string>(primary, Contents);

        Assert.Equal((BackupType.Incremental, full.Label), (first.Type, first.Prior));
        Assert.Equal((BackupType.Incremental, first.Label), (second.Type, second.Prior));
        Assert.True(first.StoredFileCount < first.FileCount / 4, $"the first incremental stored {first.StoredFileCount} of {first.FileCount} files");
        Assert.True(second.StoredBytes < full.StoredBytes, $"the second incremental stored {second.StoredBytes} bytes, the full {full.StoredBytes}");
        var listed = (await BackupCatalog.ListAsync(fixture.Config, null, CancellationToken.None)).Single(b => b.Label == second.Label);
        Assert.Contains(full.Label, listed.References);
        Assert.Contains(first.Label, listed.References);
        await fixture.ArchiveCurrentSegmentAsync();

        var points = new[] { (full.Label, atFull), (first.Label, atFirst), (second.Label, atSecond) };
        SortedDictionary<string, string>? cleanFirst = null;
        var restoredPoints = await Task.WhenAll(points.Select(async point =>
        {
            await using var restored = await RestoredCluster.RestoreAsync(fixture, d => Immediate(d, point.Label));
            if (point.Label == first.Label)
            {
                cleanFirst = Snapshot(restored.DataDirectory); // before starting changes anything
            }

            await restored.StartAndWaitForPromotionAsync();
            return (point.Label, Expected: point.Item2, Actual: await Sql.ScalarAsync<string>(restored.Instance, Contents));
        }));
        Assert.All(restoredPoints, p => Assert.True(p.Expected == p.Actual, $"{p.Label}: expected {p.Expected}, restored {p.Actual}"));

        // A copy restored from the latest backup, then diverged: it runs, writes, and creates files the backup lacks.
        await using var diverged = await RestoredCluster.RestoreAsync(fixture, d => Immediate(d, second.Label));
        await diverged.StartAndWaitForPromotionAsync();
        await Sql.ExecuteAsync(diverged.Instance, "INSERT INTO chain SELECT g, 'diverged' FROM generate_series(100001, 120000) g; CREATE TABLE diverged AS SELECT g FROM generate_series(1, 5000) g; CHECKPOINT");
        await diverged.Cluster.StopAsync(PgDr.Hosting.StopMode.Fast, CancellationToken.None);

        await using var delta = await RestoredCluster.RestoreAsync(fixture, d => Immediate(d, first.Label) with { Delta = true }, diverged.DataDirectory);
        Assert.True(delta.Result.FilesKept > delta.Result.FileCount / 2, $"delta kept {delta.Result.FilesKept} of {delta.Result.FileCount} files");
        Assert.True(delta.Result.FilesRemoved > 0, "the files the backup does not hold are removed");
        Assert.Equal(cleanFirst, Snapshot(delta.DataDirectory));

        await delta.StartAndWaitForPromotionAsync();
        Assert.Equal(atFirst, await Sql.ScalarAsync<string>(delta.Instance, Contents));
    }

    private async Task<PgBackupResult> Backup(BackupType type) =>
        await BackupService.CreateAsync(fixture.Config, new BackupRequest { Instance = fixture.Primary, Type = type }, progress: null, CancellationToken.None);

    private static RestoreRequest Immediate(string directory, string label) =>
        new() { DataDirectory = directory, Label = label, Immediate = true, TargetAction = RecoveryTargetAction.Promote };

    /// <summary>Every restored file and its content checksum, but for postgresql.auto.conf, whose restore block carries the time it was written.</summary>
    private static SortedDictionary<string, string> Snapshot(string dataDirectory)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(dataDirectory, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(dataDirectory, file);
            if (relative != "postgresql.auto.conf")
            {
                result[relative] = ContentChecksum.ComputeFileAsync(file, ContentChecksumAlgorithm.XxHash128, CancellationToken.None).GetAwaiter().GetResult();
            }
        }

        return result;
    }
}
