using PgDr.Backup.Catalog;
using PgDr.Backup.Create;
using PgDr.Backup.Restore;
using PgDr.Backup.Retention;
using PgDr.Errors;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Backup;

/// <summary>Backups 1..4 with WAL between, keep 2: what remains restores to every point of the kept window; -WhatIf removes nothing.</summary>
[Collection(OwnClusterBackups.Name)]
public sealed class RetentionTests(FileSystemArchivedClusterFixture fixture)
{
    [Fact]
    public async Task Keeping_two_full_backups_removes_the_older_ones_and_their_WAL_and_the_rest_restores_to_every_point_it_covers()
    {
        var primary = fixture.Primary;
        await Sql.ExecuteAsync(primary, "DROP TABLE IF EXISTS markers; CREATE TABLE markers (id int PRIMARY KEY)");
        var existing = (await BackupCatalog.ListAsync(fixture.Config, null, CancellationToken.None)).Select(b => b.Label).ToList();
        var labels = new List<string>();
        var between = new List<DateTimeOffset>();
        for (var i = 1; i <= 4; i++)
        {
            labels.Add((await BackupService.CreateAsync(fixture.Config, new BackupRequest { Instance = primary }, progress: null, CancellationToken.None)).Label);
            await Sql.ExecuteAsync(primary, $"INSERT INTO markers VALUES ({i})");
            between.Add(new DateTimeOffset(await Sql.ScalarAsync<DateTime>(primary, "SELECT clock_timestamp()"), TimeSpan.Zero));
            await Sql.ExecuteAsync(primary, $"INSERT INTO markers VALUES ({i * 10})");
            await fixture.ArchiveCurrentSegmentAsync();
        }

        var walBefore = WalFiles();
        var request = new RetentionRequest { KeepFull = 2 };
        var plan = await RetentionService.PlanAsync(fixture.Config, request, CancellationToken.None);

        // What -WhatIf shows: exactly the two oldest of these backups (and any older ones), and WAL; nothing is removed by planning.
        var planned = plan.Where(p => p.Kind == BackupExpiryKind.Backup).Select(p => p.Label).ToList();
        Assert.Equal(existing.Append(labels[0]).Append(labels[1]), planned);
        var wal = Assert.Single(plan, p => p.Kind == BackupExpiryKind.Wal);
        Assert.True(wal.Objects > 0);
        Assert.Equal(walBefore, WalFiles());
        Assert.Equal(existing.Count + 4, (await BackupCatalog.ListAsync(fixture.Config, null, CancellationToken.None)).Count);

        var removed = await RetentionService.RunAsync(fixture.Config, request, CancellationToken.None);

        Assert.All(removed, r => Assert.True(r.Removed));
        var left = await BackupCatalog.ListAsync(fixture.Config, null, CancellationToken.None);
        Assert.Equal(labels.Skip(2), left.Select(b => b.Label));
        Assert.All(left, b => Assert.True(b.Consistent && b.WalGaps.Count == 0, $"{b.Label} lost WAL it needs"));
        var third = left[0];
        Assert.DoesNotContain(WalFiles(), f => string.CompareOrdinal(f[..24], third.StartWal) < 0 && !f.EndsWith(".history", StringComparison.Ordinal));
        Assert.Contains(third.StartWal, WalFiles());
        Assert.False(Directory.Exists(Path.Combine(fixture.RepositoryPath, "main", "backup", "data", labels[0])));

        // Every point of the kept window: the oldest kept backup's consistency, a time between two later markers, the end.
        var points = new (Func<string, RestoreRequest> Request, string Expected)[]
        {
            (d => new RestoreRequest { DataDirectory = d, Label = labels[2], Immediate = true, TargetAction = RecoveryTargetAction.Promote }, "1,2,10,20"),
            (d => new RestoreRequest { DataDirectory = d, Label = labels[2], TargetTime = between[3], TargetAction = RecoveryTargetAction.Promote }, "1,2,3,4,10,20,30"),
            (d => new RestoreRequest { DataDirectory = d, Label = labels[2] }, "1,2,3,4,10,20,30,40"),
        };
        var restored = await Task.WhenAll(points.Select(async point =>
        {
            await using var cluster = await RestoredCluster.RestoreAsync(fixture, point.Request);
            await cluster.StartAndWaitForPromotionAsync();
            return (point.Expected, Actual: await Sql.ScalarAsync<string>(cluster.Instance, "SELECT string_agg(id::text, ',' ORDER BY id) FROM markers"));
        }));
        Assert.All(restored, r => Assert.Equal(r.Expected, r.Actual));

        // The newest recovery point is never removed: naming its full backup is refused.
        var refused = await Assert.ThrowsAnyAsync<PgDrException>(() => RetentionService.PlanAsync(fixture.Config, new RetentionRequest { Labels = [labels[3]] }, CancellationToken.None));
        Assert.Equal(ErrorIds.InvalidRetention, refused.ErrorId);
    }

    private List<string> WalFiles() =>
        [.. Directory.EnumerateFiles(Path.Combine(fixture.RepositoryPath, "main", "wal"), "*", SearchOption.AllDirectories).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)];
}
