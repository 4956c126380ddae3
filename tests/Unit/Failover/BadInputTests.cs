using PgDr.Connections;
using PgDr.Errors;
using PgDr.Failover;
using PgDr.Failover.Switchover;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Failover;

/// <summary>Failovers and switchovers that must be refused before they change anything, on the shared topology.</summary>
[Collection(SharedTopology.Name)]
public sealed class BadInputTests(SharedTopologyFixture topology)
{
    private PgInstance A => topology.Sandbox.Instance("region-a");

    private PgInstance C => topology.Sandbox.Instance("region-c");

    [Fact]
    public async Task Failover_to_the_primary_itself_is_refused_with_NodeIsPrimary()
    {
        var ex = await Assert.ThrowsAsync<PgDrInvalidOperationException>(() =>
            FailoverService.RunAsync(new FailoverRequest { Target = A, Force = true }, null, CancellationToken.None));

        Assert.Equal(ErrorIds.NodeIsPrimary, ex.ErrorId);
        Assert.True(await FailoverSandbox.IsPrimaryAsync(A));
    }

    [Fact]
    public async Task Failover_to_an_unreachable_node_fails_with_HostUnreachable()
    {
        var ex = await Assert.ThrowsAsync<PgDrConnectionException>(() =>
            FailoverService.RunAsync(new FailoverRequest { Target = new PgInstance("127.0.0.1", Ports.Closed()), OldPrimary = A, Force = true }, null, CancellationToken.None));

        Assert.Equal(ErrorIds.HostUnreachable, ex.ErrorId);
        Assert.True(await FailoverSandbox.IsPrimaryAsync(A));
    }

    [Fact]
    public async Task Failover_to_a_node_of_another_cluster_is_refused_with_SystemIdentifierMismatch()
    {
        await using var other = await FailoverSandbox.CreateAsync("fo-other", standbys: 0);

        var ex = await Assert.ThrowsAsync<PgDrInvalidOperationException>(() =>
            FailoverService.RunAsync(new FailoverRequest { Target = C, OldPrimary = other["region-a"], Force = true }, null, CancellationToken.None));

        Assert.Equal(ErrorIds.SystemIdentifierMismatch, ex.ErrorId);
        Assert.False(await FailoverSandbox.IsPrimaryAsync(C));
        Assert.True(await FailoverSandbox.IsPrimaryAsync(other["region-a"]));
    }

    [Fact]
    public async Task Switchover_while_the_target_lags_beyond_the_limit_is_refused_with_SwitchoverTargetLagging()
    {
        await Sql.ExecuteAsync(C, "SELECT pg_wal_replay_pause()");
        try
        {
            await Sql.MakeWalAsync(A, "pgdr_switchover_lag");
            var ex = await Assert.ThrowsAsync<PgDrInvalidOperationException>(() =>
                SwitchoverService.RunAsync(new SwitchoverRequest { Target = C, MaxLagBytes = 1024 }, null, CancellationToken.None));

            Assert.Equal(ErrorIds.SwitchoverTargetLagging, ex.ErrorId);
            Assert.True(await FailoverSandbox.IsPrimaryAsync(A));
            Assert.False(await FailoverSandbox.IsPrimaryAsync(C));
        }
        finally
        {
            await Sql.ExecuteAsync(C, "SELECT pg_wal_replay_resume()");
        }
    }
}
