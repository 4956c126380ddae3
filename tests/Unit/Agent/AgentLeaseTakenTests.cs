using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using PgDr.Agent;
using PgDr.Agent.Events;
using PgDr.Errors;
using PgDr.Failover.Lease;
using PgDr.Hosting;
using PgDr.Tests.Failover;
using PgDr.Tests.Fixtures;
using static PgDr.Tests.Agent.AgentTestSupport;

namespace PgDr.Tests.Agent;

/// <summary>
/// Two agents on a real primary and standby, asked over real HTTP; then the lease is taken by another node (as a
/// manual failover that could not reach this primary would): the primary's agent fences it at once.
/// </summary>
public sealed class AgentLeaseTakenTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task The_endpoints_answer_over_HTTP_and_a_primary_whose_lease_another_node_took_fences_itself_at_once()
    {
        await using var sb = await FailoverSandbox.CreateAsync("ag-taken", standbys: 1);
        var policy = TestPolicy.Fast();
        var (httpA, httpB) = (Ports.Closed(), Ports.Closed());
        var a = sb.Own(new RunningAgent(AgentSettingsFor(sb, "region-a", policy, httpPort: httpA), sb.Lease));
        var b = sb.Own(new RunningAgent(AgentSettingsFor(sb, "region-b", policy with { AutomaticFailover = false }, httpPort: httpB), sb.Lease));
        await a.WaitForRoleAsync(AgentRole.Primary, Long);
        await b.WaitForRoleAsync(AgentRole.Standby, Long);
        await WaitForHttpAsync(httpB, "/replica?max-lag-bytes=16777216&max-lag=10", HttpStatusCode.OK, Long);
        await Wait.UntilAsync(_ => Task.FromResult(b.Agent.Status.LeaseHolder == "region-a"), Long, "region-b's agent to have read region-a's lease", CancellationToken.None);

        // The role endpoints, as HAProxy polls them.
        Assert.Equal(HttpStatusCode.OK, await GetAsync(httpA, "/primary"));
        Assert.Equal(HttpStatusCode.OK, await GetAsync(httpA, "/health"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await GetAsync(httpA, "/replica"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await GetAsync(httpB, "/primary"));
        Assert.Equal(HttpStatusCode.OK, await GetAsync(httpB, "/health"));
        Assert.Equal(HttpStatusCode.BadRequest, await GetAsync(httpB, "/replica?max-lag-bytes=16MB"));

        // /status: the view as JSON, with the lease and the peers' last heartbeats.
        var statusA = JsonNode.Parse(await GetBodyAsync(httpA, "/status"))!;
        Assert.Equal("Primary", (string?)statusA["role"]);
        Assert.Equal("region-a", (string?)statusA["leaseHolder"]);
        Assert.Equal(1L, (long?)statusA["leaseGeneration"]);
        Assert.Equal(1u, (uint?)statusA["timeline"]);
        Assert.NotNull((string?)statusA["currentLsn"]);
        var statusB = JsonNode.Parse(await GetBodyAsync(httpB, "/status"))!;
        Assert.Equal("Standby", (string?)statusB["role"]);
        Assert.Equal("streaming", (string?)statusB["receiverStatus"]);
        var primarySeenByB = Assert.Single(statusB["peers"]!.AsArray(), p => (string?)p!["role"] == "primary")!;
        Assert.Equal("region-a", (string?)primarySeenByB["name"]);
        Assert.NotNull((double?)primarySeenByB["lastHeartbeatSecondsAgo"]);

        // /metrics: Prometheus text with the lease, the role and the lag.
        var metricsA = (await GetBodyAsync(httpA, "/metrics")).Split('\n');
        var metricsB = (await GetBodyAsync(httpB, "/metrics")).Split('\n');
        Assert.Contains("pgdr_lease_held{node=\"region-a\"} 1", metricsA);
        Assert.Contains("pgdr_lease_generation{node=\"region-a\"} 1", metricsA);
        Assert.Contains("pgdr_agent_state{node=\"region-a\",state=\"Primary\"} 1", metricsA);
        Assert.Contains(metricsA, l => l.StartsWith("pgdr_archive_ready_segments{node=\"region-a\"} ", StringComparison.Ordinal));
        Assert.Contains("pgdr_agent_state{node=\"region-b\",state=\"Standby\"} 1", metricsB);
        Assert.Contains("pgdr_lease_held{node=\"region-b\"} 0", metricsB);
        Assert.Contains(metricsB, l => l.StartsWith("pgdr_replication_lag_bytes{node=\"region-b\"} ", StringComparison.Ordinal));

        // Another node takes the lease by compare-and-swap (no TTL, as a manual failover's). Region A never renews a
        // lease that names another node: it fences its primary without waiting out any TTL.
        // Region A renews every 0.5 s, so a take can lose the compare-and-swap to a renewal: read again and retry.
        await Wait.UntilAsync(
            async _ =>
            {
                var held = (await sb.Lease.ReadAsync(CancellationToken.None))!;
                try
                {
                    await sb.Lease.TakeAsync(held, new LeaseClaim("region-x", "127.0.0.1:1", ulong.Parse(held.SystemIdentifier, CultureInfo.InvariantCulture), held.Timeline, "taken by the test"), null, CancellationToken.None);
                    return true;
                }
                catch (PgDrException ex) when (ex.ErrorId == ErrorIds.LeaseConflict)
                {
                    return false;
                }
            },
            Long, "the test to take the lease from region-a", CancellationToken.None);
        var fenced = await a.WaitForAsync(AgentEventKind.Fenced, Long);

        Assert.True(a.Has(AgentEventKind.LeaseLost));
        Assert.Equal("region-x", fenced.LeaseHolder);
        Assert.False(await sb.Sandbox.Cluster("region-a").IsRunningAsync(CancellationToken.None));
        Assert.True(File.Exists(Path.Combine(sb.Sandbox.Node("region-a").DataDirectory, "standby.signal")));
        // The endpoint answers from the view of the agent's last round: the round after the fence sees PostgreSQL down.
        await WaitForHttpAsync(httpA, "/health", HttpStatusCode.ServiceUnavailable, Long);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await GetAsync(httpA, "/primary"));
        var lease = (await sb.Lease.ReadAsync(CancellationToken.None))!;
        Assert.Equal("region-x", lease.Holder);
        Assert.False(b.Has(AgentEventKind.FailoverStarted));
    }

    private static async Task<string> GetBodyAsync(int port, string path)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        return await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}{path}"));
    }
}
