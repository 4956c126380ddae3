using System.Text.Json;
using PgDr.Diagnostics;
using PgDr.Hosting;
using PgDr.Replication;
using PgDr.Tests.Cli;
using PgDr.Tests.Fixtures;
using static PgDr.Tests.Diagnostics.ConfigurationCheckSupport;

namespace PgDr.Tests.Diagnostics;

/// <summary>
/// Test-PgDrConfiguration on a real primary and standby: a healthy pair has no failed check and clocks in sync, and each
/// fault caused for real (a standby stopped, trust and md5 in pg_hba.conf, synchronous_standby_names naming a standby that
/// is not there, a slot nobody uses) fails or warns on its stable check id. None of these faults writes a failure line in
/// the server logs, so the healthy test's log scan holds whatever order the tests run in (ConfigurationLogFaultTests has
/// the faults that do).
/// </summary>
public sealed class ConfigurationCheckTests(PrimaryAndStandbyFixture fixture) : IClassFixture<PrimaryAndStandbyFixture>
{
    private readonly PgDr.Hosting.Sandbox.PgSandbox _sandbox = fixture.Sandbox;

    [Fact]
    public async Task A_healthy_primary_and_standby_fail_no_check_and_their_clocks_read_in_sync()
    {
        var results = await CheckAsync(_sandbox, "region-a", "region-b");

        Assert.True(results.All(r => r.Verdict != PgDrCheckVerdict.Fail), Describe(results.Where(r => r.Verdict == PgDrCheckVerdict.Fail)));
        Assert.Equal(PgDrCheckVerdict.Pass, Single(results, "region-a", CheckIds.Connection).Verdict);
        Assert.Equal(PgDrCheckVerdict.Pass, Single(results, "region-a", CheckIds.WalLevel).Verdict);
        Assert.Equal(PgDrCheckVerdict.Pass, Single(results, "region-a", CheckIds.Streaming, "region-b").Verdict);
        Assert.Equal(PgDrCheckVerdict.Pass, Single(results, "region-a", CheckIds.ReplicationSlot, "region_b").Verdict);
        Assert.Equal(PgDrCheckVerdict.Pass, Single(results, "region-b", CheckIds.Streaming, "upstream").Verdict);
        Assert.Equal(PgDrCheckVerdict.Pass, Single(results, "region-b", CheckIds.PrimaryConnInfo).Verdict);
        Assert.Equal(PgDrCheckVerdict.Pass, Single(results, "region-a", CheckIds.HbaAuthentication).Verdict);
        Assert.Equal(PgDrCheckVerdict.Pass, Single(results, "region-a", CheckIds.LogScan).Verdict);
        Assert.Equal(PgDrCheckVerdict.Pass, Single(results, "region-b", CheckIds.LogScan).Verdict);
        Assert.Equal(PgDrCheckVerdict.Pass, Single(results, "region-a", CheckIds.DiskSpace, "pg_wal").Verdict);

        // An idle standby replays all it receives; on a kernel with pressure stall information the I/O it saw is shown.
        var replay = Single(results, "region-b", CheckIds.ReplayLag);
        Assert.Equal(PgDrCheckVerdict.Pass, replay.Verdict);
        Assert.Equal(IoPressure.ReadThisHost() is not null, replay.Evidence.Contains("I/O pressure", StringComparison.Ordinal));

        // Two processes on one machine share a clock: the sandbox must read as in sync.
        var clock = Single(results, "region-b", CheckIds.ClockSkew, "region-a");
        Assert.Equal(PgDrCheckVerdict.Pass, clock.Verdict);

        // The sandbox runs without TLS and with unlimited slot WAL: warnings, each with a fix, never failures.
        var tls = Single(results, "region-a", CheckIds.Tls);
        Assert.Equal(PgDrCheckVerdict.Warn, tls.Verdict);
        Assert.False(string.IsNullOrEmpty(tls.Fix));
    }

