using PgDr.Failover.Switchover;
using PgDr.Replication;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Failover;

/// <summary>Planned switchover on its own sandbox, with the ledger writer following whichever node is primary.</summary>
public sealed class SwitchoverTests
{
    [Fact]
    public async Task Switchover_there_and_back_loses_no_acknowledged_row_and_leaves_every_node_streaming()
    {
        await using var sb = await FailoverSandbox.CreateAsync("so-ab", standbys: 2);
        var (a, b, c) = (sb["region-a"], sb["region-b"], sb["region-c"]);
        var ledger = sb.Own(await Ledger.StartAsync(a, followPrimary: true, b));
        await ledger.WaitForMoreAsync(50, TimeSpan.FromSeconds(60));

        var there = await SwitchoverService.RunAsync(new SwitchoverRequest { Target = b, Lease = sb.Lease, Repoint = [c] }, null, CancellationToken.None);
        await ledger.WaitForMoreAsync(50, TimeSpan.FromSeconds(60));
        var back = await SwitchoverService.RunAsync(new SwitchoverRequest { Target = a, Lease = sb.Lease, Repoint = [c] }, null, CancellationToken.None);
        await ledger.WaitForMoreAsync(50, TimeSpan.FromSeconds(60));
        await ledger.StopAsync();

        var acknowledged = ledger.Acknowledged;
        var rowsOnA = await Ledger.RowsOnAsync(a);
        Assert.DoesNotContain(acknowledged, id => !rowsOnA.Contains(id));
        Assert.True(there.OldPrimaryStreaming && back.OldPrimaryStreaming);
        Assert.Equal(2u, there.NewTimeline);
        Assert.Equal(3u, back.NewTimeline);
        Assert.True(there.WriteUnavailable > TimeSpan.Zero && there.WriteUnavailable <= there.Rto);
        Assert.Contains(there.Repointed, r => r.Name == "region-c" && r.Streaming);
        Assert.Contains(back.Repointed, r => r.Name == "region-c" && r.Streaming);
        var lease = await sb.Lease.ReadAsync(CancellationToken.None);
        Assert.Equal(("region-a", 2L, 3u), (lease!.Holder, lease.Generation, lease.Timeline!.Value));

        // All healthy: both standbys stream from A and replay its last ledger row.
        var lag = await ReplicationLagService.GetLagAsync(a, new LagThresholds(MaxLagBytes: 16 * 1024 * 1024), CancellationToken.None);
        Assert.Equal(["region-b", "region-c"], lag.Where(l => l.State == "streaming" && l.Healthy).Select(l => l.StandbyName).Order().ToArray());
        foreach (var standby in new[] { b, c })
        {
            await FailoverSandbox.WaitForRowAsync(standby, acknowledged[^1]);
        }
    }
}
