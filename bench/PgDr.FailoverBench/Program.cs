// pgdr-failover-bench: RTO of switchover and of manual failover on a two-region sandbox whose links between the
// regions carry a one-way latency (TcpProxy), with a writer committing throughout, synchronous and asynchronous.
//
//   pgdr-failover-bench <runs> <one-way latency ms> <work directory> [modes, comma-separated]
//
// Modes: switchover-sync, switchover-async, failover-sync, failover-async (the default set), and agent: automated
// failover by the node agents with the default policy, timed as a client with a multi-host connection string
// (target_session_attrs=read-write, across the links) sees it, from the primary's death to its first accepted write.
//
// Regions: A (primary) and B (standby). B streams from A across the link. For a failover, PgDr runs in region B (the
// survivor) and reaches A across the link; for a switchover it runs on A's host (it stops A itself) and reaches B
// across the link. One line per run: mode, RTO, write unavailability, each step in ms; then medians.
using System.Diagnostics;
using System.Globalization;
using Npgsql;
using PgDr.Agent;
using PgDr.Agent.Events;
using PgDr.Archive.Configuration;
using PgDr.Connections;
using PgDr.Failover;
using PgDr.Failover.Lease;
using PgDr.Failover.Measurement;
using PgDr.Failover.Switchover;
using PgDr.Hosting;
using PgDr.Hosting.Sandbox;
using PgDr.Replication;
using PgDr.Tests.Fixtures;

var runs = int.Parse(args.ElementAtOrDefault(0) ?? "3", CultureInfo.InvariantCulture);
var latency = TimeSpan.FromMilliseconds(double.Parse(args.ElementAtOrDefault(1) ?? "40", CultureInfo.InvariantCulture));
var work = args.ElementAtOrDefault(2) ?? Path.Combine(Path.GetTempPath(), "pgdr-failover-bench");
Directory.CreateDirectory(work);
var modes = (args.ElementAtOrDefault(3) ?? "switchover-sync,switchover-async,failover-sync,failover-async").Split(',', StringSplitOptions.RemoveEmptyEntries);
var results = new List<(string Mode, TimeSpan Rto, TimeSpan Unavailable, IReadOnlyList<PgDrStep> Steps, string Extra)>();
foreach (var mode in modes)
{
    for (var run = 1; run <= runs; run++)
    {
        var r = mode == "agent"
            ? await RunAgentAsync(latency, Path.Combine(work, $"{mode}-{run}"))
            : await RunAsync(mode, latency, Path.Combine(work, $"{mode}-{run}"));
        results.Add(r);
        Console.WriteLine($"{mode} run {run}: RTO {Ms(r.Rto)} ms, writes unavailable {Ms(r.Unavailable)} ms, {r.Extra}; "
            + string.Join(", ", r.Steps.Where(s => s.CountsTowardsRto).Select(s => $"{s.Name} {Ms(s.Duration)} ms")));
    }
}

Console.WriteLine();
Console.WriteLine($"| mode ({latency.TotalMilliseconds:0} ms one way) | runs | RTO median (ms) | writes unavailable median (ms) | steps (median ms) |");
Console.WriteLine("| --- | --- | --- | --- | --- |");
foreach (var group in results.GroupBy(r => r.Mode))
{
    var steps = group.SelectMany(r => r.Steps.Where(s => s.CountsTowardsRto)).GroupBy(s => s.Name)
        .Select(g => $"{g.Key} {Median(g.Select(s => s.Duration))}");
    Console.WriteLine($"| {group.Key} | {group.Count()} | {Median(group.Select(r => r.Rto))} | {Median(group.Select(r => r.Unavailable))} | {string.Join(", ", steps)} |");
}

return 0;

