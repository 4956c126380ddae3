using PgDr.Backup.Catalog;
using PgDr.Backup.Create;

namespace PgDr.Tests.Backup;

/// <summary>How an incremental backup decides what changed, without a server: pgBackRest's rules on size, timestamp and the copy start.</summary>
public sealed class BackupPlannerTests
{
    private static readonly DateTimeOffset PriorCopyStart = new(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);

    private static BackupManifest Prior(params BackupFile[] files) => new()
    {
        Info = new BackupInfo { Label = "20261122-100000F", CopyStartTime = PriorCopyStart },
        Files = [.. files],
    };

    private static BackupFile Stored(string path, long size, DateTimeOffset modified) =>
        new() { Path = path, Size = size, ModifiedTicks = modified.UtcTicks, Mode = 384, Checksum = "xxh128:00", Crc32C = "00000000", Backup = "20261122-100000F", Object = "000001", Offset = 42 };

    private static ScannedFile Now(string path, long size, DateTimeOffset modified) => new("/data/" + path, path, size, modified.UtcTicks, 384);

    [Fact]
    public void An_unchanged_file_whose_timestamp_is_well_before_the_prior_copy_start_is_referenced_to_the_prior_object()
    {
        var old = PriorCopyStart.AddMinutes(-5);
        var plan = BackupPlanner.Plan([Now("base/1/1259", 8192, old)], Prior(Stored("base/1/1259", 8192, old)), compareChecksums: false, PriorCopyStart.AddHours(1));

        var reference = Assert.Single(plan.References);
        Assert.Equal(("20261122-100000F", "000001", 42L), (reference.Backup, reference.Object, reference.Offset));
        Assert.Empty(plan.Store);
        Assert.Empty(plan.Verify);
    }

    [Fact]
    public void A_file_whose_size_or_timestamp_changed_or_that_is_new_is_stored()
    {
        var old = PriorCopyStart.AddMinutes(-5);
        var plan = BackupPlanner.Plan(
            [Now("grew", 16384, old), Now("touched", 8192, old.AddSeconds(1)), Now("new", 8192, old)],
            Prior(Stored("grew", 8192, old), Stored("touched", 8192, old)),
            compareChecksums: false,
            PriorCopyStart.AddHours(1));

        Assert.Equal(["grew", "touched", "new"], plan.Store.Select(f => f.RelativePath));
    }

    [Fact]
    public void A_file_modified_within_the_second_before_the_prior_copy_started_is_compared_by_checksum_not_trusted()
    {
        // Written again in the same timestamp tick after the prior backup read it, it would look unchanged.
        var recent = PriorCopyStart.AddMilliseconds(-400);
        var plan = BackupPlanner.Plan([Now("pg_xact/0000", 8192, recent)], Prior(Stored("pg_xact/0000", 8192, recent)), compareChecksums: false, PriorCopyStart.AddHours(1));

        Assert.Single(plan.Verify);
        Assert.Empty(plan.References);
    }

    [Fact]
    public void Compare_checksums_verifies_every_file_that_looks_unchanged()
    {
        var old = PriorCopyStart.AddDays(-1);
        var plan = BackupPlanner.Plan([Now("a", 1, old), Now("b", 2, old)], Prior(Stored("a", 1, old), Stored("b", 2, old)), compareChecksums: true, PriorCopyStart.AddHours(1));

        Assert.Equal(2, plan.Verify.Count);
        Assert.Empty(plan.References);
    }

    [Fact]
    public void Small_files_are_packed_in_path_order_and_big_ones_get_an_object_each_biggest_first()
    {
        var files = Enumerable.Range(0, 3000).Select(i => Now($"base/5/{i:D5}", 8192, PriorCopyStart))
            .Append(Now("base/5/big", 50 * 1024 * 1024, PriorCopyStart))
            .ToList();

        var items = BackupPlanner.Group(files, firstNumber: 1);

        Assert.Equal("base/5/big", Assert.Single(items[0].Files).RelativePath);
        Assert.False(items[0].Pack);
        var packs = items.Where(i => i.Pack).ToList();
        Assert.Equal(2, packs.Count); // 3000 x 8 KiB = 23.4 MiB in packs of at most 16 MiB
        Assert.All(packs, p => Assert.True(p.Bytes <= BackupPlanner.PackSize));
        Assert.Equal(files.Count, items.Sum(i => i.Files.Count));
        Assert.Equal(items.Select(i => i.ObjectId).Distinct().Count(), items.Count);
    }
}
