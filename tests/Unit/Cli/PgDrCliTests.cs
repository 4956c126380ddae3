using System.Text.Json;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Cli;

/// <summary>pgdr as scripts use it: exit codes, one line on stderr with the error id, --json that parses.</summary>
[Collection(SharedTopology.Name)]
public sealed class PgDrCliTests(SharedTopologyFixture fixture)
{
    private readonly PgDr.Hosting.Sandbox.PgSandbox _sandbox = fixture.Sandbox;

    private Dictionary<string, string?> Credentials => new() { ["PGPASSFILE"] = _sandbox.PasswordFile, ["PGUSER"] = "postgres", ["PGPASSWORD"] = null };

    [Fact]
    public async Task Lag_json_lists_every_standby_of_the_primary_and_exits_zero_when_healthy()
    {
        var result = await PgDrProcess.RunAsync(Credentials, "lag", _sandbox.Instance("region-a").Name, "--json", "--max-lag-bytes", "1073741824");

        Assert.True(result.ExitCode == 0, result.StandardError);
        using var json = JsonDocument.Parse(result.StandardOutput);
        var standbys = json.RootElement.EnumerateArray().Select(e => e.GetProperty("standbyName").GetString()!).Order().ToArray();
        Assert.Equal(["region-b", "region-c"], standbys);
        Assert.All(json.RootElement.EnumerateArray(), e => Assert.Matches("^[0-9A-F]+/[0-9A-F]+$", e.GetProperty("replayLsn").GetString()));
    }