static async Task<(string Mode, TimeSpan Rto, TimeSpan Unavailable, IReadOnlyList<PgDrStep> Steps, string Extra)> RunAsync(string mode, TimeSpan latency, string directory)
{
    var sandbox = await SandboxService.CreateAsync(new SandboxSpec { Directory = directory, Standbys = 1 }, null, CancellationToken.None);
    var a = sandbox.Instance("region-a");
    var b = sandbox.Instance("region-b");
    await using var toA = TcpProxy.Start("127.0.0.1", a.Port, latency);
    await using var toB = TcpProxy.Start("127.0.0.1", b.Port, latency);
    await using var lease = LeaseStore.Open(PgDrConfig.Load(sandbox.ConfigPath));
    try
    {
        await StreamAcrossAsync(b, toA.Port);
        if (mode.EndsWith("-sync", StringComparison.Ordinal))
        {
            await ExecAsync(a, "ALTER SYSTEM SET synchronous_standby_names = '\"region-b\"'");
            await ExecAsync(a, "SELECT pg_reload_conf()");
        }

        await ExecAsync(a, "CREATE TABLE bench_writes (id bigserial PRIMARY KEY, at timestamptz DEFAULT clock_timestamp())");
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(() => WriteAsync(a, stop.Token));
        await Task.Delay(2000);
        if (mode.StartsWith("switchover", StringComparison.Ordinal))
        {
            var bAcross = ClusterNodes.WithCredentialsOf(b, $"127.0.0.1:{toB.Port}");
            var result = await SwitchoverService.RunAsync(new SwitchoverRequest { Target = bAcross, OldPrimary = a, Lease = lease }, null, CancellationToken.None);
            stop.Cancel();
            var written = await writer;
            return (mode, result.Rto, result.WriteUnavailable, result.Steps, $"{written} commits before, old primary streaming {result.OldPrimaryStreaming}");
        }
        else
        {
            var aAcross = ClusterNodes.WithCredentialsOf(a, $"127.0.0.1:{toA.Port}");
            var result = await FailoverService.RunAsync(new FailoverRequest { Target = b, OldPrimary = aAcross, Lease = lease, MaxDataLossBytes = 1L << 30, CatchUpTimeout = TimeSpan.FromSeconds(5) }, null, CancellationToken.None);
            stop.Cancel();
            var written = await writer;
            var fenceStart = result.Steps.First(s => s.Name == "fence").StartedAfter;
            return (mode, result.Rto, result.Rto - fenceStart, result.Steps, $"{written} commits, RPO {result.Rpo}, fence {result.FenceMethod}");
        }
    }
    finally
    {
        await SandboxService.RemoveAsync(sandbox.Directory, null, CancellationToken.None);
    }
}

// Automated failover: region A's PostgreSQL dies (immediate stop; its agent lives on), region B's agent detects it,
// waits out the lease on its own clock, takes the lease and promotes; a client that knows both nodes by a multi-host
// connection string across the links writes again. Steps: from the death to B's agent's events, and to the client's
// first accepted write (one host, one wall clock).
static async Task<(string Mode, TimeSpan Rto, TimeSpan Unavailable, IReadOnlyList<PgDrStep> Steps, string Extra)> RunAgentAsync(TimeSpan latency, string directory)
{
    var sandbox = await SandboxService.CreateAsync(new SandboxSpec { Directory = directory, Standbys = 1 }, null, CancellationToken.None);
    var a = sandbox.Instance("region-a");
    var b = sandbox.Instance("region-b");
    await using var toA = TcpProxy.Start("127.0.0.1", a.Port, latency);
    await using var toB = TcpProxy.Start("127.0.0.1", b.Port, latency);
    try
    {
        await StreamAcrossAsync(b, toA.Port);
        await ExecAsync(a, "CREATE TABLE bench_writes (id bigserial PRIMARY KEY, at timestamptz DEFAULT clock_timestamp())");

        // The default policy (docs/agent.md): heartbeat 1 s, 3 missed, TTL 6 s, renewal every 1 s, margin 2 s.
        var policy = new AgentPolicy();
        AgentSettings Settings(string node, PgInstance instance, int advertisedPort) => new()
        {
            Node = node,
            Region = node,
            Instance = instance,
            Advertise = $"127.0.0.1:{advertisedPort}",
            HttpPort = 0,
            EventsPath = Path.Combine(directory, $"events-{node}.jsonl"),
            Policy = policy,
        };
        await using var leaseA = LeaseStore.Open(PgDrConfig.Load(sandbox.ConfigPath));
        await using var leaseB = LeaseStore.Open(PgDrConfig.Load(sandbox.ConfigPath));
        var agentA = new NodeAgent(Settings("region-a", a, toA.Port), leaseA);
        var agentB = new NodeAgent(Settings("region-b", b, toB.Port), leaseB);
        using var stopAgents = new CancellationTokenSource();
        var runA = Task.Run(() => agentA.RunAsync(stopAgents.Token));
        var runB = Task.Run(() => agentB.RunAsync(stopAgents.Token));
        await Wait.UntilAsync(_ => Task.FromResult(agentA.Status.Role == AgentRole.Primary && agentB.Status.Role == AgentRole.Standby && agentB.Status.MissedHeartbeats == 0 && agentB.Status.Peers.Any(p => p.LastHeartbeatSecondsAgo is not null)),
            TimeSpan.FromSeconds(60), "A's agent holding the lease and B's heartbeating it", CancellationToken.None);

        var client = new NpgsqlConnectionStringBuilder
        {
            Host = $"127.0.0.1:{toA.Port},127.0.0.1:{toB.Port}",
            Username = "postgres",
            Passfile = sandbox.PasswordFile,
            Database = "postgres",
            TargetSessionAttributes = "read-write",
            Timeout = 3,
            Pooling = false,
            // Npgsql remembers each host's role for HostRecheckSeconds (default 10 s): a client that saw B as a standby
            // would not try it again for that long. libpq does not cache; with Npgsql, lower it (docs/agent.md).
            HostRecheckSeconds = 1,
        }.ConnectionString;
        if (!await TryClientWriteAsync(client))
        {
            throw new InvalidOperationException("the client could not write before the primary died");
        }

        await Task.Delay(3000); // a few renewals and heartbeats in steady state: the death lands at a random point of their rounds
        var death = DateTimeOffset.UtcNow;
        await sandbox.StopNodeAsync("region-a", StopMode.Immediate, CancellationToken.None);
        var stopped = DateTimeOffset.UtcNow;
        DateTimeOffset? firstWrite = null;
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(120);
        while (firstWrite is null && DateTimeOffset.UtcNow < deadline)
        {
            if (await TryClientWriteAsync(client))
            {
                firstWrite = DateTimeOffset.UtcNow;
            }
            else
            {
                await Task.Delay(100); // a client's retry back-off: at most this much of the redirection is the loop's
            }
        }

        await stopAgents.CancelAsync();
        await Task.WhenAll(runA, runB).ContinueWith(_ => { }, TaskScheduler.Default);
        if (firstWrite is null)
        {
            throw new InvalidOperationException("no client write within 120 s: " + string.Join(" | ", agentB.Events.Select(e => e.ToString())));
        }

        TimeSpan At(AgentEventKind kind) => (agentB.Events.FirstOrDefault(e => e.Kind == kind && e.Time >= death)?.Time ?? death) - death;
        var detected = At(AgentEventKind.PrimaryUnreachable);
        var expired = At(AgentEventKind.LeaseExpired);
        var started = At(AgentEventKind.FailoverStarted);
        var promoted = At(AgentEventKind.FailoverSucceeded);
        var rto = firstWrite.Value - death;
        var steps = new List<PgDrStep>
        {
            Step("kill (pg_ctl -m immediate)", TimeSpan.Zero, stopped - death),
            Step("detection (3 missed heartbeats)", TimeSpan.Zero, detected),
            Step("lease expiry (TTL on B's clock)", TimeSpan.Zero, expired),
            Step("failover (check, lease, promote, write)", started, promoted - started),
            Step("client redirection", promoted, rto - promoted),
        };
        var fenced = agentA.Events.Any(e => e.Kind == AgentEventKind.Fenced);
        return ("agent", rto, rto, steps, $"A's agent fenced its node: {fenced}; B's events: {string.Join(", ", agentB.Events.Where(e => e.Time >= death).Select(e => $"{e.Kind} +{Ms(e.Time - death)} ms"))}");
    }
    finally
    {
        await SandboxService.RemoveAsync(sandbox.Directory, null, CancellationToken.None);
    }
}

