using PgDr.Agent;
using PgDr.Agent.Events;
using PgDr.Hosting;
using PgDr.Tests.Failover;
using PgDr.Tests.Fixtures;
using static PgDr.Tests.Agent.AgentTestSupport;

namespace PgDr.Tests.Agent;

/// <summary>The policy's limits on automatic failover, on a real topology whose primary is lost.</summary>
public sealed class AgentPolicyRefusalTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task A_standby_outside_the_allowed_regions_or_further_behind_than_the_data_loss_limit_never_promotes_itself()
    {
        await using var sb = await FailoverSandbox.CreateAsync("ag-policy", standbys: 2);
        var (a, b, c) = (sb["region-a"], sb["region-b"], sb["region-c"]);
        var toC = sb.Own(TcpProxy.Start("127.0.0.1", a.Port));
        await sb.StreamThroughAsync("region-c", toC.Port);

        // Only region C may take over, and with at most 64 KiB of loss; region B is fully caught up but not allowed.
        var policy = TestPolicy.Fast() with { Regions = ["region-c"], MaxDataLossBytes = 64 * 1024 };
        var agentA = sb.Own(new RunningAgent(AgentSettingsFor(sb, "region-a", policy), sb.Lease));
        var agentB = sb.Own(new RunningAgent(AgentSettingsFor(sb, "region-b", policy, peers: [("region-c", c)]), sb.Lease));
        var agentC = sb.Own(new RunningAgent(AgentSettingsFor(sb, "region-c", policy, peers: [("region-b", b)]), sb.Lease));
        await agentA.WaitForRoleAsync(AgentRole.Primary, Long);
        await agentB.WaitForRoleAsync(AgentRole.Standby, Long);
        await agentC.WaitForRoleAsync(AgentRole.Standby, Long);

        // Region C stops receiving, then the primary writes 1 MB that C's agent sees in its heartbeats but C never gets.
        toC.Partition();
        await Sql.ExecuteAsync(a, "CREATE TABLE after_cut AS SELECT g AS id, repeat('x', 100) AS pad FROM generate_series(1, 8000) g");
        await FailoverSandbox.WaitForTableAsync(b, "after_cut");
        await Wait.UntilAsync(
            _ => Task.FromResult(agentC.Agent.Status.LagBytes > 512 * 1024),
            Long, "region-c's agent to see itself behind the primary's new position", CancellationToken.None);

        await sb.Sandbox.StopNodeAsync("region-a", StopMode.Immediate, CancellationToken.None);
        var refusedB = await agentB.WaitForAsync(AgentEventKind.FailoverRefused, Long);
        var refusedC = await agentC.WaitForAsync(AgentEventKind.FailoverRefused, Long);

        Assert.Equal("regions", refusedB.Details!["policy"]);
        Assert.Equal("maxDataLossBytes", refusedC.Details!["policy"]);
        foreach (var standby in new[] { agentB, agentC })
        {
            Assert.DoesNotContain(standby.Agent.Events, e => e.Kind is AgentEventKind.FailoverStarted or AgentEventKind.FailoverSucceeded);
            Assert.False(await FailoverSandbox.IsPrimaryAsync(standby.Settings.Instance));
        }

        var lease = await sb.Lease.ReadAsync(CancellationToken.None);
        Assert.Equal(("region-a", 1L), (lease!.Holder, lease.Generation));
    }
}
