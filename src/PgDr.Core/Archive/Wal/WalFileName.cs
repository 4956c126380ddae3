using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using PgDr.Errors;
using PgDr.Topology;

namespace PgDr.Archive.Wal;

/// <summary>
/// A validated WAL file name as archive_command (<c>%f</c>) and restore_command pass it. Every name is checked
/// here before it is used for any I/O, so a name can never carry a path (<c>/</c>, <c>\</c>, <c>..</c>) into a
/// repository.
/// </summary>
/// <remarks>
/// Hex digits must be upper case. PostgreSQL writes them that way (<c>%08X</c>) and its own IsXLogFileName
/// rejects anything else, so a lower-case name never comes from PostgreSQL. Accepting it would either create a
/// second object key for the same segment on case-sensitive stores, or need silent normalisation that hides a
/// caller's bug; refusing it is the honest answer.
/// </remarks>
public sealed class WalFileName : IEquatable<WalFileName>
{
    private const string PartialSuffix = ".partial";
    private const string BackupSuffix = ".backup";
    private const string HistorySuffix = ".history";

    // The largest segment part any legal segment size allows (1 MiB segments: 4096 per 4 GiB log id).
    private const uint MaxSegmentIdForAnySize = 0xFFF;

    private WalFileName(string name, WalFileKind kind, uint timeline, uint? logId, uint? segmentId, uint? backupOffset)
    {
        Name = name;
        Kind = kind;
        Timeline = timeline;
        LogId = logId;
        SegmentId = segmentId;
        BackupOffset = backupOffset;
    }

    /// <summary>The file name exactly as given (and as stored in repositories).</summary>
    public string Name { get; }

    public WalFileKind Kind { get; }

    /// <summary>The timeline: the first 8 hex digits of every kind of name.</summary>
    public uint Timeline { get; }

    /// <summary>The middle 8 hex digits (the "log" part of the segment number); null for a timeline history file.</summary>
    public uint? LogId { get; }

    /// <summary>The last 8 hex digits of the 24-digit part; null for a timeline history file.</summary>
    public uint? SegmentId { get; }

    /// <summary>For a backup history file, the byte offset inside the segment where the backup started.</summary>
    public uint? BackupOffset { get; }

    /// <summary>The 24-digit segment part (<c>000000010000000000000001</c>); null for a timeline history file.</summary>
    public string? SegmentName => Kind == WalFileKind.TimelineHistory ? null : Name[..24];

    /// <summary>Parses and validates; throws <see cref="PgDrArgumentException"/> (<c>InvalidWalFileName</c>) otherwise.</summary>
    public static WalFileName Parse(string? name) =>
        TryParse(name, out var result, out var reason)
            ? result
            : throw new PgDrArgumentException(ErrorIds.InvalidWalFileName, $"'{Printable(name)}' is not a WAL file name: {reason}", name);

    public static bool TryParse(string? name, [NotNullWhen(true)] out WalFileName? result) => TryParse(name, out result, out _);

    /// <summary>The name of segment <paramref name="segmentNumber"/> (XLogFileName).</summary>
    public static WalFileName ForSegment(uint timeline, ulong segmentNumber, long segmentSize = WalSegmentSize.Default)
    {
        ValidateTimeline(timeline);
        var perLogId = WalSegmentSize.SegmentsPerLogId(segmentSize);
        var logId = segmentNumber / perLogId;
        if (logId > uint.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(segmentNumber), segmentNumber, "The segment number is beyond the end of the WAL address space.");
        }

