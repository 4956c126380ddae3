using System.Text.Json.Nodes;
using PgDr.Agent;
using PgDr.Diagnostics;
using PgDr.Hosting;
using PgDr.Hosting.Sandbox;
using PgDr.Tests.Agent;
using PgDr.Tests.Failover;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Diagnostics;

/// <summary>
/// DiskSpace of a node on another host. region-c is reached through a TCP proxy: its postmaster.pid names another port,
/// so to pgdr check it is not a node on this host and its disks cannot be measured here. Its agent runs in the test (a
/// standby's agent with automatic failover off and a lease store of its own: it changes nothing in the shared topology).
/// </summary>
[Collection(SharedTopology.Name)]
public sealed class RemoteDiskSpaceTests(SharedTopologyFixture fixture)
{
    private readonly PgSandbox _sandbox = fixture.Sandbox;

    [Fact]
    public async Task A_remote_nodes_disks_are_read_from_its_agent_and_judged_by_the_same_rules_as_a_local_nodes()
    {
        var node = _sandbox.Node("region-c");
        await using var proxy = TcpProxy.Start("127.0.0.1", node.Instance.Port);
        var remote = node.Instance.WithAddress("127.0.0.1", proxy.Port);
        var agentPort = Ports.Closed();
        await using var lease = LeaseStoreTests.NewStore();
        await using var agent = new RunningAgent(
            new AgentSettings { Node = "region-c", Instance = node.Instance, HttpAddress = "127.0.0.1", HttpPort = agentPort, Policy = new AgentPolicy { AutomaticFailover = false } },
            lease);
        await Wait.UntilAsync(_ => Task.FromResult(agent.Agent.Status.Disks.Count == 2), TimeSpan.FromSeconds(60), "region-c's agent to measure its disks", CancellationToken.None);
        var config = WriteConfig(peerAgent: $"127.0.0.1:{agentPort}", peerInstance: remote.Name);

        var results = await ConfigurationCheckService.CheckAsync([remote], new ConfigurationCheckOptions { ConfigPath = config, ScanLog = false }, null, CancellationToken.None);
        var strict = await ConfigurationCheckService.CheckAsync([remote], new ConfigurationCheckOptions { ConfigPath = config, ScanLog = false, MinFreeDiskShare = 1 }, null, CancellationToken.None);

        // What this host measures of the same paths, judged by the local rule, is what the agent's numbers are judged to.
        var writer = new CheckWriter(remote, "region-c");
        foreach (var (label, path) in DiskSpace.NodePaths(node.DataDirectory))
        {
            var check = ConfigurationCheckSupport.Single(results, "region-c", CheckIds.DiskSpace, label);
            Assert.Equal(HealthChecks.JudgeDisk(path, 0.15, writer, label)!.Verdict, check.Verdict);
            Assert.Contains($"measured by its agent at http://127.0.0.1:{agentPort}/", check.Evidence, StringComparison.Ordinal);
            Assert.Contains($"on {DiskSpace.Measure(path)!.Mount}", check.Evidence, StringComparison.Ordinal);

            // Every disk has less than all of itself free: with 100 % required it is never a pass.
            var demanding = ConfigurationCheckSupport.Single(strict, "region-c", CheckIds.DiskSpace, label);
            Assert.NotEqual(PgDrCheckVerdict.Pass, demanding.Verdict);
            Assert.False(string.IsNullOrEmpty(demanding.Fix));
        }
    }

    [Fact]
    public async Task A_remote_nodes_disks_without_an_agent_or_with_one_that_does_not_answer_are_a_warning_that_says_so()
    {
        var node = _sandbox.Node("region-c");
        await using var proxy = TcpProxy.Start("127.0.0.1", node.Instance.Port);
        var remote = node.Instance.WithAddress("127.0.0.1", proxy.Port);
        var silentAgent = WriteConfig(peerAgent: $"127.0.0.1:{Ports.Closed()}", peerInstance: remote.Name);

        var without = await ConfigurationCheckService.CheckAsync([remote], new ConfigurationCheckOptions { ScanLog = false }, null, CancellationToken.None);
        var silent = await ConfigurationCheckService.CheckAsync([remote], new ConfigurationCheckOptions { ConfigPath = silentAgent, ScanLog = false }, null, CancellationToken.None);

        var unmeasured = ConfigurationCheckSupport.Single(without, "region-c", CheckIds.DiskSpace);
        Assert.Equal(PgDrCheckVerdict.Warn, unmeasured.Verdict);
        Assert.Contains("without its agent", unmeasured.Evidence, StringComparison.Ordinal);
        Assert.Contains("agent.peers[].agent", unmeasured.Fix, StringComparison.Ordinal);
        var unanswered = ConfigurationCheckSupport.Single(silent, "region-c", CheckIds.DiskSpace);
        Assert.Equal(PgDrCheckVerdict.Warn, unanswered.Verdict);
        Assert.EndsWith("[AgentUnreachable]", unanswered.Evidence, StringComparison.Ordinal);

        // The same node checked where it is (its own port) is measured here, with no agent.
        var local = await ConfigurationCheckService.CheckAsync([node.Instance], new ConfigurationCheckOptions { ScanLog = false }, null, CancellationToken.None);
        Assert.Equal(PgDrCheckVerdict.Pass, ConfigurationCheckSupport.Single(local, "region-c", CheckIds.DiskSpace, "pg_wal").Verdict);
    }

    /// <summary>The configuration of region-a's host: its own agent, and region-c as a peer whose agent is at <paramref name="peerAgent"/>.</summary>
    private string WriteConfig(string peerAgent, string peerInstance)
    {
        var config = new JsonObject
        {
            ["stanza"] = "main",
            ["repositories"] = new JsonArray(new JsonObject { ["name"] = "fs", ["type"] = "filesystem", ["path"] = TestDirectories.Path("repo-" + Guid.NewGuid().ToString("N")[..8]) }),
            ["agent"] = new JsonObject
            {
                ["node"] = "region-a",
                ["instance"] = _sandbox.Instance("region-a").Name,
                ["httpAddress"] = "127.0.0.1",
                ["httpPort"] = Ports.Closed(),
                ["peers"] = new JsonArray(new JsonObject { ["name"] = "region-c", ["instance"] = peerInstance, ["agent"] = peerAgent }),
            },
        };
        var path = TestDirectories.Path($"remote-disk-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, config.ToJsonString());
        return path;
    }
}
