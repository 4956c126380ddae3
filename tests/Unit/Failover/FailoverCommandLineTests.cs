using PgDr.Tests.Cli;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Failover;

/// <summary>pgdr failover / lease as a runbook uses them, on the shared topology (nothing here changes it).</summary>
[Collection(SharedTopology.Name)]
public sealed class FailoverCommandLineTests(SharedTopologyFixture fixture)
{
    private readonly PgDr.Hosting.Sandbox.PgSandbox _sandbox = fixture.Sandbox;

    private Dictionary<string, string?> Credentials => new() { ["PGPASSFILE"] = _sandbox.PasswordFile, ["PGUSER"] = "postgres", ["PGPASSWORD"] = null, ["PGDR_CONFIG"] = null };

    [Fact]
    public async Task Failover_to_the_primary_exits_2_with_one_line_ending_in_NodeIsPrimary()
    {
        var result = await PgDrProcess.RunAsync(Credentials, "failover", _sandbox.Instance("region-a").Name, "--config", _sandbox.ConfigPath, "--force");

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.EndsWith("[NodeIsPrimary]", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Failover_what_if_lists_the_changes_and_makes_none()
    {
        var c = _sandbox.Instance("region-c");

        var result = await PgDrProcess.RunAsync(Credentials, "failover", c.Name, "--old-primary", _sandbox.Instance("region-a").Name, "--config", _sandbox.ConfigPath, "--force", "--what-if");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("default_transaction_read_only: off -> on", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("promote region-c", result.StandardOutput, StringComparison.Ordinal);
        Assert.True(await Sql.ScalarAsync<bool>(c, "SELECT pg_is_in_recovery()"));
        Assert.True(await Sql.ScalarAsync<bool>(_sandbox.Instance("region-a"), "SELECT NOT pg_is_in_recovery() AND NOT current_setting('default_transaction_read_only')::bool"));
    }

    [Fact]
    public async Task Lease_show_exits_1_while_no_lease_was_ever_taken()
    {
        var result = await PgDrProcess.RunAsync(Credentials, "lease", "show", "--config", _sandbox.ConfigPath);

        Assert.Equal(1, result.ExitCode);
    }
}
