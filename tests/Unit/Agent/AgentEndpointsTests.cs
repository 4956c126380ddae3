using System.Net;
using System.Net.Sockets;
using PgDr.Agent;
using PgDr.Agent.Http;
using PgDr.Errors;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Agent;

/// <summary>What the heartbeat endpoint answers for a given view of the node (no server needed), and its port.</summary>
public sealed class AgentEndpointsTests
{
    private static readonly AgentPolicy Policy = new();
    private static readonly TimeSpan Now = TimeSpan.FromMinutes(5);

    private static PgDrAgentStatus View(AgentRole role, long? lagBytes = 0, double? lagSeconds = 0, string? receiver = "streaming", bool answers = true) => new()
    {
        Node = "region-b",
        Role = role,
        PostgresAnswers = answers,
        LagBytes = lagBytes,
        LagSeconds = lagSeconds,
        ReceiverStatus = role == AgentRole.Standby ? receiver : null,
        LeaseGeneration = 3,
        ObservedAt = DateTimeOffset.UtcNow,
        ObservedAtClock = Now - TimeSpan.FromMilliseconds(300),
    };

    private static AgentHttpAnswer Get(string path, PgDrAgentStatus view, params (string Key, string Value)[] query) =>
        AgentEndpoints.Answer(new AgentHttpRequest("GET", path, query.ToDictionary(q => q.Key, q => q.Value)), view, Now, Policy);

    [Theory]
    [InlineData(AgentRole.Primary, 200)]
    [InlineData(AgentRole.PrimaryWithoutLease, 503)]
    [InlineData(AgentRole.Standby, 503)]
    [InlineData(AgentRole.Down, 503)]
    public void Primary_answers_200_only_on_the_writable_primary_that_holds_the_lease(AgentRole role, int expected)
    {
        Assert.Equal(expected, Get("/primary", View(role, answers: role != AgentRole.Down)).StatusCode);
    }

    [Fact]
    public void Health_follows_whether_PostgreSQL_answers()
    {
        Assert.Equal(200, Get("/health", View(AgentRole.Standby)).StatusCode);
        Assert.Equal(503, Get("/health", View(AgentRole.Down, answers: false)).StatusCode);
    }

    [Fact]
    public void Replica_answers_200_only_on_a_streaming_standby_within_both_limits()
    {
        var standby = View(AgentRole.Standby, lagBytes: 4096, lagSeconds: 1.5);

        Assert.Equal(200, Get("/replica", standby).StatusCode);
        Assert.Equal(200, Get("/replica", standby, ("max-lag-bytes", "4096"), ("max-lag", "2")).StatusCode);
        Assert.Equal(503, Get("/replica", standby, ("max-lag-bytes", "4095")).StatusCode);
        Assert.Equal(503, Get("/replica", standby, ("max-lag", "1.4")).StatusCode);
        Assert.Equal(503, Get("/replica", View(AgentRole.Standby, receiver: "waiting")).StatusCode);
        Assert.Equal(503, Get("/replica", View(AgentRole.Standby, lagBytes: null), ("max-lag-bytes", "1000000")).StatusCode);
        Assert.Equal(503, Get("/replica", View(AgentRole.Primary)).StatusCode);
    }

    [Fact]
    public void Replica_refuses_limits_that_are_not_numbers_with_400()
    {
        Assert.Equal(400, Get("/replica", View(AgentRole.Standby), ("max-lag-bytes", "16MB")).StatusCode);
        Assert.Equal(400, Get("/replica", View(AgentRole.Standby), ("max-lag", "soon")).StatusCode);
    }

    [Fact]
    public void A_stale_view_vouches_for_nothing()
    {
        var stale = View(AgentRole.Primary);
        stale.ObservedAtClock = Now - TimeSpan.FromMinutes(1);

        Assert.Equal(503, Get("/primary", stale).StatusCode);
        Assert.Equal(503, Get("/health", stale).StatusCode);
        Assert.Contains("pgdr_agent_up{node=\"region-b\"} 0", Get("/metrics", stale).Body, StringComparison.Ordinal);
    }

    [Fact]
    public void Metrics_are_Prometheus_text_with_help_type_and_one_sample_per_known_value()
    {
        var view = View(AgentRole.Standby, lagBytes: 123, lagSeconds: null);
        view.Node = "re\"gion";
        var answer = Get("/metrics", view);
        var lines = answer.Body.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.StartsWith("text/plain; version=0.0.4", answer.ContentType, StringComparison.Ordinal);
        Assert.Contains("pgdr_replication_lag_bytes{node=\"re\\\"gion\"} 123", lines);
        Assert.Contains("pgdr_agent_state{node=\"re\\\"gion\",state=\"Standby\"} 1", lines);
        Assert.Contains("pgdr_lease_generation{node=\"re\\\"gion\"} 3", lines);
        Assert.DoesNotContain(lines, l => l.StartsWith("pgdr_replication_lag_seconds{", StringComparison.Ordinal));
        Assert.All(lines.Where(l => !l.StartsWith('#')), l => Assert.Matches(@"^pgdr_[a-z_]+\{[^}]*\} -?[0-9.E+-]+$", l));
        Assert.Equal(lines.Count(l => l.StartsWith("# TYPE", StringComparison.Ordinal)), lines.Count(l => l.StartsWith("# HELP", StringComparison.Ordinal)));
    }

    [Fact]
    public void Status_is_the_view_as_JSON_and_unknown_paths_are_404()
    {
        var status = Get("/status", View(AgentRole.Standby));

        Assert.Equal("application/json", status.ContentType);
        Assert.Contains("\"role\": \"Standby\"", status.Body, StringComparison.Ordinal);
        Assert.Equal(404, Get("/nope", View(AgentRole.Standby)).StatusCode);
        Assert.Equal(405, AgentEndpoints.Answer(new AgentHttpRequest("POST", "/primary", new Dictionary<string, string>()), View(AgentRole.Primary), Now, Policy).StatusCode);
    }

    [Fact]
    public async Task The_endpoint_serves_over_HTTP_and_a_port_in_use_is_AgentPortInUse()
    {
        var port = Ports.Closed();
        var view = View(AgentRole.Primary);
        view.ObservedAtClock = TimeSpan.Zero;
        await using var server = AgentHttpServer.Start("127.0.0.1", port, r => AgentEndpoints.Answer(r, view, TimeSpan.Zero, Policy));
        using var http = new HttpClient();

        var primary = await http.GetAsync($"http://127.0.0.1:{port}/primary");
        var replica = await http.GetAsync($"http://127.0.0.1:{port}/replica?max-lag-bytes=10");
        var taken = Assert.Throws<PgDrException>(() => AgentHttpServer.Start("127.0.0.1", port, r => AgentEndpoints.Answer(r, view, TimeSpan.Zero, Policy)));

        Assert.Equal(HttpStatusCode.OK, primary.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, replica.StatusCode);
        Assert.Equal(ErrorIds.AgentPortInUse, taken.ErrorId);

        // A port another program holds (not an agent) is refused the same way.
        using var other = new TcpListener(IPAddress.Any, 0);
        other.Start();
        var held = Assert.Throws<PgDrException>(() => AgentHttpServer.Start("0.0.0.0", ((IPEndPoint)other.LocalEndpoint).Port, r => AgentEndpoints.Answer(r, view, TimeSpan.Zero, Policy)));
        Assert.Equal(ErrorIds.AgentPortInUse, held.ErrorId);
    }
}
