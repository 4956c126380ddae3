using PgDr.Errors;
using PgDr.Failover;
using PgDr.Failover.Fencing;
using PgDr.Hosting;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Failover;

/// <summary>Failover on real sandboxes, each test on its own, with a ledger writer committing numbered rows throughout.</summary>
public sealed class FailoverTests
{
    [Fact]
    public async Task Failover_with_remote_apply_to_the_target_keeps_every_acknowledged_row_when_the_primary_is_lost()
    {
        await using var sb = await FailoverSandbox.CreateAsync("fo-sync", standbys: 1);
        var (a, b) = (sb["region-a"], sb["region-b"]);
        await Sql.ExecuteAsync(a, "ALTER SYSTEM SET synchronous_standby_names = '\"region-b\"'");
        await Sql.ExecuteAsync(a, "ALTER SYSTEM SET synchronous_commit = 'remote_apply'");
        await Sql.ExecuteAsync(a, "SELECT pg_reload_conf()");
        await using var ledger = await Ledger.StartAsync(a, followPrimary: false);
        await ledger.WaitForMoreAsync(100, TimeSpan.FromSeconds(60));

        // Region A is lost while the writer is busy.
        await sb.Sandbox.StopNodeAsync("region-a", StopMode.Immediate, CancellationToken.None);
        await Wait.UntilAsync(_ => Task.FromResult(ledger.Stopped), TimeSpan.FromSeconds(30), "the writer to notice", CancellationToken.None);
        var result = await FailoverService.RunAsync(new FailoverRequest { Target = b, OldPrimary = a, Lease = sb.Lease, Force = true }, null, CancellationToken.None);

        var rows = await Ledger.RowsOnAsync(b);
        Assert.DoesNotContain(ledger.Acknowledged, id => !rows.Contains(id));
        Assert.True(await FailoverSandbox.IsPrimaryAsync(b));
        Assert.False(result.OldPrimaryFenced);
        Assert.Equal(FenceMethod.None, result.FenceMethod);
        Assert.Null(result.RpoBytes);
        Assert.Equal("unknown", result.Rpo);
        Assert.True(result.LeaseTaken);
        Assert.Equal(1, result.LeaseGeneration);
        Assert.Equal(2u, result.NewTimeline);
        Assert.True(result.Rto > TimeSpan.Zero);
        Assert.Contains(result.Steps, s => s.Name == "promote" && s.CountsTowardsRto);
        var lease = await sb.Lease.ReadAsync(CancellationToken.None);
        Assert.Equal("region-b", lease!.Holder);
        Assert.Equal(2u, lease.Timeline);
    }

    [Fact]
    public async Task Async_failover_reports_an_RPO_that_matches_the_rows_actually_missing()
    {
        await using var sb = await FailoverSandbox.CreateAsync("fo-async", standbys: 1);
        var (a, b) = (sb["region-a"], sb["region-b"]);
        await Sql.ExecuteAsync(a, "ALTER SYSTEM SET autovacuum = off"); // no other commits than the ledger's
        await Sql.ExecuteAsync(a, "SELECT pg_reload_conf()");
        var link = sb.Own(TcpProxy.Start("127.0.0.1", a.Port));
        await sb.StreamThroughAsync("region-b", link.Port);
        var ledger = sb.Own(await Ledger.StartAsync(a, followPrimary: false));
        await ledger.WaitForMoreAsync(50, TimeSpan.FromSeconds(60));

        // B stops receiving; A goes on committing (and acknowledging) rows B will never see.
        link.Partition();
        await ledger.WaitForMoreAsync(100, TimeSpan.FromSeconds(60));
        var result = await FailoverService.RunAsync(
            new FailoverRequest { Target = b, OldPrimary = a, Lease = sb.Lease, MaxDataLossBytes = 1L << 30, CatchUpTimeout = TimeSpan.FromSeconds(1) },
            null,
            CancellationToken.None);
        await ledger.StopAsync();

        var rows = await Ledger.RowsOnAsync(b);
        var missing = ledger.Acknowledged.Count(id => !rows.Contains(id));
        var inDoubtMissing = ledger.InDoubt.Count(id => !rows.Contains(id));
        Assert.True(result.OldPrimaryFenced);
        Assert.Equal(FenceMethod.Stopped, result.FenceMethod);
        Assert.True(result.RpoBytes > 0, $"RPO {result.Rpo}");
        Assert.True(missing > 0);
        Assert.NotNull(result.RpoTransactions);
        Assert.InRange(result.RpoTransactions!.Value, missing, missing + inDoubtMissing);
    }

    [Fact]
    public async Task Two_failovers_started_at_once_one_wins_and_the_other_fails_with_a_clear_error_changing_nothing()
    {
        await using var sb = await FailoverSandbox.CreateAsync("fo-race", standbys: 2);
        var (a, b, c) = (sb["region-a"], sb["region-b"], sb["region-c"]);
        using var go = new ManualResetEventSlim();
        var attempts = new[] { b, c }.Select(target => Task.Run(async () =>
        {
            go.Wait();
            try
            {
                return (target, await FailoverService.RunAsync(new FailoverRequest { Target = target, OldPrimary = a, Lease = sb.Lease }, null, CancellationToken.None), (PgDrException?)null);
            }
            catch (PgDrException ex)
            {
                return (target, (PgFailoverResult?)null, ex);
            }
        })).ToList();
        go.Set();
        var outcomes = await Task.WhenAll(attempts);

        var winner = Assert.Single(outcomes, o => o.Item2 is not null);
        var loser = Assert.Single(outcomes, o => o.Item3 is not null);
        Assert.Contains(loser.Item3!.ErrorId, new[] { ErrorIds.LeaseConflict, ErrorIds.LeaseHolderMismatch });
        Assert.True(await FailoverSandbox.IsPrimaryAsync(winner.target));
        Assert.False(await FailoverSandbox.IsPrimaryAsync(loser.target));
        var lease = await sb.Lease.ReadAsync(CancellationToken.None);
        Assert.Equal(winner.Item2!.NewPrimary, lease!.Holder);
        Assert.Equal(1, lease.Generation);
    }

    [Fact]
    public async Task A_cascade_keeps_streaming_after_its_upstream_is_promoted_and_a_repointed_standby_follows()
    {
        await using var sb = await FailoverSandbox.CreateAsync("fo-cascade", standbys: 2, cascading: true);
        var (a, b, c, b2) = (sb["region-a"], sb["region-b"], sb["region-c"], sb["region-b2"]);

        var result = await FailoverService.RunAsync(new FailoverRequest { Target = b, OldPrimary = a, Lease = sb.Lease, Repoint = [c, b2] }, null, CancellationToken.None);
        await Sql.ExecuteAsync(b, "CREATE TABLE after_failover (id int); INSERT INTO after_failover VALUES (1)");

        Assert.Equal(0, result.RpoBytes);
        Assert.Equal(0, result.RpoTransactions);
        Assert.Contains(result.Repointed, r => r.Name == "region-c" && r.Repointed && r.Streaming);
        Assert.Contains(result.Repointed, r => r.Name == "region-b2" && !r.Repointed && r.Streaming);
        foreach (var standby in new[] { c, b2 })
        {
            await Wait.UntilAsync(
                async _ => await Sql.ScalarAsync<bool>(standby, "SELECT to_regclass('after_failover') IS NOT NULL"),
                TimeSpan.FromSeconds(60), $"{standby} to replay a write of the new primary", CancellationToken.None);
            Assert.Equal(2L, await Sql.ScalarAsync<long>(standby, "SELECT received_tli::bigint FROM pg_stat_wal_receiver"));
        }
    }
}
