using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;
using PgDr.Agent;
using PgDr.Agent.Events;
using PgDr.Archive.Repositories;
using PgDr.Connections;
using PgDr.Failover.Lease;
using PgDr.Failover.Rejoin;
using PgDr.Hosting;
using PgDr.Tests.Failover;
using PgDr.Tests.Fixtures;
using static PgDr.Tests.Agent.AgentTestSupport;

namespace PgDr.Tests.Agent;

/// <summary>
/// The primary cut off from everything: its replication links, the standbys' heartbeats and its own path to the lease
/// repository (an S3 repository on moto_server, reached through a proxy of its own). The repository must be an object
/// store here: a filesystem repository cannot be partitioned from one node only.
/// </summary>
public sealed class AgentPartitionTests(MotoFixture moto) : IClassFixture<MotoFixture>
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task A_partitioned_primary_fences_itself_before_its_TTL_ends_a_standby_takes_over_and_two_nodes_never_accept_writes()
    {
        await using var sb = await FailoverSandbox.CreateAsync("ag-part", standbys: 2);
        var (a, b, c) = (sb["region-a"], sb["region-b"], sb["region-c"]);
        var intoA = sb.Own(TcpProxy.Start("127.0.0.1", a.Port));
        var aToRepository = sb.Own(TcpProxy.Start("127.0.0.1", new Uri(moto.Endpoint).Port));
        await sb.StreamThroughAsync("region-b", intoA.Port);
        await sb.StreamThroughAsync("region-c", intoA.Port);
        var prefix = "agent-" + Guid.NewGuid().ToString("N")[..8];
        var leaseA = sb.Own(LeaseOn($"http://127.0.0.1:{aToRepository.Port}", prefix));
        var leaseB = sb.Own(LeaseOn(moto.Endpoint, prefix));
        var leaseC = sb.Own(LeaseOn(moto.Endpoint, prefix));
        var policy = TestPolicy.Fast(new() { ["region-b"] = 10, ["region-c"] = 5 });

        var agentA = sb.Own(new RunningAgent(AgentSettingsFor(sb, "region-a", policy, advertise: $"127.0.0.1:{intoA.Port}"), leaseA));
        var agentB = sb.Own(new RunningAgent(AgentSettingsFor(sb, "region-b", policy, peers: [("region-c", c)]), leaseB));
        var agentC = sb.Own(new RunningAgent(AgentSettingsFor(sb, "region-c", policy, peers: [("region-b", b)]), leaseC));
        await agentA.WaitForRoleAsync(AgentRole.Primary, Long);
        await agentB.WaitForRoleAsync(AgentRole.Standby, Long);
        await agentC.WaitForRoleAsync(AgentRole.Standby, Long);
        try
        {
            await Sql.ExecuteAsync(a, "CREATE TABLE probe_writes (node text, n bigint)");
        }
        catch (Errors.PgDrException ex)
        {
            Assert.Fail($"{ex.Message} Region A's agent: {string.Join(" | ", agentA.Agent.Events)}");
        }

        await FailoverSandbox.WaitForTableAsync(b, "probe_writes");
        await FailoverSandbox.WaitForTableAsync(c, "probe_writes");

        // A probe writer on each node, as a client in that node's own region: every accepted write is timed.
        await using var writers = new ProbeWriters(("region-a", a), ("region-b", b), ("region-c", c));
        await Wait.UntilAsync(_ => Task.FromResult(writers.Accepted("region-a").Count > 10), Long, "writes on region-a", CancellationToken.None);
        var cutAt = Stopwatch.GetTimestamp();
        intoA.Partition();
        aToRepository.Partition();

        var fenced = await agentA.WaitForAsync(AgentEventKind.Fenced, Long);
        await agentB.WaitForAsync(AgentEventKind.FailoverSucceeded, Long);
        await Wait.UntilAsync(_ => Task.FromResult(writers.Accepted("region-b").Count > 10), Long, "writes on region-b", CancellationToken.None);
        await writers.StopAsync();

        var onA = writers.Accepted("region-a");
        var onB = writers.Accepted("region-b");
        Assert.True(double.Parse(fenced.Details!["secondsSinceLastRenewal"], System.Globalization.CultureInfo.InvariantCulture) < policy.LeaseTtlSeconds, fenced.Reason);
        Assert.Contains(onA, w => w.Start > cutAt); // A did keep taking writes in the partition, until its own fence
        Assert.True(onA.Max(w => w.End) < onB.Min(w => w.Start), "region-a accepted a write after region-b accepted its first");
        Assert.Empty(writers.Accepted("region-c"));
        Assert.False(agentC.Has(AgentEventKind.FailoverSucceeded));
        Assert.Equal(("region-b", 2L), ((await leaseB.ReadAsync(CancellationToken.None))!.Holder, (await leaseB.ReadAsync(CancellationToken.None))!.Generation));

        // Healed: the old primary stays fenced (stopped, and marked standby so a restart cannot make it writable), and rejoins.
        // The partition outlasted every connection across it (as wal_receiver_timeout or TCP keepalive would end them):
        // the WAL region-a sent into the cut link is not delivered to region-c after the heal. (If it were, region-c
        // would hold WAL past region-b's fork and its agent would report that it must be rejoined, not followed.)
        intoA.ResetConnections();
        intoA.Heal();
        aToRepository.Heal();
        var dataDirectory = sb.Sandbox.Node("region-a").DataDirectory;
        Assert.False(await sb.Sandbox.Cluster("region-a").IsRunningAsync(CancellationToken.None));
        Assert.True(File.Exists(Path.Combine(dataDirectory, "standby.signal")));
        var rejoined = await RejoinService.RunAsync(new RejoinRequest { DataDirectory = dataDirectory, NewPrimary = b, Lease = leaseB, AllowDataLoss = true }, null, CancellationToken.None);
        Assert.True(rejoined.Streaming);
        Assert.True(rejoined.DiscardedTransactions >= 1, "the writes region-a took in the partition are what rejoin discards");
        Assert.False(await FailoverSandbox.IsPrimaryAsync(a));
        try
        {
            await Wait.UntilAsync(
                async _ => await Sql.ScalarAsync<int>(c, $"SELECT count(*)::int FROM pg_stat_wal_receiver WHERE status = 'streaming' AND sender_port = {b.Port}") == 1,
                Long, "region-c to follow region-b", CancellationToken.None);
        }
        catch (Errors.PgDrException ex)
        {
            Assert.Fail($"{ex.Message} Region C's agent: {string.Join(" | ", agentC.Agent.Events)}");
        }
    }

    private LeaseStore LeaseOn(string endpoint, string prefix)
    {
        var repository = new S3ArchiveRepository(new S3RepositoryOptions
        {
            Name = "lease-s3",
            Bucket = MotoFixture.Bucket,
            Prefix = prefix,
            Region = "us-east-1",
            Endpoint = endpoint,
            ForcePathStyle = true,
            AccessKeyId = "moto",
            SecretAccessKey = "moto",
            RequestTimeout = TimeSpan.FromSeconds(5),
            MaxRetries = 1, // moto_server answers an occasional 500 on a loaded host
        });
        return new LeaseStore(repository, "sandbox", repository);
    }

    /// <summary>One writer per node, each on its own connection straight to its node; every accepted insert timed on one clock.</summary>
    private sealed class ProbeWriters : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly ConcurrentDictionary<string, ConcurrentQueue<(long Start, long End)>> _accepted = new();
        private readonly List<Task> _tasks;

        public ProbeWriters(params (string Name, PgInstance Instance)[] nodes)
        {
            _tasks = nodes.Select(n => Task.Run(() => WriteAsync(n.Name, n.Instance))).ToList();
        }

        public IReadOnlyList<(long Start, long End)> Accepted(string node) => _accepted.TryGetValue(node, out var q) ? [.. q] : [];

        public async Task StopAsync()
        {
            await _stop.CancelAsync();
            await Task.WhenAll(_tasks);
        }

        public async ValueTask DisposeAsync()
        {
            await StopAsync();
            _stop.Dispose();
        }

        private async Task WriteAsync(string name, PgInstance node)
        {
            var queue = _accepted.GetOrAdd(name, _ => new ConcurrentQueue<(long, long)>());
            long n = 0;
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    await using var data = PgConnector.CreateDataSource(node);
                    await using var conn = await data.OpenConnectionAsync(_stop.Token);
                    while (!_stop.IsCancellationRequested)
                    {
                        var start = Stopwatch.GetTimestamp();
                        await using var insert = new NpgsqlCommand($"INSERT INTO probe_writes VALUES ('{name}', {++n})", conn);
                        await insert.ExecuteNonQueryAsync(_stop.Token);
                        queue.Enqueue((start, Stopwatch.GetTimestamp()));
                        await Task.Delay(20, _stop.Token);
                    }
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex) when (ex is NpgsqlException or IOException or TimeoutException or InvalidOperationException)
                {
                    // A standby refuses writes, a fenced node is gone: try again shortly.
                    await Task.Delay(50, CancellationToken.None);
                }
            }
        }
    }
}
