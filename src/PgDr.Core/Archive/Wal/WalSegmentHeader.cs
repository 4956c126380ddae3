using System.Buffers.Binary;
using PgDr.Errors;
using PgDr.Topology;

namespace PgDr.Archive.Wal;

/// <summary>
/// The long page header at the start of every WAL segment (XLogLongPageHeaderData). It names the cluster
/// (system identifier) the segment belongs to, which lets push refuse a segment of another cluster without a
/// database connection.
/// </summary>
/// <remarks>
/// Layout (little-endian, as written on x86 and ARM): xlp_magic u16 @0, xlp_info u16 @2, xlp_tli u32 @4,
/// xlp_pageaddr u64 @8, xlp_rem_len u32 @16, padding @20, xlp_sysid u64 @24, xlp_seg_size u32 @32,
/// xlp_xlog_blcksz u32 @36. The timeline in the header is the timeline of the first record on the page; the first
/// segment of a new timeline is a copy of the old timeline's segment, so it can differ from the file name's.
/// </remarks>
public sealed class WalSegmentHeader
{
    /// <summary>Bytes this reader needs from the start of a segment.</summary>
    public const int Length = 40;

    private const ushort LongHeaderFlag = 0x0002;

    // XLP_ALL_FLAGS: XLP_FIRST_IS_CONTRECORD | XLP_LONG_HEADER | XLP_BKP_REMOVABLE. Other bits mean garbage.
    private const ushort AllFlags = 0x0007;

    // XLOG_PAGE_MAGIC changes whenever the WAL format changes, at least once per major release.
    private static readonly Dictionary<ushort, int> MajorVersionByMagic = new()
    {
        [0xD101] = 12,
        [0xD106] = 13,
        [0xD10D] = 14,
        [0xD110] = 15,
        [0xD113] = 16,
        [0xD116] = 17,
    };

    private WalSegmentHeader(ushort magic, ushort info, uint timeline, ulong pageAddress, ulong systemIdentifier, uint segmentSize, uint blockSize)
    {
        Magic = magic;
        Info = info;
        Timeline = timeline;
        PageAddress = new PgLsn(pageAddress);
        SystemIdentifier = systemIdentifier;
        SegmentSize = segmentSize;
        BlockSize = blockSize;
    }

    /// <summary>The known XLOG_PAGE_MAGIC values and the PostgreSQL major version that writes each.</summary>
    public static IReadOnlyDictionary<ushort, int> KnownMagics => MajorVersionByMagic;

    /// <summary>xlp_magic: the WAL format version.</summary>
    public ushort Magic { get; }

    /// <summary>The PostgreSQL major version that writes <see cref="Magic"/>; null for a release newer than this table.</summary>
    public int? PgMajorVersion => MajorVersionByMagic.TryGetValue(Magic, out var major) ? major : null;

    /// <summary>xlp_info flag bits.</summary>
    public ushort Info { get; }

    /// <summary>xlp_tli: timeline of the first record on the page.</summary>
    public uint Timeline { get; }

    /// <summary>xlp_pageaddr: the WAL position of the segment's first byte.</summary>
    public PgLsn PageAddress { get; }

    /// <summary>xlp_sysid: the cluster's system identifier from pg_control.</summary>
    public ulong SystemIdentifier { get; }

    /// <summary>xlp_seg_size: the cluster's WAL segment size in bytes.</summary>
    public uint SegmentSize { get; }

    /// <summary>xlp_xlog_blcksz: the WAL block (page) size in bytes.</summary>
    public uint BlockSize { get; }

    /// <summary>The segment number the header says it is (page address / segment size).</summary>
    public ulong SegmentNumber => PageAddress.Value / SegmentSize;

