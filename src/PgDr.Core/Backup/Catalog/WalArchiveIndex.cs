using System.Globalization;
using System.Text;
using PgDr.Archive.Encryption;
using PgDr.Archive.Format;
using PgDr.Archive.Repositories;
using PgDr.Archive.Stanza;
using PgDr.Archive.Transfer;
using PgDr.Archive.Wal;
using PgDr.Topology;

namespace PgDr.Backup.Catalog;

/// <summary>One line of a timeline history file: <see cref="Timeline"/> ended at <see cref="SwitchPoint"/>.</summary>
internal readonly record struct TimelineSwitch(uint Timeline, PgLsn SwitchPoint);

/// <summary>How far the archive lets a backup replay, along the timelines recovery would follow.</summary>
internal sealed class WalReach
{
    /// <summary>The timeline recovery ends on (recovery_target_timeline 'latest', or the one asked for).</summary>
    public uint TargetTimeline { get; init; }

    /// <summary>Every segment from the backup's start to its consistency point is archived.</summary>
    public bool Consistent { get; init; }

    /// <summary>The end of the last segment of the unbroken run from the backup's start; null when its first segment is missing.</summary>
    public PgLsn? UntilLsn { get; init; }

    /// <summary>When that last segment was stored: no commit after this time is in the archive.</summary>
    public DateTimeOffset? UntilTime { get; init; }

    public string? LastSegment { get; init; }

    /// <summary>Holes after the unbroken run, up to the newest segment archived on the path.</summary>
    public required IReadOnlyList<WalGap> Gaps { get; init; }
}

/// <summary>
/// The WAL a repository holds for a stanza, indexed by timeline and segment number, with the timeline history files:
/// enough to tell, without fetching any segment, whether a backup can become consistent and up to where it can be
/// rolled forward, on the timeline recovery will follow (as PostgreSQL picks it: for each segment the newest timeline
/// of the path that had begun by then).
/// </summary>
internal sealed class WalArchiveIndex
{
    private readonly Dictionary<uint, SortedDictionary<ulong, ArchiveObjectInfo>> _segments;
    private readonly Dictionary<uint, IReadOnlyList<TimelineSwitch>> _histories;

    private WalArchiveIndex(long segmentSize, Dictionary<uint, SortedDictionary<ulong, ArchiveObjectInfo>> segments, Dictionary<uint, IReadOnlyList<TimelineSwitch>> histories)
    {
        SegmentSize = segmentSize;
        _segments = segments;
        _histories = histories;
    }

    public long SegmentSize { get; }

    public IEnumerable<uint> Timelines => _segments.Keys.Concat(_histories.Keys).Distinct().Order();

    public static async Task<WalArchiveIndex> LoadAsync(IArchiveRepository repository, string stanza, long segmentSize, ArchiveReadOptions read, CancellationToken cancellationToken)
    {
        var segments = new Dictionary<uint, SortedDictionary<ulong, ArchiveObjectInfo>>();
        var historyFiles = new List<WalFileName>();
        await foreach (var (name, info) in WalArchiveCatalog.ListWalFilesAsync(repository, stanza, cancellationToken).ConfigureAwait(false))
        {
            if (name.Kind == WalFileKind.Segment)
            {
                if (!segments.TryGetValue(name.Timeline, out var ofTimeline))
                {
                    segments[name.Timeline] = ofTimeline = [];
                }

                ofTimeline[name.SegmentNumber(segmentSize)] = info;
            }
            else if (name.Kind == WalFileKind.TimelineHistory)
            {
                historyFiles.Add(name);
            }
        }

        var histories = new Dictionary<uint, IReadOnlyList<TimelineSwitch>>();
        foreach (var history in historyFiles)
        {
            histories[history.Timeline] = ParseHistory(await ReadHistoryAsync(repository, stanza, history, read, cancellationToken).ConfigureAwait(false));
        }

        return new WalArchiveIndex(segmentSize, segments, histories);
    }

    /// <summary>For tests and callers that already hold the listing.</summary>
    internal static WalArchiveIndex FromListing(long segmentSize, IEnumerable<(WalFileName Name, ArchiveObjectInfo Info)> segments, IReadOnlyDictionary<uint, string> histories)
    {
        var bySegment = new Dictionary<uint, SortedDictionary<ulong, ArchiveObjectInfo>>();
        foreach (var (name, info) in segments)
        {
            if (!bySegment.TryGetValue(name.Timeline, out var ofTimeline))
            {
                bySegment[name.Timeline] = ofTimeline = [];
            }

            ofTimeline[name.SegmentNumber(segmentSize)] = info;
        }

        return new WalArchiveIndex(segmentSize, bySegment, histories.ToDictionary(h => h.Key, h => ParseHistory(h.Value)));
    }

    public bool HasTimeline(uint timeline) => _segments.ContainsKey(timeline) || _histories.ContainsKey(timeline);

    public bool Holds(uint timeline, ulong segment) => _segments.TryGetValue(timeline, out var s) && s.ContainsKey(segment);

    /// <summary>
    /// The timelines a backup taken on <paramref name="timeline"/> and consistent at <paramref name="consistentAt"/> can be
    /// recovered onto: its own, and every timeline whose history branches off it at or after that point.
    /// </summary>
    public IReadOnlyList<uint> DescendantsOf(uint timeline, PgLsn consistentAt) =>
        [.. _histories
            .Where(h => h.Value.Any(s => s.Timeline == timeline && s.SwitchPoint >= consistentAt))
            .Select(h => h.Key)
            .Append(timeline)
            .Distinct()
            .Order()];

