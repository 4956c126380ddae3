using PgDr.Archive.Repositories;
using PgDr.Errors;
using PgDr.Failover.Lease;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Failover;

/// <summary>The lease's own rules, on a filesystem repository (the compare-and-swap itself is tested per store type).</summary>
public sealed class LeaseStoreTests
{
    private const ulong Cluster = 7_400_000_000_000_000_001;

    /// <summary>A lease store on a new filesystem repository of its own (LeaseKeeperTests uses it too).</summary>
    internal static LeaseStore NewStore()
    {
        var root = TestDirectories.Path("lease-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        var repository = new FileSystemArchiveRepository("fs", root);
        return new LeaseStore(repository, "main", repository);
    }

    [Fact]
    public async Task The_generation_grows_on_every_change_of_holder_and_only_then()
    {
        await using var store = NewStore();
        var a = await store.TakeAsync(null, Claim("region-a"), null, CancellationToken.None);
        var again = await store.TakeAsync(a, Claim("region-a"), null, CancellationToken.None);
        var b = await store.TakeAsync(again, Claim("region-b"), null, CancellationToken.None);
        var renewed = await store.RenewAsync(b, CancellationToken.None);

        Assert.Equal((1L, 1L, 2L, 2L), (a.Generation, again.Generation, b.Generation, renewed!.Generation));
        Assert.Equal("region-b", (await store.ReadAsync(CancellationToken.None))!.Holder);
    }

    [Fact]
    public async Task Taking_a_lease_read_before_another_change_fails_with_LeaseConflict_and_writes_nothing()
    {
        await using var store = NewStore();
        var a = await store.TakeAsync(null, Claim("region-a"), null, CancellationToken.None);
        var b = await store.TakeAsync(a, Claim("region-b"), null, CancellationToken.None);

        var ex = await Assert.ThrowsAsync<PgDrException>(() => store.TakeAsync(a, Claim("region-c"), null, CancellationToken.None));

        Assert.Equal(ErrorIds.LeaseConflict, ex.ErrorId);
        var now = await store.ReadAsync(CancellationToken.None);
        Assert.Equal((b.Holder, b.Generation, b.Version), (now!.Holder, now.Generation, now.Version));
    }

    [Fact]
    public async Task A_holder_that_renews_after_losing_the_lease_is_told_it_lost_it()
    {
        await using var store = NewStore();
        var a = await store.TakeAsync(null, Claim("region-a"), 10, CancellationToken.None);
        await store.TakeAsync(a, Claim("region-b"), 10, CancellationToken.None);

        Assert.Null(await store.RenewAsync(a, CancellationToken.None));
    }

    [Fact]
    public async Task A_TTL_lease_expires_only_when_it_stays_unchanged_for_a_whole_TTL_on_the_takers_clock()
    {
        await using var store = NewStore();
        // A TTL of 3 s against a renewal after 0.3 s: a busy CI machine once delayed that renewal past a 1 s TTL.
        var held = await store.TakeAsync(null, Claim("region-a"), 3, CancellationToken.None);

        var renewing = Task.Run(async () =>
        {
            await Task.Delay(300);
            return await store.RenewAsync(held, CancellationToken.None);
        });
        var (expiredWhileRenewed, _) = await store.WaitForExpiryAsync(held, TimeSpan.Zero, CancellationToken.None);
        var renewed = await renewing;
        var (expiredAlone, latest) = await store.WaitForExpiryAsync(renewed!, TimeSpan.Zero, CancellationToken.None);

        Assert.False(expiredWhileRenewed);
        Assert.True(expiredAlone);
        Assert.Equal(renewed!.Version, latest!.Version);
    }

    private static LeaseClaim Claim(string holder) => new(holder, $"{holder}:5432", Cluster, 1, "test");
}
