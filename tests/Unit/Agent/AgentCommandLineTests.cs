using System.Text.Json.Nodes;
using PgDr.Tests.Cli;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Agent;

/// <summary>`pgdr agent` and `pgdr events` as processes: bad input gives one clear line with its error id.</summary>
public sealed class AgentCommandLineTests
{
    private static string WriteConfig(JsonObject agent, string? repositoryEndpoint = null)
    {
        var repository = repositoryEndpoint is null
            ? new JsonObject { ["name"] = "fs", ["type"] = "filesystem", ["path"] = TestDirectories.Path("repo-" + Guid.NewGuid().ToString("N")[..8]) }
            : new JsonObject { ["name"] = "s3", ["type"] = "s3", ["bucket"] = "nowhere", ["endpoint"] = repositoryEndpoint, ["forcePathStyle"] = true, ["region"] = "us-east-1" };
        var config = new JsonObject { ["stanza"] = "main", ["repositories"] = new JsonArray(repository), ["agent"] = agent };
        var path = TestDirectories.Path($"agent-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, config.ToJsonString());
        return path;
    }

    [Fact]
    public async Task A_malformed_policy_exits_2_with_one_line_ending_in_InvalidConfig()
    {
        var config = WriteConfig(new JsonObject { ["instance"] = "127.0.0.1:1", ["policy"] = new JsonObject { ["leaseTtlSeconds"] = 6, ["fenceMarginSeconds"] = 9 } });

        var result = await PgDrProcess.RunAsync(null, "agent", "--config", config);

        Assert.Equal(2, result.ExitCode);
        Assert.Single(result.StandardError.Trim().Split('\n'));
        Assert.EndsWith("[InvalidConfig]", result.StandardError.Trim(), StringComparison.Ordinal);
        Assert.Contains("fenceMarginSeconds", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_port_in_use_exits_2_with_AgentPortInUse()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        var config = WriteConfig(new JsonObject { ["instance"] = "127.0.0.1:1", ["httpAddress"] = "127.0.0.1", ["httpPort"] = port, ["eventsPath"] = TestDirectories.Path($"ev-{Guid.NewGuid():N}.jsonl") });

        var result = await PgDrProcess.RunAsync(null, "agent", "--config", config);

        Assert.Equal(2, result.ExitCode);
        Assert.EndsWith("[AgentPortInUse]", result.StandardError.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_repository_at_start_is_reported_with_its_error_id_and_the_agent_keeps_watching_until_SIGTERM()
    {
        var events = TestDirectories.Path($"ev-{Guid.NewGuid():N}.jsonl");
        var port = Ports.Closed();
        var config = WriteConfig(
            new JsonObject { ["instance"] = "127.0.0.1:1", ["httpAddress"] = "127.0.0.1", ["httpPort"] = port, ["eventsPath"] = events },
            repositoryEndpoint: $"http://127.0.0.1:{Ports.Closed()}");
        await using var agent = AgentProcess.Start(config, new Dictionary<string, string> { ["AWS_ACCESS_KEY_ID"] = "x", ["AWS_SECRET_ACCESS_KEY"] = "x" });

        await agent.WaitForLineAsync("[RepositoryUnavailable]", TimeSpan.FromSeconds(60));
        await AgentTestSupport.WaitForHttpAsync(port, "/health", System.Net.HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(30));
        Assert.False(agent.HasExited);
        Assert.Equal(0, await agent.TerminateAsync());

        var read = await PgDrProcess.RunAsync(null, "events", "--path", events);
        Assert.Equal(0, read.ExitCode);
        Assert.Contains("RepositoryUnavailable", read.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("AgentStopped", read.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Events_of_a_log_that_does_not_exist_exit_2_with_AgentEventLogNotFound()
    {
        var result = await PgDrProcess.RunAsync(null, "events", "--path", TestDirectories.Path("none.jsonl"));

        Assert.Equal(2, result.ExitCode);
        Assert.EndsWith("[AgentEventLogNotFound]", result.StandardError.Trim(), StringComparison.Ordinal);
    }
}
