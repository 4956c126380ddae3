using System.Collections.Concurrent;
using PgDr.Connections;
using PgDr.Errors;
using PgDr.Failover;
using PgDr.Failover.Lease;
using PgDr.Failover.Rejoin;
using PgDr.Hosting;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Failover;

/// <summary>A partitioned primary, the lease during the failover, and bringing old primaries back (rewind or refusal).</summary>
public sealed class RejoinAndPartitionTests
{
    [Fact]
    public async Task Partitioned_primary_never_shares_the_lease_and_comes_back_through_rejoin_as_a_standby()
    {
        await using var sb = await FailoverSandbox.CreateAsync("fo-part", standbys: 1);
        var (a, b) = (sb["region-a"], sb["region-b"]);
        var clients = sb.Own(TcpProxy.Start("127.0.0.1", a.Port));
        var link = sb.Own(TcpProxy.Start("127.0.0.1", a.Port));
        await sb.StreamThroughAsync("region-b", link.Port);
        var aThroughNetwork = ClusterNodes.WithCredentialsOf(a, $"127.0.0.1:{clients.Port}");
        var identity = await PgDr.Topology.NodeInspector.GetNodeAsync(a, CancellationToken.None);
        await sb.Lease.TakeAsync(null, new LeaseClaim("region-a", aThroughNetwork.Name, identity.SystemIdentifier, 1, "initial"), null, CancellationToken.None);

        // Watch the lease the whole time: every generation must name one holder, and generations never go back.
        var seen = new ConcurrentQueue<(long Generation, string Holder)>();
        using var watching = new CancellationTokenSource();
        var watcher = Task.Run(async () =>
        {
            while (!watching.IsCancellationRequested)
            {
                if (await sb.Lease.ReadAsync(CancellationToken.None) is { } lease)
                {
                    seen.Enqueue((lease.Generation, lease.Holder));
                }

                await Task.Delay(10);
            }
        });

        clients.Partition();
        link.Partition();
        var result = await FailoverService.RunAsync(new FailoverRequest { Target = b, OldPrimary = aThroughNetwork, Lease = sb.Lease, Force = true }, null, CancellationToken.None);
        watching.Cancel();
        await watcher;

        Assert.False(result.OldPrimaryFenced);
        Assert.Contains("cannot be reached", result.FenceDetail, StringComparison.Ordinal);
        Assert.Equal(2, result.LeaseGeneration);
        var observed = seen.ToArray();
        Assert.All(observed.GroupBy(o => o.Generation), g => Assert.Single(g.Select(o => o.Holder).Distinct()));
        Assert.True(observed.Zip(observed.Skip(1)).All(p => p.Second.Generation >= p.First.Generation));
        Assert.Equal((2L, "region-b"), observed[^1]);

        // Healed, the old primary still runs writable: nothing but its agent (issue 13) or a rejoin stops it. Rejoin does.
        clients.Heal();
        link.Heal();
        Assert.True(await FailoverSandbox.IsPrimaryAsync(a));
        var rejoined = await RejoinService.RunAsync(new RejoinRequest { DataDirectory = sb.Sandbox.Node("region-a").DataDirectory, NewPrimary = b, Lease = sb.Lease }, null, CancellationToken.None);

        Assert.True(rejoined.Streaming);
        Assert.False(await FailoverSandbox.IsPrimaryAsync(a));
        var refused = await Assert.ThrowsAsync<PgDrException>(() => Sql.ExecuteAsync(a, "CREATE TABLE written_on_the_old_primary (x int)"));
        Assert.Equal(ErrorIds.QueryFailed, refused.ErrorId);
    }