    /// <summary>
    /// Reads and validates the header from the first <see cref="Length"/> bytes of a segment.
    /// Throws <c>NotAWalSegment</c> for anything that is not the start of a WAL segment.
    /// </summary>
    public static WalSegmentHeader Parse(ReadOnlySpan<byte> segmentStart, object? target = null)
    {
        if (segmentStart.Length < Length)
        {
            throw NotAWalSegment($"it is {segmentStart.Length} bytes long, shorter than a WAL page header.", target);
        }

        var magic = BinaryPrimitives.ReadUInt16LittleEndian(segmentStart);
        var info = BinaryPrimitives.ReadUInt16LittleEndian(segmentStart[2..]);
        var timeline = BinaryPrimitives.ReadUInt32LittleEndian(segmentStart[4..]);
        var pageAddress = BinaryPrimitives.ReadUInt64LittleEndian(segmentStart[8..]);
        var systemIdentifier = BinaryPrimitives.ReadUInt64LittleEndian(segmentStart[24..]);
        var segmentSize = BinaryPrimitives.ReadUInt32LittleEndian(segmentStart[32..]);
        var blockSize = BinaryPrimitives.ReadUInt32LittleEndian(segmentStart[36..]);

        // Unknown magics of the 0xD0xx/0xD1xx family that every release since 9.0 has used are let through (with
        // PgMajorVersion null): a new PostgreSQL release must not stop archiving, and the checks below still refuse garbage.
        if (!MajorVersionByMagic.ContainsKey(magic) && (magic >> 9) != (0xD000 >> 9))
        {
            throw NotAWalSegment($"the page magic 0x{magic:X4} is not one PostgreSQL writes.", target);
        }

        if ((info & LongHeaderFlag) == 0 || (info & ~AllFlags) != 0)
        {
            throw NotAWalSegment($"the page flags 0x{info:X4} do not mark the long header that starts a segment.", target);
        }

        if (!WalSegmentSize.IsValid(segmentSize))
        {
            throw NotAWalSegment($"the recorded segment size {segmentSize} is not a power of two from 1 MiB to 1 GiB.", target);
        }

        if (blockSize is < 1024 or > 65536 || (blockSize & (blockSize - 1)) != 0)
        {
            throw NotAWalSegment($"the recorded WAL block size {blockSize} is not a power of two from 1 KiB to 64 KiB.", target);
        }

        if (pageAddress % segmentSize != 0)
        {
            throw NotAWalSegment($"the page address {new PgLsn(pageAddress)} is not the start of a segment.", target);
        }

        if (timeline == 0 || systemIdentifier == 0)
        {
            throw NotAWalSegment("the timeline or system identifier is zero.", target);
        }

        return new WalSegmentHeader(magic, info, timeline, pageAddress, systemIdentifier, segmentSize, blockSize);
    }

    /// <summary>Reads the header from the current position of <paramref name="segment"/> (normally its start).</summary>
    public static async Task<WalSegmentHeader> ReadAsync(Stream segment, CancellationToken cancellationToken, object? target = null)
    {
        var buffer = new byte[Length];
        var read = await segment.ReadAtLeastAsync(buffer, Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        return Parse(buffer.AsSpan(0, read), target);
    }

    /// <summary>Reads the header of the segment file at <paramref name="path"/>; the file may be open in PostgreSQL.</summary>
    public static async Task<WalSegmentHeader> ReadFileAsync(string path, CancellationToken cancellationToken)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1, useAsync: true);
        await using (file.ConfigureAwait(false))
        {
            return await ReadAsync(file, cancellationToken, path).ConfigureAwait(false);
        }
    }

    public override string ToString() =>
        $"WAL segment header: system {SystemIdentifier}, timeline {Timeline}, at {PageAddress}, segment {Bytes.Format(SegmentSize)}, block {BlockSize}, PostgreSQL {PgMajorVersion?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown"}";

    private static PgDrArchiveException NotAWalSegment(string reason, object? target) =>
        new(ErrorIds.NotAWalSegment, PgDrErrorCategory.InvalidData, $"{(target is null ? "The data" : $"'{target}'")} is not a WAL segment: {reason}", target);
}