    [Fact]
    public async Task Node_table_shows_roles_of_several_instances()
    {
        var result = await PgDrProcess.RunAsync(Credentials, "node", _sandbox.Instance("region-a").Name, _sandbox.Instance("region-b2").Name);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Primary", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("Standby", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("region-b2", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unreachable_instance_exits_2_with_one_line_naming_the_error_id_and_the_others_still_answer()
    {
        var closed = $"127.0.0.1:{Ports.Closed()}";

        var result = await PgDrProcess.RunAsync(Credentials, "node", closed, _sandbox.Instance("region-a").Name);

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("[HostUnreachable]", line, StringComparison.Ordinal);
        Assert.Contains("region-a", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wrong_password_in_a_connection_string_is_reported_without_the_password()
    {
        const string secret = "Sup3rSecretValue";
        var instance = $"host=127.0.0.1 port={_sandbox.Instance("region-a").Port} user=postgres password={secret}";

        var result = await PgDrProcess.RunAsync(new Dictionary<string, string?> { ["PGPASSFILE"] = "/nonexistent" }, "node", instance);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("[AuthenticationFailed]", result.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, result.StandardError + result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Slot_test_quiet_says_it_through_the_exit_code()
    {
        var primary = _sandbox.Instance("region-a");
        await PgDr.Replication.ReplicationSlotService.CreatePhysicalSlotAsync(primary, "cli_inactive", false, CancellationToken.None);
        try
        {
            var healthy = await PgDrProcess.RunAsync(Credentials, "slot", "test", primary.Name, "--name", "region_*", "--quiet");
            var inactive = await PgDrProcess.RunAsync(Credentials, "slot", "test", primary.Name, "--name", "cli_inactive", "--quiet");

            Assert.Equal(0, healthy.ExitCode);
            Assert.Equal(string.Empty, healthy.StandardOutput);
            Assert.Equal(1, inactive.ExitCode);
            Assert.Equal(string.Empty, inactive.StandardOutput);
        }
        finally
        {
            await PgDr.Replication.ReplicationSlotService.DropSlotAsync(primary, "cli_inactive", CancellationToken.None);
        }
    }

    [Fact]
    public async Task Slot_create_and_drop_round_trip_and_drop_reports_the_freed_WAL()
    {
        var primary = _sandbox.Instance("region-a").Name;

        var create = await PgDrProcess.RunAsync(Credentials, "slot", "create", primary, "cli_made", "--json");
        var drop = await PgDrProcess.RunAsync(Credentials, "slot", "drop", primary, "cli_made", "--json");
        var again = await PgDrProcess.RunAsync(Credentials, "slot", "drop", primary, "cli_made");

        Assert.True(create.ExitCode == 0, create.StandardError);
        Assert.Equal("cli_made", JsonDocument.Parse(create.StandardOutput).RootElement.GetProperty("slotName").GetString());
        Assert.True(drop.ExitCode == 0, drop.StandardError);
        Assert.True(JsonDocument.Parse(drop.StandardOutput).RootElement.GetProperty("freedBytes").GetInt64() >= 0);
        Assert.Equal(2, again.ExitCode);
        Assert.Contains("[ReplicationSlotNotFound]", again.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sandbox_status_of_the_shared_topology_shows_every_node_streaming()
    {
        var result = await PgDrProcess.RunAsync(null, "sandbox", "status", "--dir", _sandbox.Directory, "--json");

        Assert.True(result.ExitCode == 0, result.StandardError);
        using var json = JsonDocument.Parse(result.StandardOutput);
        var nodes = json.RootElement.EnumerateArray().ToList();
        Assert.Equal(4, nodes.Count);
        Assert.Equal("Primary", nodes[0].GetProperty("role").GetString());
        Assert.All(nodes.Skip(1), n => Assert.Equal("streaming", n.GetProperty("lag").GetProperty("state").GetString()));
        Assert.DoesNotContain(_sandbox.SuperuserPassword, result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Usage_errors_exit_non_zero()
    {
        var result = await PgDrProcess.RunAsync(null, "slot", "create");

        Assert.NotEqual(0, result.ExitCode);
    }

    [Fact]
    public async Task Standby_create_what_if_lists_the_changes_without_the_password_and_makes_none()
    {
        var primary = _sandbox.Instance("region-a");
        var password = File.ReadLines(_sandbox.PasswordFile).Select(l => l.Split(':')).First(f => f[3] == PgDr.Hosting.Sandbox.PgSandbox.ReplicationUser)[4];
        var directory = Path.Combine(_sandbox.Directory, "cli-what-if");
        var environment = new Dictionary<string, string?>(Credentials) { [PgDr.Cli.Commands.StandbyCommands.PasswordVariable] = password };

        var result = await PgDrProcess.RunAsync(
            environment, "standby", "create", primary.Name, "--data-dir", directory, "--name", "cli-what-if", "--create-slot",
            "--replication-user", PgDr.Hosting.Sandbox.PgSandbox.ReplicationUser, "--port", Ports.Closed().ToString(System.Globalization.CultureInfo.InvariantCulture), "--what-if");

        Assert.True(result.ExitCode == 0, result.StandardError);
        Assert.Contains($"What if: create slot cli_what_if on {primary.Name}", result.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(password, result.StandardOutput + result.StandardError, StringComparison.Ordinal);
        Assert.False(Directory.Exists(directory));
        Assert.Empty(await PgDr.Replication.ReplicationSlotService.GetSlotsAsync(primary, ["cli_what_*"], CancellationToken.None));
    }

    [Fact]
    public async Task Standby_create_into_a_directory_that_is_not_empty_exits_2_naming_DataDirectoryNotEmpty()
    {
        var result = await PgDrProcess.RunAsync(
            Credentials, "standby", "create", _sandbox.Instance("region-a").Name, "--data-dir", _sandbox.Node("region-b").DataDirectory, "--name", "cli-occupied");

        Assert.Equal(2, result.ExitCode);
        Assert.EndsWith("[DataDirectoryNotEmpty]", Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries)).Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sync_set_what_if_shows_old_and_new_and_a_standby_that_is_not_connected_exits_2()
    {
        var primary = _sandbox.Instance("region-a").Name;

        var whatIf = await PgDrProcess.RunAsync(Credentials, "sync", "set", primary, "--standby", "region-b", "--commit", "remote_apply", "--what-if");
        var typo = await PgDrProcess.RunAsync(Credentials, "sync", "set", primary, "--standby", "region-bb");

        Assert.True(whatIf.ExitCode == 0, whatIf.StandardError);
        Assert.Contains("FIRST 1 (\"region-b\")", whatIf.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("What if: nothing was changed.", whatIf.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(2, typo.ExitCode);
        Assert.EndsWith("[SynchronousStandbyNotConnected]", typo.StandardError.Trim(), StringComparison.Ordinal);
        Assert.Equal(string.Empty, await Sql.ScalarAsync<string>(_sandbox.Instance("region-a"), "SHOW synchronous_standby_names"));
    }
}
