using PgDr.Failover.Switchover;
using PgDr.Hosting;
using PgDr.Replication;
using PgDr.Tests.Cli;
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

    /// <summary>
    /// pgdr run with an admin's PGPASSWORD, as a runbook runs it. The old primary is started by pgdr; before the fix it
    /// inherited PGPASSWORD, its WAL receiver logged in as the replication user with the admin's password (libpq reads
    /// the password file only when no password is set) and never streamed, so a failover back was refused.
    /// </summary>
    [Fact]
    public async Task Switchover_by_pgdr_with_PGPASSWORD_set_leaves_the_old_primary_streaming_and_a_failover_back_succeeds()
    {
        await using var sb = await FailoverSandbox.CreateAsync("so-env", standbys: 1);
        var (a, b) = (sb["region-a"], sb["region-b"]);
        var password = "Admin" + Guid.NewGuid().ToString("N");
        await Sql.ExecuteAsync(a, $"CREATE ROLE pgdr_env_admin LOGIN SUPERUSER PASSWORD '{password}'");
        await Wait.UntilAsync(
            async _ => await Sql.ScalarAsync<bool>(b, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgdr_env_admin')"),
            TimeSpan.FromSeconds(60), "the admin role on region-b", CancellationToken.None);
        var admin = new Dictionary<string, string?> { ["PGUSER"] = "pgdr_env_admin", ["PGPASSWORD"] = password, ["PGPASSFILE"] = "/nonexistent", ["PGDR_CONFIG"] = null };

        var there = await PgDrProcess.RunAsync(admin, "switchover", b.Name, "--old-primary", a.Name, "--config", sb.Sandbox.ConfigPath);

        Assert.True(there.ExitCode == 0, there.StandardOutput + there.StandardError);
        Assert.Contains("region-a streams from region-b", there.StandardOutput, StringComparison.Ordinal);
        await Wait.UntilAsync(
            async _ => await Sql.ScalarAsync<bool>(b, "SELECT EXISTS (SELECT 1 FROM pg_stat_replication WHERE application_name = 'region-a' AND state = 'streaming')"),
            TimeSpan.FromSeconds(60), "region-a to stream from region-b", CancellationToken.None);
        var environment = await File.ReadAllTextAsync($"/proc/{PostmasterPid(sb.Sandbox.Node("region-a").DataDirectory)}/environ");
        Assert.DoesNotContain("PGPASSWORD=", environment, StringComparison.Ordinal);
        Assert.DoesNotContain("PGUSER=", environment, StringComparison.Ordinal);

        var back = await PgDrProcess.RunAsync(admin, "failover", a.Name, "--old-primary", b.Name, "--config", sb.Sandbox.ConfigPath);

        Assert.True(back.ExitCode == 0, back.StandardOutput + back.StandardError);
        Assert.True(await FailoverSandbox.IsPrimaryAsync(a));
    }

    private static int PostmasterPid(string dataDirectory) =>
        int.Parse(File.ReadLines(Path.Combine(dataDirectory, "postmaster.pid")).First(), System.Globalization.CultureInfo.InvariantCulture);
}
