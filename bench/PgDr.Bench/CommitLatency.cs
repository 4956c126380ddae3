// commit-latency: what synchronous replication costs a commit when the standby is in another region.
//
//   pgdr-bench commit-latency [commits per level, default 200] [one-way latencies in ms, default 0,40]
//
// Builds a sandbox (primary region-a, standby region-b), puts the TCP proxy of the tests between them (the kernel here
// has no netem) so every byte of the replication stream pays the one-way latency, names region-b synchronous with
// Set-PgSynchronousReplication's engine, and for each synchronous_commit level (set the same way: ALTER SYSTEM + reload)
// times single-row autocommit INSERTs from a client beside the primary, for each latency (0 shows what the proxy and
// the machine cost without distance). Prints a markdown table per latency and one key=value line per cell. The sandbox
// is removed at the end.
using System.Diagnostics;
using System.Globalization;
using Npgsql;
using PgDr.Connections;
using PgDr.Hosting;
using PgDr.Hosting.Sandbox;
using PgDr.Replication;
using PgDr.Replication.Synchronous;
using PgDr.Tests.Fixtures;

namespace PgDr.Bench;

internal static class CommitLatency
{
    private static readonly string[] Levels = ["off", "local", "remote_write", "on", "remote_apply"];

    public static async Task<int> RunAsync(string[] args)
    {
        var commits = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 200;
        var latencies = (args.Length > 1 ? args[1] : "0,40").Split(',').Select(ms => TimeSpan.FromMilliseconds(double.Parse(ms, CultureInfo.InvariantCulture))).ToList();
        var directory = Path.Combine(Path.GetTempPath(), $"pgdr-bench-commit-{Environment.ProcessId}");
        var sandbox = await SandboxService.CreateAsync(new SandboxSpec { Directory = directory, Standbys = 1 }, null, CancellationToken.None);
        try
        {
            var primary = sandbox.Instance("region-a");
            var standby = sandbox.Instance("region-b");
            await using var proxy = TcpProxy.Start("127.0.0.1", primary.Port);
            await StreamThroughAsync(standby, proxy.Port);
            await ExecuteAsync(primary, "CREATE TABLE bench_commit (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())");
            await SynchronousReplicationService.SetAsync(primary, new SynchronousReplicationRequest { StandbyNames = ["region-b"] }, apply: true, CancellationToken.None);

            var lines = new List<string>();
            foreach (var latency in latencies)
            {
                proxy.Latency = latency;
                Console.WriteLine($"{commits} single-row autocommit INSERTs per level, client beside the primary, standby behind {latency.TotalMilliseconds:0} ms one way, synchronous_standby_names = FIRST 1 (\"region-b\"):");
                Console.WriteLine();
                Console.WriteLine("| synchronous_commit | median ms | p95 ms | p99 ms | mean ms | commits/s (one client) |");
                Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: |");
                foreach (var level in Levels)
                {
                    await SynchronousReplicationService.SetAsync(primary, new SynchronousReplicationRequest { StandbyNames = ["region-b"], SynchronousCommit = level }, apply: true, CancellationToken.None);
                    var sorted = (await MeasureAsync(primary, commits)).Order().ToArray();
                    double Percentile(double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
                    var mean = sorted.Average();
                    Console.WriteLine(FormattableString.Invariant($"| {level} | {Percentile(0.5):0.00} | {Percentile(0.95):0.00} | {Percentile(0.99):0.00} | {mean:0.00} | {1000 / mean:0} |"));
                    lines.Add(FormattableString.Invariant($"level={level} latency_ms={latency.TotalMilliseconds:0} commits={commits} median_ms={Percentile(0.5):0.000} p95_ms={Percentile(0.95):0.000} p99_ms={Percentile(0.99):0.000} mean_ms={mean:0.000}"));
                }

                Console.WriteLine();
            }

            lines.ForEach(Console.WriteLine);
            await SynchronousReplicationService.SetAsync(primary, new SynchronousReplicationRequest { Disable = true, SynchronousCommit = "on" }, apply: true, CancellationToken.None);
            return 0;
        }
        finally
        {
            await SandboxService.RemoveAsync(directory, null, CancellationToken.None);
        }
    }

    /// <summary>Repoints the standby at the proxy (the conninfo a failover would rewrite the same way) and waits until it streams through it.</summary>
    private static async Task StreamThroughAsync(PgInstance standby, int proxyPort)
    {
        var current = await PgConnector.RunAsync(standby, async conn =>
        {
            using var cmd = new NpgsqlCommand("SHOW primary_conninfo", conn);
            return (string)(await cmd.ExecuteScalarAsync())!;
        }, CancellationToken.None);
        var repointed = PrimaryConnInfo.Repoint(current, new PgInstance("127.0.0.1", proxyPort)).ToString();
        await ExecuteAsync(standby, $"ALTER SYSTEM SET primary_conninfo = '{repointed.Replace("'", "''", StringComparison.Ordinal)}'");
        await ExecuteAsync(standby, "SELECT pg_reload_conf()");
        await Wait.UntilAsync(
            async ct => await PgConnector.RunAsync(standby, async conn =>
            {
                using var cmd = new NpgsqlCommand("SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming' AND sender_port = $1", conn);
                cmd.Parameters.AddWithValue(proxyPort);
                return (long)(await cmd.ExecuteScalarAsync(ct))! == 1;
            }, ct),
            TimeSpan.FromSeconds(60),
            "the standby to stream through the proxy",
            CancellationToken.None);
    }

    /// <summary>Commit times in milliseconds on one connection opened after the level was set; 10 unmeasured commits first.</summary>
    private static Task<double[]> MeasureAsync(PgInstance primary, int commits) =>
        PgConnector.RunAsync(primary, async conn =>
        {
            using var insert = new NpgsqlCommand("INSERT INTO bench_commit DEFAULT VALUES", conn);
            await insert.PrepareAsync();
            for (var i = 0; i < 10; i++)
            {
                await insert.ExecuteNonQueryAsync();
            }

            var samples = new double[commits];
            for (var i = 0; i < commits; i++)
            {
                var start = Stopwatch.GetTimestamp();
                await insert.ExecuteNonQueryAsync();
                samples[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }

            return samples;
        }, CancellationToken.None);

    private static Task ExecuteAsync(PgInstance instance, string sql) =>
        PgConnector.RunAsync(instance, async conn =>
        {
            using var cmd = new NpgsqlCommand(sql, conn);
            return await cmd.ExecuteNonQueryAsync();
        }, CancellationToken.None);
}
