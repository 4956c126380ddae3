// pgdr-failover-bench: RTO of switchover and of manual failover on a two-region sandbox whose links between the
// regions carry a one-way latency (TcpProxy), with a writer committing throughout, synchronous and asynchronous.
//
//   pgdr-failover-bench <runs> <one-way latency ms> <work directory>
//
// Regions: A (primary) and B (standby). B streams from A across the link. For a failover, PgDr runs in region B (the
// survivor) and reaches A across the link; for a switchover it runs on A's host (it stops A itself) and reaches B
// across the link. One line per run: mode, RTO, write unavailability, each step in ms; then medians.
using System.Diagnostics;
using System.Globalization;
using Npgsql;
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
var results = new List<(string Mode, TimeSpan Rto, TimeSpan Unavailable, IReadOnlyList<PgDrStep> Steps, string Extra)>();
foreach (var mode in new[] { "switchover-sync", "switchover-async", "failover-sync", "failover-async" })
{
    for (var run = 1; run <= runs; run++)
    {
        var r = await RunAsync(mode, latency, Path.Combine(work, $"{mode}-{run}"));
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
        // B streams from A across the link.
        var conninfo = PrimaryConnInfo.Repoint(await ScalarAsync<string>(b, "SELECT current_setting('primary_conninfo')"), new PgInstance("127.0.0.1", toA.Port));
        await ExecAsync(b, $"ALTER SYSTEM SET primary_conninfo = '{conninfo.ToString().Replace("'", "''")}'");
        await ExecAsync(b, "SELECT pg_reload_conf()");
        await Wait.UntilAsync(async _ => await ScalarAsync<long>(b, $"SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming' AND sender_port = {toA.Port}") == 1,
            TimeSpan.FromSeconds(60), "B streaming across the link", CancellationToken.None);
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
