using System.Net;
using System.Text.Json.Nodes;
using PgDr.Agent;
using PgDr.Agent.Events;
using PgDr.Failover;
using PgDr.Hosting;
using PgDr.Tests.Cli;
using PgDr.Tests.Failover;
using PgDr.Tests.Fixtures;
using static PgDr.Tests.Agent.AgentTestSupport;

namespace PgDr.Tests.Agent;

/// <summary>Automated failover by the node agents on real sandboxes, each test on its own topology.</summary>
public sealed class AgentFailoverTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Killing_the_primary_promotes_the_best_standby_the_other_follows_the_endpoints_change_and_the_multi_host_client_writes_again()
    {
        await using var sb = await FailoverSandbox.CreateAsync("ag-kill", standbys: 2);
        string[] nodes = ["region-a", "region-b", "region-c"];
        var http = nodes.ToDictionary(n => n, _ => Ports.Closed());
        var events = nodes.ToDictionary(n => n, n => TestDirectories.Path($"events-{n}-{Guid.NewGuid():N}.jsonl"));
        var environment = new Dictionary<string, string> { ["PGPASSFILE"] = sb.Sandbox.PasswordFile, ["PGUSER"] = "postgres" };
        var agents = new Dictionary<string, AgentProcess>();
        foreach (var node in nodes)
        {
            // Each node's own configuration file: the sandbox's repositories plus an agent section, as on a real host.
            var config = JsonNode.Parse(await File.ReadAllTextAsync(sb.Sandbox.ConfigPath))!.AsObject();
            config["agent"] = new JsonObject
            {
                ["node"] = node,
                ["region"] = node,
                ["instance"] = sb[node].Name,
                ["httpAddress"] = "127.0.0.1",
                ["httpPort"] = http[node],
                ["eventsPath"] = events[node],
                ["peers"] = new JsonArray(nodes.Where(n => n != node).Select(n => (JsonNode)new JsonObject { ["name"] = n, ["instance"] = sb[n].Name }).ToArray()),
                ["policy"] = TestPolicy.Json(new() { ["region-b"] = 10, ["region-c"] = 5 }),
            };
            var path = TestDirectories.Path($"pgdr-{node}-{Guid.NewGuid():N}.json");
            await File.WriteAllTextAsync(path, config.ToJsonString());
            agents[node] = sb.Own(AgentProcess.Start(path, environment));
        }

        await WaitForHttpAsync(http["region-a"], "/primary", HttpStatusCode.OK, Long);
        await WaitForHttpAsync(http["region-b"], "/replica?max-lag-bytes=16777216", HttpStatusCode.OK, Long);
        await WaitForHttpAsync(http["region-c"], "/replica", HttpStatusCode.OK, Long);
        await Sql.ExecuteAsync(sb["region-a"], "CREATE TABLE client_writes (at timestamptz)");
        var client = MultiHostConnectionString(sb, sb["region-a"].Port, sb["region-b"].Port, sb["region-c"].Port);
        Assert.True(await TryClientWriteAsync(client, "client_writes"));
        await FailoverSandbox.WaitForTableAsync(sb["region-b"], "client_writes");

        // The primary's PostgreSQL dies (its agent lives on, and must not bring it back writable).
        await sb.Sandbox.StopNodeAsync("region-a", StopMode.Immediate, CancellationToken.None);

        await WaitForHttpAsync(http["region-b"], "/primary", HttpStatusCode.OK, Long);
        await Wait.UntilAsync(_ => TryClientWriteAsync(client, "client_writes"), Long, "the multi-host client to write again", CancellationToken.None);
        await Wait.UntilAsync(
            async _ => await Sql.ScalarAsync<int>(sb["region-c"], $"SELECT count(*)::int FROM pg_stat_wal_receiver WHERE status = 'streaming' AND sender_port = {sb["region-b"].Port}") == 1,
            Long, "region-c to stream from region-b", CancellationToken.None);
        await WaitForHttpAsync(http["region-c"], "/replica", HttpStatusCode.OK, Long);
        await Wait.UntilAsync(_ => Task.FromResult(File.Exists(events["region-a"]) && AgentEventLog.Read(events["region-a"]).Any(e => e.Kind == AgentEventKind.Fenced)), Long, "region-a's agent to fence it", CancellationToken.None);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, await GetAsync(http["region-a"], "/primary"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await GetAsync(http["region-a"], "/health"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await GetAsync(http["region-c"], "/primary"));
        Assert.True(File.Exists(Path.Combine(sb.Sandbox.Node("region-a").DataDirectory, "standby.signal")));
        var lease = await sb.Lease.ReadAsync(CancellationToken.None);
        Assert.Equal(("region-b", 2L), (lease!.Holder, lease.Generation));
        var bEvents = AgentEventLog.Read(events["region-b"]);
        Assert.Contains(bEvents, e => e.Kind == AgentEventKind.PrimaryUnreachable);
        Assert.Contains(bEvents, e => e.Kind == AgentEventKind.LeaseExpired);
        Assert.Single(bEvents, e => e.Kind == AgentEventKind.FailoverSucceeded);
        var cEvents = AgentEventLog.Read(events["region-c"]);
        Assert.DoesNotContain(cEvents, e => e.Kind == AgentEventKind.FailoverSucceeded);
        Assert.Contains(cEvents, e => e.Kind == AgentEventKind.Followed);

        // pgdr events reads a node's decisions; then each agent stops on SIGTERM with exit 0.
        var read = await PgDrProcess.RunAsync(null, "events", "--path", events["region-b"], "--json");
        Assert.Equal(0, read.ExitCode);
        Assert.Contains("FailoverSucceeded", read.StandardOutput, StringComparison.Ordinal);
        foreach (var node in nodes)
        {
            Assert.Equal(0, await agents[node].TerminateAsync());
        }

        Assert.Contains(agents["region-b"].Lines, l => l.Contains("AgentStopped", StringComparison.Ordinal) && l.Contains("parked", StringComparison.Ordinal));
        Assert.Null((await sb.Lease.ReadAsync(CancellationToken.None))!.TtlSeconds);
    }

    [Fact]
    public async Task A_partition_between_the_regions_causes_no_failover_while_the_primary_keeps_its_lease_even_when_the_link_flaps()
    {
        await using var sb = await FailoverSandbox.CreateAsync("ag-flap", standbys: 2);
        var intoA = sb.Own(TcpProxy.Start("127.0.0.1", sb["region-a"].Port));
        await sb.StreamThroughAsync("region-b", intoA.Port);
        await sb.StreamThroughAsync("region-c", intoA.Port);
        var policy = TestPolicy.Fast();
        var a = sb.Own(new RunningAgent(AgentSettingsFor(sb, "region-a", policy, advertise: $"127.0.0.1:{intoA.Port}"), sb.Lease));
        var b = sb.Own(new RunningAgent(AgentSettingsFor(sb, "region-b", policy, peers: [("region-c", sb["region-c"])]), sb.Lease));
        var c = sb.Own(new RunningAgent(AgentSettingsFor(sb, "region-c", policy, peers: [("region-b", sb["region-b"])]), sb.Lease));
        await a.WaitForRoleAsync(AgentRole.Primary, Long);
        await b.WaitForRoleAsync(AgentRole.Standby, Long);
        await c.WaitForRoleAsync(AgentRole.Standby, Long);

        // Region A is cut off from B and C (replication and heartbeats), but every side reaches the lease repository.
        // The link flaps, then stays down for more than two TTLs.
        foreach (var down in new[] { 4, 4, 4, 12 })
        {
            intoA.Partition();
            await Task.Delay(TimeSpan.FromSeconds(down)); // the partition's length is what is tested: nothing to wait for
            intoA.Heal();
            await Task.Delay(TimeSpan.FromSeconds(1));
        }

        await b.WaitForAsync(AgentEventKind.PrimaryUnreachable, Long);
        var lease = await sb.Lease.ReadAsync(CancellationToken.None);
        Assert.Equal(("region-a", 1L), (lease!.Holder, lease.Generation));
        Assert.Equal(AgentRole.Primary, a.Agent.Status.Role);
        Assert.False(a.Has(AgentEventKind.Fenced));
        Assert.True(await FailoverSandbox.IsPrimaryAsync(sb["region-a"]));
        foreach (var standby in new[] { b, c })
        {
            Assert.DoesNotContain(standby.Agent.Events, e => e.Kind is AgentEventKind.FailoverStarted or AgentEventKind.FailoverSucceeded or AgentEventKind.LeaseExpired);
            Assert.False(await FailoverSandbox.IsPrimaryAsync(standby.Settings.Instance));
        }
    }

    [Fact]
    public async Task Two_standbys_racing_for_the_lease_exactly_one_wins_and_the_other_follows_it()
    {
        await using var sb = await FailoverSandbox.CreateAsync("ag-race", standbys: 2);
        var policy = TestPolicy.Fast();

        // Neither standby knows of the other (no peers): each sees itself as the best, so both go for the lease.
        var a = sb.Own(new RunningAgent(AgentSettingsFor(sb, "region-a", policy), sb.Lease));
        var b = sb.Own(new RunningAgent(AgentSettingsFor(sb, "region-b", policy), sb.Lease));
        var c = sb.Own(new RunningAgent(AgentSettingsFor(sb, "region-c", policy), sb.Lease));
        await a.WaitForRoleAsync(AgentRole.Primary, Long);
        await b.WaitForRoleAsync(AgentRole.Standby, Long);
        await c.WaitForRoleAsync(AgentRole.Standby, Long);

        await sb.Sandbox.StopNodeAsync("region-a", StopMode.Immediate, CancellationToken.None);
        await Wait.UntilAsync(_ => Task.FromResult(b.Has(AgentEventKind.FailoverSucceeded) || c.Has(AgentEventKind.FailoverSucceeded)), Long, "a standby to take over", CancellationToken.None);
        var (winner, loser) = b.Has(AgentEventKind.FailoverSucceeded) ? (b, c) : (c, b);
        await Wait.UntilAsync(
            async _ => await Sql.ScalarAsync<int>(loser.Settings.Instance, $"SELECT count(*)::int FROM pg_stat_wal_receiver WHERE status = 'streaming' AND sender_port = {winner.Settings.Instance.Port}") == 1,
            Long, "the loser to follow the winner", CancellationToken.None);

        Assert.False(loser.Has(AgentEventKind.FailoverSucceeded));
        Assert.True(await FailoverSandbox.IsPrimaryAsync(winner.Settings.Instance));
        Assert.False(await FailoverSandbox.IsPrimaryAsync(loser.Settings.Instance));
        var lease = await sb.Lease.ReadAsync(CancellationToken.None);
        Assert.Equal((winner.Name, 2L), (lease!.Holder, lease.Generation));
        if (loser.Agent.Events.FirstOrDefault(e => e.Kind == AgentEventKind.FailoverFailed) is { } lost)
        {
            // It raced and lost the compare-and-swap (or read the lease after the winner took it): nothing was changed.
            Assert.Contains(lost.ErrorId, new[] { Errors.ErrorIds.LeaseConflict, Errors.ErrorIds.LeaseHolderMismatch });
        }
    }
}