    [Fact]
    public async Task A_stopped_standby_fails_its_slot_on_the_primary_and_its_own_connection_check()
    {
        await _sandbox.StopNodeAsync("region-b", StopMode.Fast, CancellationToken.None);
        try
        {
            await Wait.UntilAsync(async ct => !(await ReplicationSlotService.GetSlotsAsync(_sandbox.Instance("region-a"), ["region_b"], ct))[0].Active,
                TimeSpan.FromSeconds(30), "the slot to turn inactive", CancellationToken.None);

            var results = await CheckAsync(_sandbox, "region-a", "region-b");

            var slot = Single(results, "region-a", CheckIds.ReplicationSlot, "region_b");
            Assert.Equal(PgDrCheckVerdict.Fail, slot.Verdict);
            Assert.Contains("inactive", slot.Evidence, StringComparison.Ordinal);
            var connection = results.Single(r => r.CheckId == CheckIds.Connection && r.Instance.Port == _sandbox.Instance("region-b").Port);
            Assert.Equal(PgDrCheckVerdict.Fail, connection.Verdict);
            Assert.Contains("[HostUnreachable]", connection.Evidence, StringComparison.Ordinal);
        }
        finally
        {
            await _sandbox.StartNodeAsync("region-b", CancellationToken.None);
            await WaitForStreamingAsync(_sandbox, "region-b");
        }
    }

    [Fact]
    public async Task Trust_and_md5_in_pg_hba_conf_fail_and_replication_open_to_every_address_warns()
    {
        var primary = _sandbox.Instance("region-a");
        var hba = Path.Combine(_sandbox.Node("region-a").DataDirectory, "pg_hba.conf");
        var original = await File.ReadAllTextAsync(hba);
        try
        {
            // Appended: the sandbox's own scram-sha-256 rules come first, so nothing here ever admits a connection.
            await File.AppendAllTextAsync(hba, "host all legacy 10.1.0.0/16 md5\nhost replication all 0.0.0.0/0 trust\n");
            await Sql.ExecuteAsync(primary, "SELECT pg_reload_conf()");
            await Wait.UntilAsync(async _ => await Sql.ScalarAsync<long>(primary, "SELECT count(*) FROM pg_hba_file_rules WHERE auth_method = 'trust'") == 1,
                TimeSpan.FromSeconds(15), "pg_hba.conf to reload", CancellationToken.None);

            var results = await CheckAsync(_sandbox, new ConfigurationCheckOptions { ScanLog = false }, "region-a");

            var authentication = Single(results, "region-a", CheckIds.HbaAuthentication);
            Assert.Equal(PgDrCheckVerdict.Fail, authentication.Verdict);
            Assert.Contains("trust", authentication.Evidence, StringComparison.Ordinal);
            var replication = Single(results, "region-a", CheckIds.HbaReplication);
            Assert.Equal(PgDrCheckVerdict.Warn, replication.Verdict);
            Assert.Contains("0.0.0.0", replication.Evidence, StringComparison.Ordinal);

            // md5 alone is a warning: weaker than SCRAM, not open.
            await File.WriteAllTextAsync(hba, original + "host all legacy 10.1.0.0/16 md5\n");
            await Sql.ExecuteAsync(primary, "SELECT pg_reload_conf()");
            await Wait.UntilAsync(async _ => await Sql.ScalarAsync<long>(primary, "SELECT count(*) FROM pg_hba_file_rules WHERE auth_method = 'trust'") == 0,
                TimeSpan.FromSeconds(15), "pg_hba.conf to reload", CancellationToken.None);
            var md5 = Single(await CheckAsync(_sandbox, new ConfigurationCheckOptions { ScanLog = false }, "region-a"), "region-a", CheckIds.HbaAuthentication);
            Assert.Equal(PgDrCheckVerdict.Warn, md5.Verdict);
            Assert.Contains("md5", md5.Evidence, StringComparison.Ordinal);
        }
        finally
        {
            await File.WriteAllTextAsync(hba, original);
            await Sql.ExecuteAsync(primary, "SELECT pg_reload_conf()");
        }
    }

