using PgDr.Connections;
using PgDr.Errors;
using PgDr.Hosting;
using PgDr.Hosting.Sandbox;
using PgDr.Replication;
using PgDr.Replication.Synchronous;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Replication;

/// <summary>How synchronous_standby_names is written, without a server.</summary>
public sealed class SynchronousStandbyNamesTests
{
    [Theory]
    [InlineData(SynchronousMethod.First, 1, new[] { "region_b" }, "FIRST 1 (region_b)")]
    [InlineData(SynchronousMethod.Any, 2, new[] { "region-b", "region-c", "Dr$1" }, "ANY 2 (\"region-b\", \"region-c\", Dr$1)")]
    [InlineData(SynchronousMethod.First, 1, new[] { "first", "any" }, "FIRST 1 (\"first\", \"any\")")]
    [InlineData(SynchronousMethod.First, 1, new[] { "say \"hi\"", "1st" }, "FIRST 1 (\"say \"\"hi\"\"\", \"1st\")")]
    [InlineData(SynchronousMethod.Any, 1, new[] { "*" }, "ANY 1 (*)")]
    public void Names_are_quoted_where_PostgreSQLs_parser_needs_it(SynchronousMethod method, int numSync, string[] names, string expected)
    {
        Assert.Equal(expected, SynchronousStandbyNames.Format(method, numSync, names));
    }

    [Theory]
    [InlineData(0, new[] { "a" })]
    [InlineData(2, new[] { "a" })]
    [InlineData(1, new string[0])]
    [InlineData(1, new[] { "a", "A" })]
    [InlineData(1, new[] { "" })]
    public void Settings_a_commit_could_never_satisfy_are_refused(int numSync, string[] names)
    {
        var ex = Assert.Throws<PgDrArgumentException>(() => SynchronousStandbyNames.Format(SynchronousMethod.First, numSync, names));

        Assert.Equal(ErrorIds.InvalidSynchronousReplication, ex.ErrorId);
    }
}

/// <summary>Set-PgSynchronousReplication's engine on a primary with one standby (region-b), which some tests stop.</summary>
public sealed class SynchronousReplicationTests(PrimaryAndStandbyFixture fixture) : IClassFixture<PrimaryAndStandbyFixture>
{
    private static readonly SynchronousReplicationRequest RegionB = new() { StandbyNames = ["region-b"], SynchronousCommit = "on" };

    private readonly PgSandbox _sandbox = fixture.Sandbox;

    private PgInstance Primary => _sandbox.Instance("region-a");

    private PgInstance Standby => _sandbox.Instance("region-b");

    [Fact]
    public async Task With_remote_apply_a_committed_row_is_visible_on_the_standby_when_commit_returns()
    {
        await Sql.ExecuteAsync(Primary, "CREATE TABLE IF NOT EXISTS sync_apply (id int PRIMARY KEY)");
        try
        {
            var applied = await SynchronousReplicationService.SetAsync(Primary, RegionB with { SynchronousCommit = "remote_apply" }, apply: true, CancellationToken.None);
            Assert.Equal("FIRST 1 (\"region-b\")", applied.Settings[0].NewValue);
            Assert.Equal("remote_apply", await Sql.ScalarAsync<string>(Primary, "SHOW synchronous_commit"));
            Assert.Equal("sync", await Sql.ScalarAsync<string>(Primary, "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'region-b'"));

            for (var id = 1; id <= 20; id++)
            {
                await Sql.ExecuteAsync(Primary, $"INSERT INTO sync_apply VALUES ({id})");
                Assert.Equal(id, await Sql.ScalarAsync<long>(Standby, "SELECT count(*) FROM sync_apply"));
            }
        }
        finally
        {
            await TurnOffAsync();
        }
    }

    [Fact]
    public async Task WhatIf_shows_old_to_new_exactly_and_changes_nothing()
    {
        var before = await Sql.ScalarAsync<string>(Primary, "SHOW synchronous_standby_names");

        var plan = await SynchronousReplicationService.SetAsync(Primary, RegionB with { SynchronousCommit = "remote_apply" }, apply: false, CancellationToken.None);

        Assert.False(plan.Applied);
        Assert.Equal("synchronous_standby_names: '' -> FIRST 1 (\"region-b\")", plan.Settings[0].ToString());
        Assert.Equal("synchronous_commit: on -> remote_apply", plan.Settings[1].ToString());
        Assert.Equal(["region-b"], plan.ConnectedStandbys);
        Assert.Equal(before, await Sql.ScalarAsync<string>(Primary, "SHOW synchronous_standby_names"));
        Assert.Equal("on", await Sql.ScalarAsync<string>(Primary, "SHOW synchronous_commit"));
    }

