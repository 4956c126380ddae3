using PgDr.Errors;
using PgDr.Replication;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Replication;

[Collection(SharedTopology.Name)]
public sealed class ReplicationSlotTests(SharedTopologyFixture fixture)
{
    private readonly PgDr.Hosting.Sandbox.PgSandbox _sandbox = fixture.Sandbox;

    private PgDr.Connections.PgInstance Primary => _sandbox.Instance("region-a");

    [Fact]
    public async Task Created_slot_reserves_WAL_at_once_and_dropping_it_reports_what_it_retained()
    {
        var slot = await ReplicationSlotService.CreatePhysicalSlotAsync(Primary, "created_then_dropped", allowStandby: false, CancellationToken.None);
        Assert.Equal("physical", slot.SlotType);
        Assert.False(slot.Active);
        Assert.NotNull(slot.RestartLsn);

        await Sql.MakeWalAsync(Primary, "slot_probe");
        var retained = (await ReplicationSlotService.GetSlotsAsync(Primary, ["created_then_dropped"], CancellationToken.None))[0].RetainedBytes;
        Assert.True(retained > 0);

        var removal = await ReplicationSlotService.DropSlotAsync(Primary, "created_then_dropped", CancellationToken.None);

        Assert.True(removal.FreedBytes >= retained);
        var remaining = await ReplicationSlotService.GetSlotsAsync(Primary, ["created_*"], CancellationToken.None);
        Assert.Empty(remaining);
    }

    [Fact]
    public async Task Creating_a_slot_that_exists_fails_with_ReplicationSlotExists_and_leaves_it_alone()
    {
        var before = (await ReplicationSlotService.GetSlotsAsync(Primary, ["region_b"], CancellationToken.None))[0];

        var ex = await Assert.ThrowsAsync<PgDrException>(() => ReplicationSlotService.CreatePhysicalSlotAsync(Primary, "region_b", false, CancellationToken.None));

        Assert.Equal(ErrorIds.ReplicationSlotExists, ex.ErrorId);
        var after = (await ReplicationSlotService.GetSlotsAsync(Primary, ["region_b"], CancellationToken.None))[0];
        Assert.True(after.Active);
        Assert.True(after.RestartLsn >= before.RestartLsn);
    }

    [Fact]
    public async Task Creating_a_slot_on_a_standby_is_refused_with_NodeIsStandby_unless_allowed()
    {
        var standby = _sandbox.Instance("region-c");

        var ex = await Assert.ThrowsAsync<PgDrInvalidOperationException>(() => ReplicationSlotService.CreatePhysicalSlotAsync(standby, "on_standby", false, CancellationToken.None));
        Assert.Equal(ErrorIds.NodeIsStandby, ex.ErrorId);
        Assert.Empty(await ReplicationSlotService.GetSlotsAsync(standby, ["on_standby*"], CancellationToken.None));

        var allowed = await ReplicationSlotService.CreatePhysicalSlotAsync(standby, "on_standby_allowed", true, CancellationToken.None);
        Assert.Equal("on_standby_allowed", allowed.SlotName);
        await ReplicationSlotService.DropSlotAsync(standby, "on_standby_allowed", CancellationToken.None);
    }

    [Fact]
    public async Task Unknown_slot_fails_with_ReplicationSlotNotFound_for_get_and_drop()
    {
        var get = await Assert.ThrowsAsync<PgDrNotFoundException>(() => ReplicationSlotService.GetSlotsAsync(Primary, ["no_such_slot"], CancellationToken.None));
        var drop = await Assert.ThrowsAsync<PgDrNotFoundException>(() => ReplicationSlotService.DropSlotAsync(Primary, "no_such_slot", CancellationToken.None));

        Assert.Equal(ErrorIds.ReplicationSlotNotFound, get.ErrorId);
        Assert.Equal(ErrorIds.ReplicationSlotNotFound, drop.ErrorId);
    }

    [Fact]
    public async Task Dropping_a_slot_a_standby_streams_through_is_refused_with_ReplicationSlotActive()
    {
        var ex = await Assert.ThrowsAsync<PgDrException>(() => ReplicationSlotService.DropSlotAsync(Primary, "region_c", CancellationToken.None));

        Assert.Equal(ErrorIds.ReplicationSlotActive, ex.ErrorId);
        Assert.True((await ReplicationSlotService.GetSlotsAsync(Primary, ["region_c"], CancellationToken.None))[0].Active);
    }

    [Theory]
    [InlineData("Upper")]
    [InlineData("with-dash")]
    [InlineData("x; DROP TABLE t")]
    [InlineData("")]
    public async Task Invalid_slot_names_are_refused_before_any_SQL(string name)
    {
        // An unreachable instance proves no connection was attempted: the name check comes first.
        var nowhere = new PgDr.Connections.PgInstance("127.0.0.1", Ports.Closed());

        var ex = await Assert.ThrowsAsync<PgDrArgumentException>(() => ReplicationSlotService.CreatePhysicalSlotAsync(nowhere, name, false, CancellationToken.None));

        Assert.Equal(ErrorIds.InvalidSlotName, ex.ErrorId);
    }

    [Fact]
    public async Task Healthy_topology_reports_every_standby_slot_healthy_and_wildcards_filter()
    {
        var results = await ReplicationSlotService.TestSlotsAsync(Primary, ["region_?"], maxRetainedBytes: 1L << 30, CancellationToken.None);

        Assert.Equal(["region_b", "region_c"], results.Select(r => r.SlotName).Order().ToArray());
        Assert.All(results, r => Assert.True(r.Healthy, r.ToString()));
    }

    [Fact]
    public async Task Cascading_standby_is_visible_from_its_upstream_standby_with_its_slot()
    {
        var upstream = _sandbox.Instance("region-b");

        var lags = await ReplicationLagService.GetLagAsync(upstream, new LagThresholds(), CancellationToken.None);

        Assert.Contains(lags, l => l.Source == LagSource.Standby && l.StandbyName == "region-b" && l.State == "streaming");
        var cascade = Assert.Single(lags, l => l.Source == LagSource.Sender);
        Assert.Equal("region-b2", cascade.StandbyName);
        Assert.Equal("region_b2", cascade.SlotName);
        Assert.Equal("streaming", cascade.State);
    }
}