    [Fact]
    public async Task Synchronous_standby_names_naming_a_missing_standby_fails_and_a_quorum_that_still_holds_warns()
    {
        var primary = _sandbox.Instance("region-a");
        try
        {
            await SetSynchronousStandbyNamesAsync(primary, "FIRST 1 (region_x)");
            var missing = Single(await CheckAsync(_sandbox, new ConfigurationCheckOptions { ScanLog = false }, "region-a"), "region-a", CheckIds.SynchronousStandbys);
            Assert.Equal(PgDrCheckVerdict.Fail, missing.Verdict);
            Assert.Contains("region_x", missing.Evidence, StringComparison.Ordinal);

            await SetSynchronousStandbyNamesAsync(primary, "ANY 1 (\"region-b\", region_x)");
            var quorum = Single(await CheckAsync(_sandbox, new ConfigurationCheckOptions { ScanLog = false }, "region-a"), "region-a", CheckIds.SynchronousStandbys);
            Assert.Equal(PgDrCheckVerdict.Warn, quorum.Verdict);

            await SetSynchronousStandbyNamesAsync(primary, "\"region-b\"");
            Assert.Equal(PgDrCheckVerdict.Pass, Single(await CheckAsync(_sandbox, new ConfigurationCheckOptions { ScanLog = false }, "region-a"), "region-a", CheckIds.SynchronousStandbys).Verdict);
        }
        finally
        {
            // Releases any commit that waited meanwhile.
            await SetSynchronousStandbyNamesAsync(primary, string.Empty);
        }
    }

    [Fact]
    public async Task Pgdr_check_exits_0_on_the_healthy_sandbox_1_with_an_unused_slot_and_2_without_a_node()
    {
        var environment = new Dictionary<string, string?> { ["PGDR_SANDBOX"] = _sandbox.Directory, ["PGPASSWORD"] = null };
        var healthy = await PgDrProcess.RunAsync(environment, "check", "--sandbox", "--skip-log");
        Assert.True(healthy.ExitCode == 0, healthy.StandardOutput + healthy.StandardError);
        Assert.Contains("0 failed", healthy.StandardOutput, StringComparison.Ordinal);

        var primary = _sandbox.Instance("region-a");
        await ReplicationSlotService.CreatePhysicalSlotAsync(primary, "forgotten", allowStandby: false, CancellationToken.None);
        try
        {
            var faulty = await PgDrProcess.RunAsync(environment, "check", "--sandbox", "--skip-log", "--json");
            Assert.True(faulty.ExitCode == 1, faulty.StandardOutput + faulty.StandardError);
            using var json = JsonDocument.Parse(faulty.StandardOutput);
            var slot = json.RootElement.EnumerateArray().Single(e => e.GetProperty("checkId").GetString() == CheckIds.ReplicationSlot && e.GetProperty("subject").GetString() == "forgotten");
            Assert.Equal("Fail", slot.GetProperty("verdict").GetString());
        }
        finally
        {
            await ReplicationSlotService.DropSlotAsync(primary, "forgotten", CancellationToken.None);
        }

        var none = await PgDrProcess.RunAsync(environment, "check");
        Assert.Equal(2, none.ExitCode);
        Assert.EndsWith("[InvalidInstance]", none.StandardError.Trim(), StringComparison.Ordinal);
    }

    private static async Task SetSynchronousStandbyNamesAsync(PgDr.Connections.PgInstance primary, string value)
    {
        await Sql.ExecuteAsync(primary, $"ALTER SYSTEM SET synchronous_standby_names = '{value.Replace("'", "''", StringComparison.Ordinal)}'");
        await Sql.ExecuteAsync(primary, "SELECT pg_reload_conf()");
        await Wait.UntilAsync(async _ => await Sql.ScalarAsync<string>(primary, "SHOW synchronous_standby_names") == value,
            TimeSpan.FromSeconds(15), "synchronous_standby_names to reload", CancellationToken.None);
    }
}