        var segmentId = (uint)(segmentNumber % perLogId);
        return new WalFileName(FormattableString.Invariant($"{timeline:X8}{logId:X8}{segmentId:X8}"), WalFileKind.Segment, timeline, (uint)logId, segmentId, null);
    }

    /// <summary>The history file of <paramref name="timeline"/> (TLHistoryFileName).</summary>
    public static WalFileName ForTimelineHistory(uint timeline)
    {
        ValidateTimeline(timeline);
        return new WalFileName(FormattableString.Invariant($"{timeline:X8}{HistorySuffix}"), WalFileKind.TimelineHistory, timeline, null, null, null);
    }

    /// <summary>
    /// The segment number (XLogSegNo) the name refers to, for a cluster with <paramref name="segmentSize"/>-byte segments.
    /// A name whose segment part is too large for that size is refused with <c>InvalidWalFileName</c>.
    /// </summary>
    public ulong SegmentNumber(long segmentSize = WalSegmentSize.Default)
    {
        var (logId, segmentId) = RequireSegmentParts();
        var perLogId = WalSegmentSize.SegmentsPerLogId(segmentSize);
        if (segmentId >= perLogId)
        {
            throw new PgDrArgumentException(
                ErrorIds.InvalidWalFileName,
                $"'{Name}' cannot exist with {Bytes.Format(segmentSize)} segments: the segment part must be below {perLogId:X8}.",
                Name);
        }

        if (BackupOffset is { } offset && offset >= segmentSize)
        {
            throw new PgDrArgumentException(
                ErrorIds.InvalidWalFileName,
                $"'{Name}' cannot exist with {Bytes.Format(segmentSize)} segments: the backup offset lies beyond the segment.",
                Name);
        }

        return ((ulong)logId * perLogId) + segmentId;
    }

    /// <summary>The WAL position where the segment starts.</summary>
    public PgLsn StartLsn(long segmentSize = WalSegmentSize.Default) => new(SegmentNumber(segmentSize) * (ulong)segmentSize);

    /// <summary>
    /// The segment PostgreSQL will ask for after this one on the same timeline (what async fetch prefetches).
    /// Only defined for <see cref="WalFileKind.Segment"/>: after a partial segment the history continues on another timeline.
    /// </summary>
    public WalFileName Next(long segmentSize = WalSegmentSize.Default)
    {
        if (Kind != WalFileKind.Segment)
        {
            throw new InvalidOperationException($"'{Name}' is a {Kind} file; only complete segments have a next segment.");
        }

        var number = SegmentNumber(segmentSize);
        return ForSegment(Timeline, checked(number + 1), segmentSize);
    }

    public bool Equals(WalFileName? other) => other is not null && string.Equals(Name, other.Name, StringComparison.Ordinal);

    public override bool Equals(object? obj) => Equals(obj as WalFileName);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Name);

    public override string ToString() => Name;

    private (uint LogId, uint SegmentId) RequireSegmentParts() =>
        LogId is { } log && SegmentId is { } seg
            ? (log, seg)
            : throw new InvalidOperationException($"'{Name}' is a timeline history file; it has no segment number.");

    private static bool TryParse(string? name, [NotNullWhen(true)] out WalFileName? result, out string reason)
    {
        result = null;
        if (string.IsNullOrEmpty(name))
        {
            reason = "the name is empty.";
            return false;
        }

        // Lengths first: every legal name has one of four exact lengths, so anything with a path in it fails early.
        switch (name.Length)
        {
            case 24:
                if (!TrySegmentPart(name, out var tli, out var log, out var seg, out reason))
                {
                    return false;
                }

                result = new WalFileName(name, WalFileKind.Segment, tli, log, seg, null);
                return true;

            case 24 + 8 when name.EndsWith(PartialSuffix, StringComparison.Ordinal):
                if (!TrySegmentPart(name, out tli, out log, out seg, out reason))
                {
                    return false;
                }

                result = new WalFileName(name, WalFileKind.Partial, tli, log, seg, null);
                return true;

            case 24 + 1 + 8 + 7 when name[24] == '.' && name.EndsWith(BackupSuffix, StringComparison.Ordinal):
                if (!TrySegmentPart(name, out tli, out log, out seg, out reason))
                {
                    return false;
                }

                if (!TryHex8(name.AsSpan(25, 8), out var offset))
                {
                    reason = "the backup offset must be 8 upper-case hex digits.";
                    return false;
                }

                if (offset >= WalSegmentSize.Maximum)
                {
                    reason = "the backup offset lies beyond the largest possible segment.";
                    return false;
                }

                result = new WalFileName(name, WalFileKind.BackupHistory, tli, log, seg, offset);
                return true;

            case 8 + 8 when name.EndsWith(HistorySuffix, StringComparison.Ordinal):
                if (!TryHex8(name.AsSpan(0, 8), out tli))
                {
                    reason = "the timeline must be 8 upper-case hex digits.";
                    return false;
                }

                if (tli == 0)
                {
                    reason = "timeline 0 does not exist.";
                    return false;
                }

                result = new WalFileName(name, WalFileKind.TimelineHistory, tli, null, null, null);
                reason = string.Empty;
                return true;

            default:
                reason = "expected 24 upper-case hex digits, optionally followed by .partial or .XXXXXXXX.backup, or 8 hex digits followed by .history.";
                return false;
        }
    }

    private static bool TrySegmentPart(string name, out uint timeline, out uint logId, out uint segmentId, out string reason)
    {
        logId = segmentId = 0;
        if (!TryHex8(name.AsSpan(0, 8), out timeline) || !TryHex8(name.AsSpan(8, 8), out logId) || !TryHex8(name.AsSpan(16, 8), out segmentId))
        {
            reason = "the first 24 characters must be upper-case hex digits.";
            return false;
        }

        if (timeline == 0)
        {
            reason = "timeline 0 does not exist.";
            return false;
        }

        if (segmentId > MaxSegmentIdForAnySize)
        {
            reason = $"the segment part {segmentId:X8} is too large for any WAL segment size.";
            return false;
        }

        reason = string.Empty;
        return true;
    }

    // Exactly 8 of 0-9 A-F. uint.TryParse(HexNumber) would also take lower case, so the digits are checked by hand.
    private static bool TryHex8(ReadOnlySpan<char> digits, out uint value)
    {
        value = 0;
        if (digits.Length != 8)
        {
            return false;
        }

        foreach (var c in digits)
        {
            if (c is not ((>= '0' and <= '9') or (>= 'A' and <= 'F')))
            {
                return false;
            }
        }

        return uint.TryParse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }

    private static void ValidateTimeline(uint timeline)
    {
        if (timeline == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(timeline), "Timeline 0 does not exist; timelines start at 1.");
        }
    }

    // Names reach error messages and logs; control characters in a hostile argument must not.
    private static string Printable(string? name)
    {
        if (name is null)
        {
            return string.Empty;
        }

        var clipped = name.Length > 80 ? name[..80] + "..." : name;
        return string.Create(clipped.Length, clipped, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                span[i] = char.IsControl(source[i]) ? '?' : source[i];
            }
        });
    }
}
