using System.CommandLine;
using PgDr.Agent;
using PgDr.Agent.Services;
using PgDr.Archive.Configuration;
using PgDr.Errors;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Agent;

/// <summary>The agent section of the configuration: defaults, refusals of a malformed policy, and the service definitions.</summary>
public sealed class AgentSettingsTests
{
    private const string Repositories = """ "stanza": "main", "repositories": [ { "name": "fs", "type": "filesystem", "path": "/tmp/x" } ] """;

    private static AgentSettings Parse(string agentSection) =>
        AgentSettings.FromConfig(PgDrConfig.Parse($$"""{ {{Repositories}}, "agent": {{agentSection}} }""", "/etc/pgdr/pgdr.json"));

    [Fact]
    public void An_agent_section_with_only_an_instance_gets_the_documented_defaults()
    {
        var settings = Parse("""{ "instance": "127.0.0.1:5433" }""");

        Assert.Equal(8080, settings.HttpPort);
        Assert.Equal("0.0.0.0", settings.HttpAddress);
        Assert.Equal("127.0.0.1:5433", settings.AdvertisedInstance);
        Assert.True(settings.Policy.AutomaticFailover);
        Assert.Equal(6, settings.Policy.LeaseTtlSeconds);
        Assert.Equal(TimeSpan.FromSeconds(4), settings.Policy.FenceAfter);
        Assert.Equal(3, settings.Policy.MissedHeartbeats);
        Assert.Equal(AgentSettings.DefaultEventsPath, settings.EventsPath);
    }

    [Fact]
    public void The_agents_a_configuration_names_are_its_own_and_each_peer_with_an_agent_address()
    {
        var config = PgDrConfig.Parse($$"""
            { {{Repositories}}, "agent": { "node": "region-a", "instance": "127.0.0.1:5433", "httpPort": 8081, "peers": [
              { "name": "region-b", "instance": "db-b:5432", "agent": "db-b:8080" },
              { "name": "region-c", "instance": "db-c:5432" } ] } }
            """, "/etc/pgdr/pgdr.json");

        var agents = AgentSettings.AgentsOf(config);

        Assert.Equal(
            [("region-a", "127.0.0.1:5433", "http://127.0.0.1:8081/"), ("region-b", "db-b:5432", "http://db-b:8080/")],
            agents.Select(a => (a.Name, a.Instance.Name, a.Agent!.ToString())).ToArray());
        Assert.True(agents[1].Is(new PgDr.Connections.PgInstance("db-b:5432"), null));
        Assert.True(agents[1].Is(new PgDr.Connections.PgInstance("10.0.0.2:5432"), "region-b"));
        Assert.Empty(AgentSettings.AgentsOf(PgDrConfig.Parse($$"""{ {{Repositories}} }""", "/etc/pgdr/pgdr.json")));
    }

    [Fact]
    public void Archive_command_does_not_read_the_agent_section_so_a_broken_one_cannot_stop_archiving()
    {
        var config = PgDrConfig.Parse($$"""{ {{Repositories}}, "agent": { "policy": { "missedHeartbeats": "three" } } }""", "/etc/pgdr/pgdr.json");

        var refused = Assert.Throws<PgDrException>(() => AgentSettings.FromConfig(config));
        Assert.Equal(ErrorIds.InvalidConfig, refused.ErrorId);
        Assert.Equal("main", config.Stanza);
    }

    [Theory]
    [InlineData("""{ "policy": { "leaseTtlSeconds": 1 } }""", "leaseTtlSeconds")]
    [InlineData("""{ "policy": { "leaseTtlSeconds": 6, "fenceMarginSeconds": 6 } }""", "fenceMarginSeconds")]
    [InlineData("""{ "policy": { "leaseTtlSeconds": 6, "renewIntervalSeconds": 3 } }""", "renewIntervalSeconds")]
    [InlineData("""{ "policy": { "missedHeartbeats": 0 } }""", "missedHeartbeats")]
    [InlineData("""{ "policy": { "heartbeatIntervalSeconds": -1 } }""", "heartbeatIntervalSeconds")]
    [InlineData("""{ "policy": { "maxDataLossBytes": -5 } }""", "maxDataLossBytes")]
    [InlineData("""{ "policy": { "priority": { "region-a": "high" } } }""", "shape")]
    [InlineData("""{ "httpPort": 70000 }""", "httpPort")]
    [InlineData("""{ "service": "upstart:pg" }""", "service")]
    [InlineData("""{ "instance": "postgresql://pgdr:secret@db-a:5432/postgres" }""", "password")]
    [InlineData("""{ "peers": [ { "instance": "db-b:5432" } ] }""", "name")]
    [InlineData("""{ "peers": [ { "name": "region-b", "instance": "db-b:5432", "agent": "https://db-b:8080" } ] }""", "agent.peers[region-b].agent")]
    [InlineData("""{ "peers": [ { "name": "region-b", "instance": "db-b:5432", "agent": "db-b:8080/status" } ] }""", "agent.peers[region-b].agent")]
    [InlineData("[]", "'agent' section")]
    public void A_malformed_policy_is_refused_with_InvalidConfig_naming_the_setting(string section, string named)
    {
        var refused = Assert.Throws<PgDrException>(() => Parse(section));

        Assert.Equal(ErrorIds.InvalidConfig, refused.ErrorId);
        Assert.Contains(named, refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_packaged_systemd_unit_is_the_engines_and_its_command_line_is_one_pgdr_accepts()
    {
        var packaged = File.ReadAllText(Path.Combine(SourceTree.Root, "packaging", "systemd", "pgdr-agent.service"));
        var execStart = packaged.Split('\n').Single(l => l.StartsWith("ExecStart=", StringComparison.Ordinal))["ExecStart=".Length..].Split(' ');

        Assert.Equal(AgentServiceDefinitions.SystemdUnit(), packaged);
        Assert.Contains("Restart=always", packaged, StringComparison.Ordinal);
        Assert.Equal("/usr/bin/pgdr", execStart[0]);
        Assert.Empty(PgDr.Cli.PgDrCli.BuildRootCommand().Parse(execStart[1..]).Errors);
    }

    [Fact]
    public void The_Windows_service_is_defined_by_sc_exe_command_lines_whose_binary_path_pgdr_accepts()
    {
        var commands = AgentServiceDefinitions.WindowsServiceCommands(@"C:\Program Files\PgDr\pgdr.exe", @"C:\ProgramData\pgdr\pgdr.json");
        var create = commands[0];

        Assert.Equal("sc.exe", create.Program);
        Assert.Equal(["create", "PgDrAgent", "binPath=", "\"C:\\Program Files\\PgDr\\pgdr.exe\" agent --windows-service --config \"C:\\ProgramData\\pgdr\\pgdr.json\"", "start=", "auto", "DisplayName=", "PgDr node agent"], create.Arguments);
        Assert.Contains(commands, c => c.Arguments[0] == "failure" && c.Arguments.Contains("restart/1000/restart/1000/restart/1000"));
        var args = System.CommandLine.Parsing.CommandLineParser.SplitCommandLine(create.Arguments[3]).ToArray();
        Assert.Empty(PgDr.Cli.PgDrCli.BuildRootCommand().Parse(args[1..]).Errors);
        Assert.Throws<ArgumentException>(() => AgentServiceDefinitions.WindowsServiceCommands("C:\\a\"b\\pgdr.exe", "c.json"));
    }
}
