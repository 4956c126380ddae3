using PgDr.Errors;
using PgDr.Failover.Lease;
using PgDr.Hosting;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Failover;

/// <summary>The renewals a failover or switchover keeps up while it holds a TTL lease, on a filesystem repository.</summary>
public sealed class LeaseKeeperTests
{
    private const ulong Cluster = 7_400_000_000_000_000_002;

    private static LeaseStore NewStore() => LeaseStoreTests.NewStore();

    [Fact]
    public async Task A_kept_lease_never_looks_expired_to_an_observer_for_several_TTLs()
    {
        await using var store = NewStore();
        var held = await store.TakeAsync(null, Claim("region-b"), 1, CancellationToken.None);
        var told = 0;

        PgDrLease last;
        await using (var keeper = LeaseKeeper.Start(store, held, TimeSpan.FromMilliseconds(200), (_, _) => Interlocked.Increment(ref told))!)
        {
            // An observer that takes the lease once it stays unchanged for a whole TTL (as a standby's agent does), for 3 TTLs.
            using var watching = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            var observed = held;
            while (!watching.IsCancellationRequested)
            {
                var (expired, latest) = await store.WaitForExpiryAsync(observed, TimeSpan.Zero, CancellationToken.None);
                Assert.False(expired, $"the lease stayed unchanged for a TTL although it was kept ({keeper.Renewals} renewals)");
                observed = latest!;
            }

            Assert.True(keeper.Renewals >= 5, $"{keeper.Renewals} renewals in 3 s at 200 ms");
            Assert.Equal(keeper.Renewals, told);
            last = keeper.Current;
        }

        // Stopped: the lease stays as the keeper last wrote it (held, same generation) and now expires.
        var now = await store.ReadAsync(CancellationToken.None);
        Assert.Equal((last.Version, "region-b", 1L), (now!.Version, now.Holder, now.Generation));
        Assert.True((await store.WaitForExpiryAsync(now, TimeSpan.Zero, CancellationToken.None)).Expired);
    }

    [Fact]
    public async Task A_keeper_whose_lease_was_taken_reports_it_lost_and_never_writes_it_back()
    {
        await using var store = NewStore();
        var held = await store.TakeAsync(null, Claim("region-b"), 1, CancellationToken.None);
        await using var keeper = LeaseKeeper.Start(store, held, TimeSpan.FromMilliseconds(100))!;

        // Another node takes it (retrying while the keeper's renewals move the version under it).
        PgDrLease? taken = null;
        await Wait.UntilAsync(
            async ct =>
            {
                try
                {
                    taken = await store.TakeAsync(await store.ReadAsync(ct), Claim("region-c"), 1, ct);
                    return true;
                }
                catch (PgDrException ex) when (ex.ErrorId == ErrorIds.LeaseConflict)
                {
                    return false;
                }
            },
            TimeSpan.FromSeconds(10),
            "region-c to take the lease",
            CancellationToken.None);
        await Wait.UntilAsync(_ => Task.FromResult(keeper.LostTo is not null), TimeSpan.FromSeconds(10), "the keeper to notice", CancellationToken.None);
        await Task.Delay(500); // several more intervals in which a faulty keeper would write

        var ex = Assert.Throws<PgDrException>(() => keeper.ThrowIfLost("region-b was not promoted", "region-b"));
        Assert.Equal(ErrorIds.LeaseConflict, ex.ErrorId);
        Assert.Contains("held by region-c, generation 2", ex.Message, StringComparison.Ordinal);
        Assert.Contains("region-b was not promoted", ex.Message, StringComparison.Ordinal);
        var now = await store.ReadAsync(CancellationToken.None);
        Assert.Equal((taken!.Version, "region-c"), (now!.Version, now.Holder));
    }

    [Fact]
    public async Task The_operations_own_change_and_the_renewals_never_fail_each_others_compare_and_swap()
    {
        await using var store = NewStore();
        var held = await store.TakeAsync(null, Claim("region-b"), 1, CancellationToken.None);
        await using var keeper = LeaseKeeper.Start(store, held, TimeSpan.FromMilliseconds(1))!;

        // Each change follows a renewal made since the one before: renewals and changes interleave, every one a write.
        for (uint timeline = 2; timeline < 40; timeline++)
        {
            var renewed = keeper.Renewals;
            await Wait.UntilAsync(_ => Task.FromResult(keeper.Renewals > renewed), TimeSpan.FromSeconds(10), "a renewal", CancellationToken.None);
            var t = timeline;
            var changed = await keeper.ChangeAsync((lease, ct) => store.SetTimelineAsync(lease, t, ct), CancellationToken.None);
            Assert.Equal(timeline, changed.Timeline);
        }

        Assert.Null(keeper.LostTo);
        Assert.True(keeper.Renewals >= 38);
        Assert.Equal(39u, (await store.ReadAsync(CancellationToken.None))!.Timeline);
    }

    [Fact]
    public async Task A_lease_without_a_TTL_needs_no_keeper()
    {
        await using var store = NewStore();
        Assert.Null(LeaseKeeper.Start(store, new PgDrLease { Holder = "region-b", TtlSeconds = null }));
    }

    private static LeaseClaim Claim(string holder) => new(holder, $"{holder}:5432", Cluster, 1, "test");
}
