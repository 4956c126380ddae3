using PgDr.Errors;
using PgDr.Tests.Fixtures;
using PgDr.Topology;

namespace PgDr.Tests.Topology;

[Collection(SharedTopology.Name)]
public sealed class NodeInspectorTests(SharedTopologyFixture fixture)
{
    private readonly PgDr.Hosting.Sandbox.PgSandbox _sandbox = fixture.Sandbox;

    [Fact]
    public async Task Primary_reports_its_role_identity_timeline_and_current_position()
    {
        var node = await NodeInspector.GetNodeAsync(_sandbox.Instance("region-a"), CancellationToken.None);

        Assert.Equal(PgNodeRole.Primary, node.Role);
        Assert.False(node.InRecovery);
        Assert.Equal("region-a", node.ClusterName);
        Assert.Equal(1u, node.Timeline);
        Assert.NotEqual(0ul, node.SystemIdentifier);
        Assert.NotNull(node.CurrentLsn);
        Assert.Null(node.ReplayLsn);
        Assert.Null(node.Upstream);
        Assert.Equal(_sandbox.PgMajorVersion, node.ServerVersionNumber / 10000);
    }

    [Fact]
    public async Task Standby_reports_recovery_positions_and_its_upstream()
    {
        var primary = await NodeInspector.GetNodeAsync(_sandbox.Instance("region-a"), CancellationToken.None);
        var standby = await NodeInspector.GetNodeAsync(_sandbox.Instance("region-b"), CancellationToken.None);

        Assert.Equal(PgNodeRole.Standby, standby.Role);
        Assert.Equal(primary.SystemIdentifier, standby.SystemIdentifier);
        Assert.Equal(primary.Timeline, standby.Timeline);
        Assert.Null(standby.CurrentLsn);
        Assert.NotNull(standby.ReceiveLsn);
        Assert.NotNull(standby.ReplayLsn);
        Assert.Equal(_sandbox.Instance("region-a").Name, standby.Upstream);
        Assert.Equal("region_b", standby.UpstreamSlot);
        Assert.Equal("streaming", standby.ReceiverStatus);
    }

    [Fact]
    public async Task Cascading_standby_names_the_standby_it_streams_from_as_upstream()
    {
        var cascade = await NodeInspector.GetNodeAsync(_sandbox.Instance("region-b2"), CancellationToken.None);

        Assert.Equal(PgNodeRole.Standby, cascade.Role);
        Assert.Equal(_sandbox.Instance("region-b").Name, cascade.Upstream);
        Assert.Equal("region_b2", cascade.UpstreamSlot);
    }

    [Fact]
    public async Task Unreachable_host_fails_with_HostUnreachable()
    {
        var closedPort = PgDr.Tests.Fixtures.Ports.Closed();

        var ex = await Assert.ThrowsAsync<PgDrConnectionException>(() =>
            NodeInspector.GetNodeAsync(new PgDr.Connections.PgInstance("127.0.0.1", closedPort, username: "postgres", password: "x"), CancellationToken.None));

        Assert.Equal(ErrorIds.HostUnreachable, ex.ErrorId);
        Assert.Equal(PgDrErrorCategory.ConnectionError, ex.Category);
    }

    [Fact]
    public async Task Wrong_password_fails_with_AuthenticationFailed_and_the_message_holds_no_password()
    {
        const string wrong = "not-the-password-4711";
        var instance = _sandbox.Instance("region-a").WithCredential("postgres", wrong);

        var ex = await Assert.ThrowsAsync<PgDrConnectionException>(() => NodeInspector.GetNodeAsync(instance, CancellationToken.None));

        Assert.Equal(ErrorIds.AuthenticationFailed, ex.ErrorId);
        Assert.DoesNotContain(wrong, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, ex.ToString(), StringComparison.Ordinal);
    }
}