    [Fact]
    public async Task A_standby_name_that_is_not_connected_is_refused_and_nothing_changes()
    {
        var ex = await Assert.ThrowsAsync<PgDrInvalidOperationException>(() =>
            SynchronousReplicationService.SetAsync(Primary, RegionB with { StandbyNames = ["region-bb"] }, apply: true, CancellationToken.None));

        Assert.Equal(ErrorIds.SynchronousStandbyNotConnected, ex.ErrorId);
        Assert.Contains("region-bb", ex.Message, StringComparison.Ordinal);
        Assert.Equal(string.Empty, await Sql.ScalarAsync<string>(Primary, "SHOW synchronous_standby_names"));
    }

    [Fact]
    public async Task A_standby_is_refused_as_the_node_to_set()
    {
        var ex = await Assert.ThrowsAsync<PgDrInvalidOperationException>(() => SynchronousReplicationService.SetAsync(Standby, RegionB, apply: false, CancellationToken.None));

        Assert.Equal(ErrorIds.NodeIsStandby, ex.ErrorId);
    }

    [Fact]
    public async Task With_the_standby_stopped_a_commit_waits_until_cancelled_and_turning_it_off_releases_the_next()
    {
        await Sql.ExecuteAsync(Primary, "CREATE TABLE IF NOT EXISTS sync_wait (id int PRIMARY KEY)");
        await _sandbox.StopNodeAsync("region-b", StopMode.Fast, CancellationToken.None);
        try
        {
            // Naming a standby that is not there is refused; -Force names it anyway, and commits wait for it.
            var refused = await Assert.ThrowsAsync<PgDrInvalidOperationException>(() => SynchronousReplicationService.SetAsync(Primary, RegionB, apply: true, CancellationToken.None));
            Assert.Equal(ErrorIds.SynchronousStandbyNotConnected, refused.ErrorId);
            var forced = await SynchronousReplicationService.SetAsync(Primary, RegionB with { Force = true }, apply: true, CancellationToken.None);
            Assert.Equal(["region-b"], forced.MissingStandbys);

            var cancelled = Task.Run(() => Sql.ExecuteAsync(Primary, "INSERT INTO sync_wait VALUES (1)"));
            var pid = await WaitingCommitAsync("INSERT INTO sync_wait VALUES (1)");
            Assert.False(cancelled.IsCompleted);
            await Sql.ExecuteAsync(Primary, $"SELECT pg_cancel_backend({pid})");
            await cancelled.WaitAsync(TimeSpan.FromSeconds(30));

            // Cancelling the wait does not undo the commit: it is local, not on the standby (what RPO 0 can't promise then).
            Assert.Equal(1, await Sql.ScalarAsync<long>(Primary, "SELECT count(*) FROM sync_wait"));

            var released = Task.Run(() => Sql.ExecuteAsync(Primary, "INSERT INTO sync_wait VALUES (2)"));
            await WaitingCommitAsync("INSERT INTO sync_wait VALUES (2)");
            Assert.False(released.IsCompleted);
            var off = await SynchronousReplicationService.SetAsync(Primary, new SynchronousReplicationRequest { Disable = true }, apply: true, CancellationToken.None);
            await released.WaitAsync(TimeSpan.FromSeconds(30));

            Assert.Equal("synchronous_standby_names: FIRST 1 (\"region-b\") -> ''", off.Settings[0].ToString());
            Assert.Equal(2, await Sql.ScalarAsync<long>(Primary, "SELECT count(*) FROM sync_wait"));
        }
        finally
        {
            await TurnOffAsync();
            await _sandbox.StartNodeAsync("region-b", CancellationToken.None);
            await Wait.UntilAsync(
                async ct => (await ReplicationLagService.GetLagAsync(Primary, new LagThresholds(), ct)).Any(l => l.StandbyName == "region-b" && l.State == "streaming"),
                TimeSpan.FromSeconds(60), "region-b to stream again", CancellationToken.None);
        }
    }

    /// <summary>The pid of the backend whose commit waits for a synchronous standby.</summary>
    private async Task<int> WaitingCommitAsync(string query)
    {
        var pid = 0;
        await Wait.UntilAsync(
            async _ => (pid = await Sql.ScalarAsync<int?>(Primary, $"SELECT pid FROM pg_stat_activity WHERE wait_event = 'SyncRep' AND query = '{query}'") ?? 0) != 0,
            TimeSpan.FromSeconds(30), "the commit to wait for the standby", CancellationToken.None);
        return pid;
    }

    private Task<PgSynchronousReplicationChange> TurnOffAsync() =>
        SynchronousReplicationService.SetAsync(Primary, new SynchronousReplicationRequest { Disable = true, SynchronousCommit = "on" }, apply: true, CancellationToken.None);
}