    /// <summary>The timeline 'latest' recovery of such a backup ends on: the newest descendant the archive has.</summary>
    public uint LatestTimelineFor(uint timeline, PgLsn consistentAt) => DescendantsOf(timeline, consistentAt).Max();

    /// <summary>
    /// How far recovery can go from the segment <paramref name="startSegment"/> of <paramref name="timeline"/> onto
    /// <paramref name="targetTimeline"/>, needing the segments up to <paramref name="consistentSegment"/> to become consistent.
    /// </summary>
    public WalReach Reach(uint timeline, ulong startSegment, ulong consistentSegment, uint targetTimeline)
    {
        var path = PathTo(timeline, targetTimeline);
        var newest = path.Select(p => _segments.TryGetValue(p.Timeline, out var s) && s.Count > 0 ? s.Keys.Max() : 0UL).DefaultIfEmpty(0UL).Max();
        var gaps = new List<WalGap>();
        ulong? lastPresent = null;
        ArchiveObjectInfo? lastInfo = null;
        uint lastTimeline = timeline;
        var unbroken = true;
        ulong? gapStart = null;
        for (var segment = startSegment; segment <= Math.Max(newest, consistentSegment); segment++)
        {
            var onTimeline = TimelineOf(path, segment);
            var present = _segments.TryGetValue(onTimeline, out var s) && s.TryGetValue(segment, out var info);
            if (present && unbroken)
            {
                lastPresent = segment;
                lastInfo = _segments[onTimeline][segment];
                lastTimeline = onTimeline;
            }

            if (!present)
            {
                unbroken = false;
                gapStart ??= segment;
            }
            else if (gapStart is { } first)
            {
                gaps.Add(new WalGap(Name(TimelineOf(path, first), first), Name(TimelineOf(path, segment - 1), segment - 1), (long)(segment - first)));
                gapStart = null;
            }
        }

        return new WalReach
        {
            TargetTimeline = targetTimeline,
            Consistent = lastPresent is { } until && until >= consistentSegment,
            UntilLsn = lastPresent is { } end ? new PgLsn((end + 1) * (ulong)SegmentSize) : null,
            UntilTime = lastInfo?.LastModified,
            LastSegment = lastPresent is { } last ? Name(lastTimeline, last) : null,
            Gaps = gaps,
        };
    }

    /// <summary>The segment that holds the byte just before <paramref name="lsn"/> (where a record ending there lies).</summary>
    public ulong SegmentBefore(PgLsn lsn) => lsn.Value == 0 ? 0 : (lsn.Value - 1) / (ulong)SegmentSize;

    public ulong SegmentOf(PgLsn lsn) => lsn.Value / (ulong)SegmentSize;

    private string Name(uint timeline, ulong segment) => WalFileName.ForSegment(timeline, segment, SegmentSize).Name;

    /// <summary>(timeline, first segment read from it) along the history of <paramref name="target"/>, from <paramref name="start"/>.</summary>
    private List<(uint Timeline, ulong FirstSegment)> PathTo(uint start, uint target)
    {
        if (target == start || !_histories.TryGetValue(target, out var history))
        {
            return [(start, 0)];
        }

        var path = new List<(uint Timeline, ulong FirstSegment)> { (start, 0) };
        var began = false;
        foreach (var entry in history)
        {
            if (entry.Timeline == start)
            {
                began = true;
            }

            if (began)
            {
                // The timeline after this one begins in the segment that holds the switch point.
                var next = history.SkipWhile(h => h.Timeline != entry.Timeline).Skip(1).Select(h => h.Timeline).DefaultIfEmpty(target).First();
                path.Add((next, SegmentOf(entry.SwitchPoint)));
            }
        }

        return path;
    }

    private static uint TimelineOf(List<(uint Timeline, ulong FirstSegment)> path, ulong segment)
    {
        var timeline = path[0].Timeline;
        foreach (var (t, first) in path)
        {
            if (first <= segment)
            {
                timeline = t;
            }
        }

        return timeline;
    }

    private static async Task<string> ReadHistoryAsync(IArchiveRepository repository, string stanza, WalFileName name, ArchiveReadOptions read, CancellationToken cancellationToken)
    {
        var stored = await repository.OpenReadAsync(ArchiveLayout.WalKey(stanza, name), cancellationToken).ConfigureAwait(false);
        if (stored is null)
        {
            return string.Empty;
        }

        using var plaintext = new MemoryStream();
        await using (stored.ConfigureAwait(false))
        {
            await ArchiveObjectReader.ReadAsync(stored, plaintext, read, cancellationToken).ConfigureAwait(false);
        }

        return Encoding.UTF8.GetString(plaintext.GetBuffer(), 0, (int)plaintext.Length);
    }

    /// <summary>Parses PostgreSQL's timeline history format: "parentTLI  switchpoint  reason", comments with '#'.</summary>
    internal static IReadOnlyList<TimelineSwitch> ParseHistory(string text)
    {
        var result = new List<TimelineSwitch>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var fields = line.Split((char[]?)null, 3, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length >= 2 && uint.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var timeline))
            {
                try
                {
                    result.Add(new TimelineSwitch(timeline, PgLsn.Parse(fields[1])));
                }
                catch (FormatException)
                {
                    // A line PostgreSQL would not have written; the rest still counts.
                }
            }
        }

        return result;
    }
}
