using System.Diagnostics;
using PgDr.Archive.Server;
using PgDr.Archive.Transfer;
using PgDr.Hosting;
using PgDr.Hosting.Sandbox;
using PgDr.Tests.Archive.Server;
using PgDr.Tests.Fixtures;
using Xunit.Abstractions;

namespace PgDr.Tests.Archive.Async;

/// <summary>The issue's acceptance test: a real primary under pgbench, archive_command = pgdr wal push in async mode.</summary>
public sealed class AsyncArchivingUnderLoadTests(LonePrimaryFixture fixture, ITestOutputHelper output) : IClassFixture<LonePrimaryFixture>
{
    private const string Bin = "/usr/lib/postgresql/15/bin";

    // The archiver may fall behind by a few segments while a .NET process starts per segment; a backlog that grows
    // with the load would pass this bound within seconds.
    private const int MaxReadyBacklog = 8;

    // Fewer segments than the backlog bound could never exceed it: the test would prove nothing.
    private const long MinimumWalBytes = MaxReadyBacklog * 16L * 1024 * 1024;

    private const string CountReady = "SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'";

    [Fact]
    public async Task Under_pgbench_the_async_archiver_keeps_the_ready_backlog_bounded_drains_it_and_leaves_no_gap()
    {
        var sandbox = fixture.Sandbox;
        var primary = sandbox.Primary.Instance;
        var directory = await ArchiveTestSupport.NewDirectoryAsync("async-load");
        var repository = Directory.CreateDirectory(Path.Combine(directory, "repo")).FullName;
        var spool = Directory.CreateDirectory(Path.Combine(directory, "spool")).FullName;
        await OsUser.ForPostgres().TakeOwnershipAsync(directory, CancellationToken.None);
        var json = ArchiveTestSupport.ConfigJson("main", [ArchiveTestSupport.FileSystemRepository("local", repository)], "zstd:1", spoolPath: spool);
        var configPath = await ArchiveTestSupport.WriteConfigAsync(directory, json);
        var config = PgDr.Archive.Configuration.PgDrConfig.Parse(json, configPath);

        await WalArchivingService.SetAsync(
            primary,
            new WalArchivingRequest { PgDrPath = PgDrForPostgres.ExecutablePath, ConfigPath = configPath, ArchiveTimeout = TimeSpan.FromSeconds(60) },
            apply: true,
            restart: true,
            CancellationToken.None);

        // The backlog is sampled every second from before the initial load to the end of the timed one.
        var clock = Stopwatch.StartNew();
        var samples = new List<(double At, long Ready)>();
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                samples.Add((clock.Elapsed.TotalSeconds, await Sql.ScalarAsync<long>(primary, CountReady)));
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), stop.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        });

        var lsnBefore = await Sql.ScalarAsync<string>(primary, "SELECT pg_current_wal_lsn()::text");
        await PgBenchAsync(sandbox, "-i", "-s", "10", "-q");
        output.WriteLine($"pgbench -i -s 10 done at {clock.Elapsed.TotalSeconds:0.0} s");

        // synchronous_commit off: commits do not wait for fsync, so two clients make WAL as fast as a busy primary.
        // How much WAL a timed run makes depends on the machine's speed at the time, so on a slow or busy one the load
        // goes on in short runs until there is enough WAL for the backlog bound to mean something.
        await PgBenchAsync(sandbox, "-T", "20", "-c", "2", "-n");
        var walBytes = await Sql.ScalarAsync<decimal>(primary, $"SELECT pg_current_wal_lsn() - '{lsnBefore}'::pg_lsn");
        for (var extra = 0; walBytes <= MinimumWalBytes && extra < 6; extra++)
        {
            await PgBenchAsync(sandbox, "-T", "5", "-c", "2", "-n");
            walBytes = await Sql.ScalarAsync<decimal>(primary, $"SELECT pg_current_wal_lsn() - '{lsnBefore}'::pg_lsn");
        }

        await stop.CancelAsync();
        await sampler;
        output.WriteLine($"pgbench -c 2 done at {clock.Elapsed.TotalSeconds:0.0} s; {walBytes / (1024 * 1024):0} MiB of WAL in all");
        output.WriteLine($".ready backlog (s: count): {string.Join(", ", samples.Select(s => $"{s.At:0}: {s.Ready}"))}");

        // Most of it comes from pgbench -i (about 140 MiB in 2-3 s, the burst that tests the look-ahead); the timed run
        // adds a steady trickle of segment switches on top.
        Assert.True(walBytes > MinimumWalBytes, $"the load made only {walBytes} bytes of WAL: too little to test anything");
        Assert.True(samples.Count >= 20, $"only {samples.Count} samples");
        Assert.True(samples.Max(s => s.Ready) <= MaxReadyBacklog, $"backlog reached {samples.Max(s => s.Ready)}");

        // Once the load stops, the archiver catches up completely, and nothing failed on the way.
        await Sql.ExecuteAsync(primary, "SELECT pg_switch_wal()");
        var drainedIn = await DrainAsync(primary, TimeSpan.FromSeconds(20));
        output.WriteLine($"drained {drainedIn.TotalSeconds:0.0} s after the load; total {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.Equal(0L, await Sql.ScalarAsync<long>(primary, "SELECT failed_count FROM pg_stat_archiver"));
        var archived = await Sql.ScalarAsync<long>(primary, "SELECT archived_count FROM pg_stat_archiver");
        var lastArchived = await Sql.ScalarAsync<string>(primary, "SELECT last_archived_wal FROM pg_stat_archiver");

        // Every segment PostgreSQL counted as archived is in the repository, without a gap.
        var timeline = Assert.Single(await WalArchiveCatalog.ListAsync(config, null, CancellationToken.None));
        output.WriteLine($"repository: {timeline}; PostgreSQL archived {archived}, last {lastArchived}");
        Assert.True(timeline.Continuous, timeline.ToString());
        Assert.Equal(lastArchived, timeline.LastSegment);
        Assert.Equal(archived, timeline.SegmentCount);
    }

    /// <summary>Waits until no .ready file is left; returns how long that took.</summary>
    private static async Task<TimeSpan> DrainAsync(PgDr.Connections.PgInstance primary, TimeSpan deadline)
    {
        var clock = Stopwatch.StartNew();
        await Wait.UntilAsync(async _ => await Sql.ScalarAsync<long>(primary, CountReady) == 0, deadline, "the .ready backlog to drain", CancellationToken.None);
        return clock.Elapsed;
    }

    private static async Task PgBenchAsync(PgSandbox sandbox, params string[] arguments)
    {
        var start = new ProcessStartInfo(Path.Combine(Bin, "pgbench"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-h", sandbox.Primary.Instance.Host, "-p", sandbox.Primary.Instance.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", PgSandbox.Superuser }.Concat(arguments).Append("postgres"))
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["PGPASSFILE"] = sandbox.PasswordFile;
        start.Environment["PGOPTIONS"] = "-c synchronous_commit=off";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"pgbench {string.Join(' ', arguments)} failed: {await stderr}{await stdout}");
    }
}
