using PgDr.Hosting;
using PgDr.Replication;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Replication;

/// <summary>A standby that goes down: its slot turns inactive and retains WAL, and every view says so.</summary>
public sealed class StoppedStandbyTests(PrimaryAndStandbyFixture fixture) : IClassFixture<PrimaryAndStandbyFixture>
{
    private readonly PgDr.Hosting.Sandbox.PgSandbox _sandbox = fixture.Sandbox;

    [Fact]
    public async Task Stopped_standby_shows_as_disconnected_and_its_slot_inactive_with_growing_retained_WAL_until_it_returns()
    {
        var primary = _sandbox.Instance("region-a");
        await _sandbox.StopNodeAsync("region-b", StopMode.Fast, CancellationToken.None);
        try
        {
            await Wait.UntilAsync(async ct =>
                (await ReplicationSlotService.GetSlotsAsync(primary, ["region_b"], ct))[0].Active == false,
                TimeSpan.FromSeconds(30), "the slot to turn inactive", CancellationToken.None);
            var before = (await ReplicationSlotService.GetSlotsAsync(primary, ["region_b"], CancellationToken.None))[0];

            await Sql.MakeWalAsync(primary);
            await Sql.MakeWalAsync(primary);

            var health = (await ReplicationSlotService.TestSlotsAsync(primary, ["region_b"], 16L * 1024 * 1024, CancellationToken.None)).Single();
            Assert.False(health.Healthy);
            Assert.False(health.Active);
            // Two switches move the insert position to the start of the second segment after the one it was in: more
            // than one whole segment further, however far into its segment it was (it was 96 bytes in, once).
            Assert.True(health.RetainedBytes > before.RetainedBytes + 16L * 1024 * 1024,
                $"retained {health.RetainedBytes} bytes, before {before.RetainedBytes}: two segment switches should add more than 16 MiB");
            Assert.Contains(health.Reasons, r => r.StartsWith("inactive", StringComparison.Ordinal));
            Assert.Contains(health.Reasons, r => r.StartsWith("retains", StringComparison.Ordinal));
            Assert.Equal("reserved", health.WalStatus);

            var lag = (await ReplicationLagService.GetLagAsync(primary, new LagThresholds(), CancellationToken.None)).Single(l => l.SlotName == "region_b");
            Assert.Equal("disconnected", lag.State);
            Assert.False(lag.Healthy);
            Assert.Null(lag.TimeLag);
            Assert.Equal(health.RetainedBytes, lag.ByteLag, tolerance: 1024 * 1024);
        }
        finally
        {
            await _sandbox.StartNodeAsync("region-b", CancellationToken.None);
        }

        await Wait.UntilAsync(async ct =>
            (await ReplicationLagService.GetLagAsync(primary, new LagThresholds(), ct)).Any(l => l.StandbyName == "region-b" && l.State == "streaming" && l.ByteLag == 0),
            TimeSpan.FromSeconds(60), "region-b to stream and catch up again", CancellationToken.None);
        var healed = (await ReplicationSlotService.TestSlotsAsync(primary, ["region_b"], 16L * 1024 * 1024, CancellationToken.None)).Single();
        Assert.True(healed.Healthy, healed.ToString());
    }
}