// B streams from A across the link (its proxy port).
static async Task StreamAcrossAsync(PgInstance b, int port)
{
    var conninfo = PrimaryConnInfo.Repoint(await ScalarAsync<string>(b, "SELECT current_setting('primary_conninfo')"), new PgInstance("127.0.0.1", port));
    await ExecAsync(b, $"ALTER SYSTEM SET primary_conninfo = '{conninfo.ToString().Replace("'", "''")}'");
    await ExecAsync(b, "SELECT pg_reload_conf()");
    await Wait.UntilAsync(async _ => await ScalarAsync<long>(b, $"SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming' AND sender_port = {port}") == 1,
        TimeSpan.FromSeconds(60), "B streaming across the link", CancellationToken.None);
}

static PgDrStep Step(string name, TimeSpan startedAfter, TimeSpan duration) =>
    new() { Name = name, StartedAfter = startedAfter, Duration = duration, CountsTowardsRto = true };

static async Task<bool> TryClientWriteAsync(string connectionString)
{
    try
    {
        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync();
        await using var insert = new NpgsqlCommand("INSERT INTO bench_writes DEFAULT VALUES", conn);
        await insert.ExecuteNonQueryAsync();
        return true;
    }
    catch (Exception ex) when (ex is NpgsqlException or IOException or TimeoutException or InvalidOperationException)
    {
        return false;
    }
}

static async Task<long> WriteAsync(PgInstance primary, CancellationToken stop)
{
    long count = 0;
    try
    {
        await using var data = PgConnector.CreateDataSource(primary);
        await using var conn = await data.OpenConnectionAsync(stop);
        while (!stop.IsCancellationRequested)
        {
            await using var insert = new NpgsqlCommand("INSERT INTO bench_writes DEFAULT VALUES", conn);
            await insert.ExecuteNonQueryAsync(CancellationToken.None);
            count++;
        }
    }
    catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException or IOException)
    {
        // The fence or the shutdown ended the session.
    }

    return count;
}

static Task ExecAsync(PgInstance node, string sql) =>
    PgConnector.RunAsync(node, async conn =>
    {
        await using var cmd = new NpgsqlCommand(sql, conn);
        return await cmd.ExecuteNonQueryAsync();
    }, CancellationToken.None);

static Task<T> ScalarAsync<T>(PgInstance node, string sql) =>
    PgConnector.RunAsync(node, async conn =>
    {
        await using var cmd = new NpgsqlCommand(sql, conn);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }, CancellationToken.None);

static string Ms(TimeSpan span) => span.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture);

static string Median(IEnumerable<TimeSpan> spans)
{
    var sorted = spans.OrderBy(s => s).ToList();
    return sorted.Count == 0 ? "-" : Ms(sorted[sorted.Count / 2]);
}
