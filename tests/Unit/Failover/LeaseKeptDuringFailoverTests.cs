using System.Diagnostics;
using PgDr.Failover;
using PgDr.Failover.Lease;
using PgDr.Hosting;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Failover;

/// <summary>
/// A failover that takes an agent's lease (with a TTL) keeps it renewed until it returns: an observer never sees the
/// lease unchanged for a whole TTL while the new primary is promoted and the other standbys are repointed.
/// </summary>
public sealed class LeaseKeptDuringFailoverTests
{
    private const int TtlSeconds = 1;

    [Fact]
    public async Task A_failover_that_outlasts_the_lease_TTL_keeps_the_lease_renewed_so_no_observer_sees_it_expire()
    {
        await using var sb = await FailoverSandbox.CreateAsync("fo-keep", standbys: 2);
        var (a, b, c) = (sb["region-a"], sb["region-b"], sb["region-c"]);
        var cluster = await Sql.ScalarAsync<long>(a, "SELECT system_identifier FROM pg_control_system()");
        await sb.Lease.TakeAsync(null, new LeaseClaim("region-a", a.Name, (ulong)cluster, 1, "held by the agent of region-a"), TtlSeconds, CancellationToken.None);
        await Sql.ExecuteAsync(a, "CREATE TABLE before_loss AS SELECT 1 AS id");
        var lastSeen = PgDr.Topology.PgLsn.Parse(await Sql.ScalarAsync<string>(a, "SELECT pg_current_wal_lsn()::text"));
        await FailoverSandbox.WaitForTableAsync(b, "before_loss");

        // Region A is lost with its agent: its lease stops being renewed and expires.
        await sb.Sandbox.StopNodeAsync("region-a", StopMode.Immediate, CancellationToken.None);
        var (expired, seen) = await sb.Lease.WaitForExpiryAsync((await sb.Lease.ReadAsync(CancellationToken.None))!, TimeSpan.Zero, CancellationToken.None);
        Assert.True(expired);

        // Region C is reached across a slow link (250 ms each way): repointing it alone takes several round trips of
        // 0.5 s, so the failover outlasts the 1 s TTL by construction, not by the machine's speed.
        var slowToC = sb.Own(TcpProxy.Start("127.0.0.1", c.Port, TimeSpan.FromMilliseconds(250)));
        var cAcrossTheLink = c.WithAddress("127.0.0.1", slowToC.Port);

        // An observer, as a standby's agent watches: the longest time the new holder's lease stayed at one version.
        using var done = new CancellationTokenSource();
        var observer = Task.Run(async () =>
        {
            var longest = TimeSpan.Zero;
            string? version = null;
            var since = Stopwatch.StartNew();
            while (!done.IsCancellationRequested)
            {
                var now = await sb.Lease.ReadAsync(CancellationToken.None);
                if (now is not null && now.IsHeldBy("region-b"))
                {
                    if (now.Version != version)
                    {
                        (version, since) = (now.Version, Stopwatch.StartNew());
                    }

                    longest = since.Elapsed > longest ? since.Elapsed : longest;
                }

                await Task.Delay(50);
            }

            return longest;
        });

        var result = await FailoverService.RunAsync(
            new FailoverRequest
            {
                Target = b,
                OldPrimary = a,
                Lease = sb.Lease,
                ExpiredLease = seen,
                LastKnownOldPrimaryLsn = lastSeen,
                OldPrimaryTimeout = TimeSpan.FromSeconds(2),
                Repoint = [cAcrossTheLink],
                LeaseRenewInterval = TimeSpan.FromMilliseconds(200),
            },
            null,
            CancellationToken.None);
        await done.CancelAsync();
        var longestUnchanged = await observer;

        // The failover lasted longer than the TTL: without renewals the observer would have seen the lease expire.
        Assert.True(result.Duration > TimeSpan.FromSeconds(TtlSeconds), $"the failover took {result.Duration}");
        Assert.True(longestUnchanged < TimeSpan.FromSeconds(TtlSeconds), $"the lease stayed unchanged for {longestUnchanged} (TTL {TtlSeconds} s) during a failover of {result.Duration}");
        var lease = await sb.Lease.ReadAsync(CancellationToken.None);
        Assert.Equal(("region-b", 2L, result.NewTimeline, (int?)TtlSeconds), (lease!.Holder, lease.Generation, lease.Timeline, lease.TtlSeconds));
        Assert.True(await FailoverSandbox.IsPrimaryAsync(b));
        Assert.True(Assert.Single(result.Repointed).Repointed);
    }
}
