using PgDr.Connections;
using PgDr.Diagnostics;
using PgDr.Replication.Synchronous;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Diagnostics;

/// <summary>The checks' rules on their own: clock arithmetic, synchronous_standby_names, the log scan's window, a full disk.</summary>
public sealed class DiagnosticsRulesTests(TmpfsFixture tmpfs) : IClassFixture<TmpfsFixture>
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private static readonly CheckWriter Writer = new(new PgInstance("db-a:5432"), "region-a");

    [Fact]
    public void Clock_offset_is_measured_from_the_middle_of_the_round_trip_and_skew_counts_only_what_is_certain()
    {
        // Node A answers 10 ms into a 20 ms round trip with exactly our time; node B is 2 s ahead, read over 100 ms.
        var a = new ClockSample(T0, T0.AddMilliseconds(10), T0.AddMilliseconds(20));
        var b = new ClockSample(T0, T0.AddMilliseconds(50).AddSeconds(2), T0.AddMilliseconds(100));

        Assert.Equal(TimeSpan.Zero, a.Offset);
        Assert.Equal(TimeSpan.FromSeconds(2), b.Offset);
        var (skew, atLeast) = ClockSkew.Between(b, a);
        Assert.Equal(TimeSpan.FromSeconds(2), skew);
        Assert.Equal(TimeSpan.FromMilliseconds(2000 - 50 - 10), atLeast);
        Assert.Equal(PgDrCheckVerdict.Warn, ClockSkew.Judge(atLeast, TimeSpan.FromSeconds(1)));
        Assert.Equal(PgDrCheckVerdict.Fail, ClockSkew.Judge(TimeSpan.FromSeconds(11), TimeSpan.FromSeconds(1)));

        // A skew smaller than the round trips' uncertainty proves nothing: it passes.
        var slow = new ClockSample(T0, T0.AddMilliseconds(900), T0.AddSeconds(3));
        Assert.Equal(TimeSpan.Zero, ClockSkew.Between(slow, a).AtLeast);
        Assert.Equal(PgDrCheckVerdict.Pass, ClockSkew.Judge(ClockSkew.Between(slow, a).AtLeast, TimeSpan.FromSeconds(1)));

        // Of several samples the one with the shortest round trip is kept.
        Assert.Equal(a, ClockSkew.Best([slow, a, b]));
    }

    [Theory]
    [InlineData("region_b", "First", 1, "region_b")]
    [InlineData("FIRST 2 (a, \"region-b\", c)", "First", 2, "a|region-b|c")]
    [InlineData("ANY 1 (\"region-b\", region_x)", "Any", 1, "region-b|region_x")]
    [InlineData("2 (a, b)", "First", 2, "a|b")]
    [InlineData("*", "First", 1, "*")]
    [InlineData("\"we\"\"ird\"", "First", 1, "we\"ird")]
    public void Synchronous_standby_names_are_read_back_as_PostgreSQL_reads_them(string value, string method, int numSync, string names)
    {
        var parsed = SynchronousStandbyNames.Parse(value);

        Assert.NotNull(parsed);
        Assert.Equal(Enum.Parse<SynchronousMethod>(method), parsed.Value.Method);
        Assert.Equal(numSync, parsed.Value.NumSync);
        Assert.Equal(names.Split('|'), parsed.Value.Names);
        // What Set-PgSynchronousReplication writes reads back to the same thing.
        Assert.Equal(parsed, SynchronousStandbyNames.Parse(SynchronousStandbyNames.Format(parsed.Value.Method, parsed.Value.NumSync, parsed.Value.Names)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("FIRST 1 (a")]
    [InlineData("a,,b")]
    [InlineData("\"open")]
    public void Empty_or_malformed_synchronous_standby_names_read_as_nothing(string value) =>
        Assert.Null(SynchronousStandbyNames.Parse(value));

    [Fact]
    public void Synchronous_names_fail_when_fewer_are_connected_than_commits_wait_for()
    {
        Assert.Equal(PgDrCheckVerdict.Fail, SettingsChecks.JudgeSynchronous(SynchronousMethod.First, 1, ["region_x"], ["region-b"], "region_x", Writer).Verdict);
        Assert.Equal(PgDrCheckVerdict.Warn, SettingsChecks.JudgeSynchronous(SynchronousMethod.Any, 1, ["REGION-B", "region_x"], ["region-b"], "v", Writer).Verdict);
        Assert.Equal(PgDrCheckVerdict.Pass, SettingsChecks.JudgeSynchronous(SynchronousMethod.First, 1, ["*"], ["region-b"], "*", Writer).Verdict);
        Assert.Equal(PgDrCheckVerdict.Fail, SettingsChecks.JudgeSynchronous(SynchronousMethod.First, 1, ["*"], [], "*", Writer).Verdict);
    }

    [Fact]
    public void The_log_scan_counts_known_lines_inside_its_window_with_the_last_time_and_ignores_older_ones()
    {
        string[] lines =
        [
            "2026-12-01 10:00:00.000 UTC [10] FATAL:  could not connect to the primary server: connection to server at \"10.0.0.1\", port 5432 failed: Connection refused",
            "2026-12-01 11:30:00.000 UTC [11] FATAL:  could not connect to the primary server: connection to server at \"10.0.0.1\", port 5432 failed: Connection refused",
            "2026-12-01 11:30:05.250 UTC [12] FATAL:  could not connect to the primary server: connection to server at \"10.0.0.1\", port 5432 failed: Connection refused",
            "2026-12-01 11:31:00.000 UTC [13] FATAL:  could not connect to the primary server: connection to server at \"10.0.0.1\", port 5432 failed: timeout expired",
            "cp: cannot create regular file '/archive/000000010000000000000003': Permission denied",
            "2026-12-01 11:40:00.000 UTC [14] LOG:  archive command failed with exit code 1",
            "2026-12-01 11:40:00.000 UTC [14] DETAIL:  The failed archive command was: cp pg_wal/000000010000000000000003 /archive/000000010000000000000003",
            "2026-12-01 11:41:00.000 UTC [15] FATAL:  could not connect to the primary server: SSL error: certificate verify failed",
            "2026-12-01 11:42:00.000 UTC [16] LOG:  checkpoint starting: time",
        ];

        var findings = ServerLogScan.Scan(lines, T0.AddHours(-1));

        var unreachable = findings.Single(f => f.Pattern.CheckId == CheckIds.LogPrimaryUnreachable);
        Assert.Equal(2, unreachable.Count);
        Assert.Equal(new DateTimeOffset(2026, 12, 1, 11, 30, 5, 250, TimeSpan.Zero), unreachable.LastSeen);
        Assert.Equal(1, findings.Single(f => f.Pattern.CheckId == CheckIds.LogPrimaryTimeout).Count);
        Assert.Equal(1, findings.Single(f => f.Pattern.CheckId == CheckIds.LogTls).Count);
        Assert.Equal(1, findings.Single(f => f.Pattern.CheckId == CheckIds.LogArchiveFailed).Count);
        // The cp line has no time of its own: it takes the time of the line before it, inside the window.
        Assert.Equal(1, findings.Single(f => f.Pattern.CheckId == CheckIds.LogPermissionDenied).Count);
        Assert.Equal(5, findings.Count);
    }

    [Theory]
    [InlineData("2026-12-01 11:30:05.250 UTC [12] LOG:  x", "2026-12-01T11:30:05.250+00:00")]
    [InlineData("2026-12-01 11:30:05 +01 [12] LOG:  x", "2026-12-01T11:30:05+01:00")]
    [InlineData("2026-12-01 11:30:05.250 -0530 [12] LOG:  x", "2026-12-01T11:30:05.250-05:30")]
    public void Log_line_times_are_read_with_their_zone(string line, string expected) =>
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), ServerLogScan.LineTime(line));

    [Fact]
    public void Log_lines_without_a_readable_time_count_whatever_the_window()
    {
        var findings = ServerLogScan.Scan(["[12] FATAL:  could not connect to the primary server: Connection refused"], T0);

        Assert.Equal(1, Assert.Single(findings).Count);
        Assert.Null(findings[0].LastSeen);
    }

    [Fact]
    public void Io_pressure_is_read_from_the_kernels_some_and_full_lines()
    {
        var io = IoPressure.Parse("some avg10=12.31 avg60=7.15 avg300=3.96 total=828058159\nfull avg10=0.50 avg60=0.00 avg300=0.12 total=161762093\n");

        Assert.Equal(new IoPressure(12.31, 0.5), io);
        Assert.True(io!.Value.IsSaturated);
        Assert.False(new IoPressure(9.99, 0).IsSaturated);
        Assert.Null(IoPressure.Parse("some avg10=x avg60=0.00\nfull avg10=0.00\n"));
        Assert.Null(IoPressure.Parse("some avg10=1.00 avg60=0.00 avg300=0.00 total=1\n"));
        Assert.Null(IoPressure.Parse(string.Empty));
    }

    [Fact]
    public void Replay_behind_what_was_received_warns_as_replay_bound_and_the_disks_pressure_decides_the_fix()
    {
        const long MiB = 1024 * 1024;

        var keepingUp = HealthChecks.JudgeReplay(MiB, T0, 64 * MiB, new IoPressure(50, 10), Writer);
        Assert.Equal((CheckIds.ReplayLag, PgDrCheckVerdict.Pass), (keepingUp.CheckId, keepingUp.Verdict));

        var diskBound = HealthChecks.JudgeReplay(200 * MiB, T0, 64 * MiB, new IoPressure(35, 5), Writer);
        var notDisk = HealthChecks.JudgeReplay(200 * MiB, T0, 64 * MiB, new IoPressure(0.5, 0), Writer);
        var unknown = HealthChecks.JudgeReplay(200 * MiB, T0, 64 * MiB, null, Writer);
        Assert.All([diskBound, notDisk, unknown], c => Assert.Equal((CheckIds.ReplayLag, PgDrCheckVerdict.Warn), (c.CheckId, c.Verdict)));
        Assert.Contains("35 %", diskBound.Evidence, StringComparison.Ordinal);
        Assert.Equal(3, new[] { diskBound.Fix, notDisk.Fix, unknown.Fix }.Distinct().Count());
        Assert.DoesNotContain("I/O pressure", unknown.Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_full_disk_fails_the_disk_space_check_and_an_empty_one_passes()
    {
        Assert.True(tmpfs.Mounted, tmpfs.Unavailable);
        Assert.Equal(PgDrCheckVerdict.Pass, HealthChecks.JudgeDisk(tmpfs.Directory, 0.15, Writer, "pg_wal")!.Verdict);

        var filler = await tmpfs.FillAsync();
        try
        {
            var full = HealthChecks.JudgeDisk(tmpfs.Directory, 0.15, Writer, "pg_wal")!;
            Assert.Equal(PgDrCheckVerdict.Fail, full.Verdict);
            Assert.Equal(CheckIds.DiskSpace, full.CheckId);
            Assert.Contains(tmpfs.Directory, full.Evidence, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(filler);
        }
    }
}
