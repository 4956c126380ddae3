using PgDr.Hosting;
using PgDr.Replication;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Replication;

/// <summary>Lag measured on a real primary/standby pair; replay is paused on the standby to make lag certain.</summary>
public sealed class ReplicationLagTests(PrimaryAndStandbyFixture fixture) : IClassFixture<PrimaryAndStandbyFixture>
{
    private readonly PgDr.Hosting.Sandbox.PgSandbox _sandbox = fixture.Sandbox;

    [Fact]
    public async Task Lag_while_replay_is_behind_is_positive_in_bytes_and_time_and_unhealthy_beyond_the_limits_then_zero_once_caught_up()
    {
        var primary = _sandbox.Instance("region-a");
        var standby = _sandbox.Instance("region-b");
        await Sql.ExecuteAsync(standby, "SELECT pg_wal_replay_pause()");
        try
        {
            await Sql.MakeWalAsync(primary, "lag_paused");
            await Sql.ExecuteAsync(primary, "INSERT INTO lag_paused (payload) VALUES ('after switch')");

            // The standby receives (so flush catches up) but does not replay: byte lag must show, and so must time lag.
            PgReplicationLag behind = null!;
            await Wait.UntilAsync(async ct =>
            {
                behind = (await ReplicationLagService.GetLagAsync(primary, new LagThresholds(TimeSpan.Zero, 0), ct)).Single(l => l.StandbyName == "region-b");
                return behind.ByteLag > 0 && behind.TimeLag > TimeSpan.Zero;
            }, TimeSpan.FromSeconds(30), "measured lag on the paused standby", CancellationToken.None);

            Assert.Equal("streaming", behind.State);
            Assert.Equal("region_b", behind.SlotName);
            Assert.False(behind.Healthy);
            Assert.Equal(2, behind.Reasons.Count);
            Assert.True(behind.FlushLsn > behind.ReplayLsn);

            var ownView = (await ReplicationLagService.GetLagAsync(standby, new LagThresholds(), CancellationToken.None)).Single(l => l.Source == LagSource.Standby);
            Assert.True(ownView.ByteLag > 0);
            Assert.True(ownView.TimeLag > TimeSpan.Zero);
            Assert.Contains(ownView.Reasons, r => r.Contains("paused", StringComparison.Ordinal));
        }
        finally
        {
            await Sql.ExecuteAsync(standby, "SELECT pg_wal_replay_resume()");
        }

        PgReplicationLag caughtUp = null!;
        await Wait.UntilAsync(async ct =>
        {
            caughtUp = (await ReplicationLagService.GetLagAsync(primary, new LagThresholds(TimeSpan.FromSeconds(5), 0), ct)).Single(l => l.StandbyName == "region-b");
            return caughtUp.ByteLag == 0;
        }, TimeSpan.FromSeconds(30), "the standby to catch up", CancellationToken.None);

        Assert.Equal(TimeSpan.Zero, caughtUp.TimeLag);
        Assert.True(caughtUp.Healthy, string.Join("; ", caughtUp.Reasons));
    }

    [Fact]
    public async Task Time_lag_on_an_idle_primary_is_zero_not_null_even_when_PostgreSQL_reports_no_replay_lag()
    {
        var primary = _sandbox.Instance("region-a");
        var standby = _sandbox.Instance("region-b");
        await Sql.ExecuteAsync(primary, "CREATE TABLE IF NOT EXISTS idle_probe (id int); INSERT INTO idle_probe VALUES (1)");

        // Once the standby has replayed everything and the primary stays idle, PostgreSQL clears replay_lag to NULL:
        // exactly the moment a naive lag reading turns NULL (or, computed from timestamps, grows without bound).
        PgReplicationLag idle = null!;
        await Wait.UntilAsync(async ct =>
        {
            idle = (await ReplicationLagService.GetLagAsync(primary, new LagThresholds(), ct)).Single(l => l.StandbyName == "region-b");
            return idle.ByteLag == 0 && idle.ReplayLag is null;
        }, TimeSpan.FromSeconds(60), "PostgreSQL to clear replay_lag on the idle primary", CancellationToken.None);

        Assert.Equal(TimeSpan.Zero, idle.TimeLag);

        // On the standby, now() - pg_last_xact_replay_timestamp() keeps growing while the primary is idle; wait until it
        // is well past the limit, then the standby's own view must still say 0 and healthy.
        PgReplicationLag ownView = null!;
        await Wait.UntilAsync(async ct =>
        {
            ownView = (await ReplicationLagService.GetLagAsync(standby, new LagThresholds(MaxLag: TimeSpan.FromMilliseconds(100)), ct)).Single(l => l.Source == LagSource.Standby);
            return ownView.LastReplayedTransactionTime is { } t && ownView.ObservedAt - t > TimeSpan.FromSeconds(1);
        }, TimeSpan.FromSeconds(30), "the last replayed commit to age past the limit", CancellationToken.None);

        Assert.Equal(0, ownView.ByteLag);
        Assert.Equal(TimeSpan.Zero, ownView.TimeLag);
        Assert.True(ownView.Healthy, string.Join("; ", ownView.Reasons));
    }

    [Fact]
    public async Task Negative_thresholds_are_refused_before_connecting()
    {
        var ex = await Assert.ThrowsAsync<PgDr.Errors.PgDrArgumentException>(() =>
            ReplicationLagService.GetLagAsync(_sandbox.Instance("region-a"), new LagThresholds(MaxLagBytes: -1), CancellationToken.None));

        Assert.Equal(PgDr.Errors.ErrorIds.InvalidThreshold, ex.ErrorId);
    }
}