    [Fact]
    public async Task Rejoin_of_a_node_with_commits_the_new_primary_lacks_is_refused_unchanged_and_forced_rewinds_it()
    {
        await using var sb = await FailoverSandbox.CreateAsync("fo-rejoin", standbys: 1);
        var (a, b) = (sb["region-a"], sb["region-b"]);
        var link = sb.Own(TcpProxy.Start("127.0.0.1", a.Port));
        await sb.StreamThroughAsync("region-b", link.Port);
        await Sql.ExecuteAsync(a, "CREATE TABLE kept (id int)");
        await FailoverSandbox.WaitForTableAsync(b, "kept");

        // A commits what B never receives, then region A is lost.
        link.Partition();
        await Sql.ExecuteAsync(a, "CREATE TABLE only_on_a (id int); INSERT INTO only_on_a VALUES (1), (2)");
        await sb.Sandbox.StopNodeAsync("region-a", StopMode.Immediate, CancellationToken.None);
        await FailoverService.RunAsync(new FailoverRequest { Target = b, OldPrimary = a, Lease = sb.Lease, Force = true }, null, CancellationToken.None);
        var dataDirectory = sb.Sandbox.Node("region-a").DataDirectory;
        var before = Snapshot(dataDirectory);

        var refused = await Assert.ThrowsAsync<PgDrInvalidOperationException>(() =>
            RejoinService.RunAsync(new RejoinRequest { DataDirectory = dataDirectory, NewPrimary = b, Lease = sb.Lease }, null, CancellationToken.None));
        Assert.Equal(ErrorIds.RejoinWouldDiscardData, refused.ErrorId);
        Assert.Equal(before, Snapshot(dataDirectory));
        Assert.False(await sb.Sandbox.Cluster("region-a").IsRunningAsync(CancellationToken.None));

        var rejoined = await RejoinService.RunAsync(new RejoinRequest { DataDirectory = dataDirectory, NewPrimary = b, Lease = sb.Lease, AllowDataLoss = true }, null, CancellationToken.None);

        Assert.Equal(RejoinMethod.Rewind, rejoined.Method);
        Assert.True(rejoined.DiscardedTransactions >= 1);
        Assert.True(rejoined.Streaming);
        Assert.False(await FailoverSandbox.IsPrimaryAsync(a));
        Assert.False(await Sql.ScalarAsync<bool>(a, "SELECT to_regclass('only_on_a') IS NOT NULL"));
    }

    [Fact]
    public async Task Rejoin_of_a_node_whose_WAL_is_gone_needs_Force_and_is_then_built_again_by_base_backup()
    {
        await using var sb = await FailoverSandbox.CreateAsync("fo-rebuild", standbys: 1);
        var (a, b) = (sb["region-a"], sb["region-b"]);
        await FailoverService.RunAsync(new FailoverRequest { Target = b, OldPrimary = a, Lease = sb.Lease }, null, CancellationToken.None);
        var dataDirectory = sb.Sandbox.Node("region-a").DataDirectory;
        foreach (var segment in Directory.GetFiles(Path.Combine(dataDirectory, "pg_wal")).Where(f => Path.GetFileName(f).Length == 24))
        {
            File.Delete(segment);
        }

        var refused = await Assert.ThrowsAsync<PgDrInvalidOperationException>(() =>
            RejoinService.RunAsync(new RejoinRequest { DataDirectory = dataDirectory, NewPrimary = b, Lease = sb.Lease }, null, CancellationToken.None));
        var rebuilt = await RejoinService.RunAsync(new RejoinRequest { DataDirectory = dataDirectory, NewPrimary = b, Lease = sb.Lease, AllowDataLoss = true }, null, CancellationToken.None);

        Assert.Equal(ErrorIds.RejoinNeedsBaseBackup, refused.ErrorId);
        Assert.Equal(RejoinMethod.BaseBackup, rebuilt.Method);
        Assert.True(rebuilt.Streaming);
        Assert.False(await FailoverSandbox.IsPrimaryAsync(a));
    }

    [Fact]
    public async Task Rejoin_of_the_lease_holder_is_refused()
    {
        await using var sb = await FailoverSandbox.CreateAsync("fo-holder", standbys: 1);
        var a = sb["region-a"];
        var identity = await PgDr.Topology.NodeInspector.GetNodeAsync(a, CancellationToken.None);
        await sb.Lease.TakeAsync(null, new LeaseClaim("region-a", a.Name, identity.SystemIdentifier, 1, "initial"), null, CancellationToken.None);

        var refused = await Assert.ThrowsAsync<PgDrInvalidOperationException>(() =>
            RejoinService.RunAsync(new RejoinRequest { DataDirectory = sb.Sandbox.Node("region-a").DataDirectory, NewPrimary = sb["region-b"], Lease = sb.Lease }, null, CancellationToken.None));

        Assert.Equal(ErrorIds.RejoinNodeHoldsLease, refused.ErrorId);
        Assert.True(await FailoverSandbox.IsPrimaryAsync(a));
    }

    /// <summary>Every file's path, size and modification time: "nothing changed" made checkable.</summary>
    private static string Snapshot(string directory) => string.Join('\n', Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
        .Order(StringComparer.Ordinal)
        .Select(f => new FileInfo(f))
        .Select(f => $"{f.FullName} {f.Length} {f.LastWriteTimeUtc.Ticks}"));
}
