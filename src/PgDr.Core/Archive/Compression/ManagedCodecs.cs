using K4os.Compression.LZ4;
using K4os.Compression.LZ4.Streams;

namespace PgDr.Archive.Compression;

/// <summary>
/// zstd through ZstdSharp, a port of libzstd to C#: the same frame format with zstd's content checksum, so
/// <c>zstd -d</c>, libzstd and this read each other's output. It copies its input (no stable-input mode).
/// </summary>
internal sealed class ManagedZstdCodec : CompressionCodec
{
    public static readonly ManagedZstdCodec Instance = new();

    public override CompressionAlgorithm Algorithm => CompressionAlgorithm.Zstd;

    public override string Implementation => "managed (ZstdSharp)";

    public override Stream CreateCompressor(Stream destination, int level, bool leaveOpen)
    {
        var stream = new ZstdSharp.CompressionStream(destination, level, leaveOpen: leaveOpen);
        stream.SetParameter(ZstdSharp.Unsafe.ZSTD_cParameter.ZSTD_c_checksumFlag, 1);
        return stream;
    }

    public override Stream CreateDecompressor(Stream source, bool leaveOpen) =>
        new DecoderErrorStream(new ZstdSharp.DecompressionStream(source, checkEndOfStream: true, leaveOpen: leaveOpen), "zstd", static ex => ex is ZstdSharp.ZstdException or EndOfStreamException);
}

/// <summary>
/// The LZ4 frame format through K4os.Compression.LZ4: linked 64 KiB blocks with an XXH32 content checksum, the frame
/// liblz4 writes with PgDr's settings (FLG 0x44, BD 0x40), so <c>lz4 -d</c>, liblz4 and this read each other's output.
/// </summary>
internal sealed class ManagedLz4Codec : CompressionCodec
{
    public static readonly ManagedLz4Codec Instance = new();

    public override CompressionAlgorithm Algorithm => CompressionAlgorithm.Lz4;

    public override string Implementation => "managed (K4os.Compression.LZ4)";

    public override Stream CreateCompressor(Stream destination, int level, bool leaveOpen) =>
        LZ4Stream.Encode(destination, new LZ4EncoderSettings { CompressionLevel = ToLevel(level), ChainBlocks = true, ContentChecksum = true }, leaveOpen);

    public override Stream CreateDecompressor(Stream source, bool leaveOpen) =>
        new DecoderErrorStream(LZ4Stream.Decode(source, new LZ4DecoderSettings(), leaveOpen), "lz4", static ex => ex is EndOfStreamException or ArgumentException);

    // lz4's levels: 1-2 fast, 3-12 HC (LZ4Level's numbering), as liblz4 maps them.
    private static LZ4Level ToLevel(int level) => level <= 2 ? LZ4Level.L00_FAST : (LZ4Level)Math.Min(level, (int)LZ4Level.L12_MAX);
}
