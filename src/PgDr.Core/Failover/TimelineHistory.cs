using System.Globalization;
using Npgsql;
using PgDr.Topology;

namespace PgDr.Failover;

/// <summary>One line of a timeline history file: timeline <see cref="Timeline"/> ended (was switched away from) at <see cref="SwitchPoint"/>.</summary>
public sealed record TimelineSwitch(uint Timeline, PgLsn SwitchPoint);

/// <summary>
/// A node's timeline history (<c>pg_wal/0000000N.history</c>): the timelines before its current one and where each
/// ended. Two nodes of one cluster share their WAL up to the fork point this finds, as pg_rewind finds it.
/// </summary>
public sealed class TimelineHistory
{
    public TimelineHistory(uint currentTimeline, IReadOnlyList<TimelineSwitch> switches)
    {
        CurrentTimeline = currentTimeline;
        Switches = switches;
    }

    public uint CurrentTimeline { get; }

    /// <summary>Earlier timelines in order, each with the position where the next began.</summary>
    public IReadOnlyList<TimelineSwitch> Switches { get; }

    /// <summary>Parses a history file's text (lines "parentTLI  switchpoint  reason"; # comments).</summary>
    public static TimelineHistory Parse(uint currentTimeline, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var switches = new List<TimelineSwitch>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var fields = line.Split((char[])['\t', ' '], 3, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length >= 2 && uint.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var tli))
            {
                switches.Add(new TimelineSwitch(tli, PgLsn.Parse(fields[1])));
            }
        }

        return new TimelineHistory(currentTimeline, switches);
    }

    /// <summary>The history of a running node: its current timeline and, past timeline 1, its history file.</summary>
    public static async Task<TimelineHistory> ReadAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);

        // As NodeInspector: a primary's timeline is the one it writes; a standby's the one it replays. One round trip
        // for the timeline and its history file: across a 40 ms link each one counts in the RTO.
        const string sql = """
            SELECT t.tli, CASE WHEN t.tli > 1 THEN pg_read_file('pg_wal/' || lpad(upper(to_hex(t.tli)), 8, '0') || '.history') END
            FROM (SELECT CASE WHEN pg_is_in_recovery()
                              THEN coalesce((SELECT received_tli FROM pg_stat_wal_receiver), (SELECT timeline_id FROM pg_control_checkpoint()))::bigint
                              ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::bigint END AS tli) AS t
            """;
        using var cmd = new NpgsqlCommand(sql, connection);
        using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        var timeline = (uint)reader.GetInt64(0);
        return reader.IsDBNull(1) ? new TimelineHistory(timeline, []) : Parse(timeline, reader.GetString(1));
    }

    /// <summary>The history in a stopped data directory, for the timeline its pg_control names.</summary>
    public static TimelineHistory ReadFromDataDirectory(string dataDirectory, uint timeline)
    {
        if (timeline <= 1)
        {
            return new TimelineHistory(timeline, []);
        }

        var path = Path.Combine(dataDirectory, "pg_wal", timeline.ToString("X8", CultureInfo.InvariantCulture) + ".history");
        return Parse(timeline, File.ReadAllText(path));
    }

    /// <summary>
    /// Where two histories part: the last position both nodes' WAL holds in common. Null when they never parted on
    /// timelines (the same current timeline and no differing switch): then the node that is behind simply follows.
    /// </summary>
    public static PgLsn? ForkPoint(TimelineHistory a, TimelineHistory b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var ta = Segments(a);
        var tb = Segments(b);
        for (var i = 0; i < Math.Min(ta.Count, tb.Count); i++)
        {
            if (ta[i].Timeline != tb[i].Timeline)
            {
                // They went to different timelines from the end of the previous one.
                return i == 0 ? new PgLsn(0) : Min(ta[i - 1].End, tb[i - 1].End);
            }

            if (ta[i].End != tb[i].End)
            {
                return Min(ta[i].End, tb[i].End);
            }
        }

        return null;
    }

    /// <summary>Timelines as (tli, end) with the current one open-ended.</summary>
    private static List<(uint Timeline, PgLsn? End)> Segments(TimelineHistory history) =>
        [.. history.Switches.Select(s => (s.Timeline, (PgLsn?)s.SwitchPoint)), (history.CurrentTimeline, null)];

    private static PgLsn? Min(PgLsn? x, PgLsn? y) => x is null ? y : y is null ? x : (x.Value < y.Value ? x : y);
}
