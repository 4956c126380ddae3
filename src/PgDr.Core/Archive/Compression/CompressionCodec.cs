using System.IO.Compression;

namespace PgDr.Archive.Compression;

/// <summary>
/// One compression algorithm as a pair of stream wrappers. Compressors are write-only streams that write the end
/// of the compressed stream when disposed (dispose them before using the destination's content); decompressors are
/// read-only streams that fail with <see cref="InvalidDataException"/> on damaged or truncated input. Both keep
/// a fixed amount of memory whatever the length of the data.
/// </summary>
public abstract class CompressionCodec
{
    private protected CompressionCodec()
    {
    }

    public abstract CompressionAlgorithm Algorithm { get; }

    /// <summary>Which implementation this is, for messages and benchmarks (native libzstd, ZstdSharp, .NET's own ...).</summary>
    public virtual string Implementation => "built into .NET";

    /// <summary>
    /// The codec for <paramref name="algorithm"/>. For zstd and lz4, <paramref name="implementation"/> chooses between the
    /// system library and the managed port (<see cref="CodecImplementation"/>); Native throws
    /// <c>CompressionLibraryMissing</c> (naming the package to install) when the library is absent, Auto then takes the port.
    /// </summary>
    public static CompressionCodec For(CompressionAlgorithm algorithm, CodecImplementation implementation = CodecImplementation.Auto) => algorithm switch
    {
        CompressionAlgorithm.None => NoCompression.Instance,
        CompressionAlgorithm.Gzip => GzipCodec.Instance,
        CompressionAlgorithm.Brotli => BrotliCodec.Instance,
        CompressionAlgorithm.Zstd => implementation switch
        {
            CodecImplementation.Managed => ManagedZstdCodec.Instance,
            CodecImplementation.Native => ZstdCodec.Create(),
            _ => ZstdLibrary.IsAvailable ? ZstdCodec.Create() : ManagedZstdCodec.Instance,
        },
        CompressionAlgorithm.Lz4 => implementation switch
        {
            CodecImplementation.Managed => ManagedLz4Codec.Instance,
            CodecImplementation.Native => Lz4Codec.Create(),
            _ => Lz4Library.IsAvailable ? Lz4Codec.Create() : ManagedLz4Codec.Instance,
        },
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "Unknown compression algorithm."),
    };

    /// <summary>A stream that compresses what is written to it into <paramref name="destination"/>.</summary>
    public abstract Stream CreateCompressor(Stream destination, int level, bool leaveOpen);

    /// <summary>
    /// A compressor for input that is one block of memory (a mapped file) which stays unchanged until the compressor is
    /// disposed, written synchronously in order, each write continuing where the last ended. zstd and lz4 then read
    /// their matches in place; the other codecs copy what they keep, as always.
    /// </summary>
    public virtual Stream CreateCompressor(Stream destination, int level, bool leaveOpen, bool stableInput) =>
        CreateCompressor(destination, level, leaveOpen);

    /// <summary>
    /// How far behind the last byte written a stable-input compressor at <paramref name="level"/> may still read (0 when
    /// it reads nothing twice). Memory further back can be released; it only costs a page fault if it is read again.
    /// </summary>
    public virtual long StableInputHistory(int level) => 0;

    /// <summary>A stream that reads <paramref name="source"/> and returns the decompressed bytes.</summary>
    public abstract Stream CreateDecompressor(Stream source, bool leaveOpen);

    public Stream CreateCompressor(Stream destination, CompressionSpec spec, bool leaveOpen, bool stableInput = false)
    {
        if (spec.Algorithm != Algorithm)
        {
            throw new ArgumentException($"The spec is for {spec.Algorithm}, this codec is {Algorithm}.", nameof(spec));
        }

        return CreateCompressor(destination, spec.Level, leaveOpen, stableInput);
    }

    public override string ToString() => CompressionSpec.Name(Algorithm);

    private sealed class NoCompression : CompressionCodec
    {
        public static readonly NoCompression Instance = new();

        public override CompressionAlgorithm Algorithm => CompressionAlgorithm.None;

        public override Stream CreateCompressor(Stream destination, int level, bool leaveOpen) => new NonOwningStream(destination, leaveOpen);

        public override Stream CreateDecompressor(Stream source, bool leaveOpen) => new NonOwningStream(source, leaveOpen);
    }

    private sealed class GzipCodec : CompressionCodec
    {
        public static readonly GzipCodec Instance = new();

        public override CompressionAlgorithm Algorithm => CompressionAlgorithm.Gzip;

        public override Stream CreateCompressor(Stream destination, int level, bool leaveOpen) =>
            new GZipStream(destination, level switch { <= 3 => CompressionLevel.Fastest, <= 6 => CompressionLevel.Optimal, _ => CompressionLevel.SmallestSize }, leaveOpen);

        public override Stream CreateDecompressor(Stream source, bool leaveOpen) => new GZipStream(source, CompressionMode.Decompress, leaveOpen);
    }

    private sealed class BrotliCodec : CompressionCodec
    {
        public static readonly BrotliCodec Instance = new();

        public override CompressionAlgorithm Algorithm => CompressionAlgorithm.Brotli;

        public override Stream CreateCompressor(Stream destination, int level, bool leaveOpen) =>
            new BrotliStream(destination, level switch { <= 3 => CompressionLevel.Fastest, <= 9 => CompressionLevel.Optimal, _ => CompressionLevel.SmallestSize }, leaveOpen);

        // BrotliStream reports damaged input as InvalidOperationException ("Decoder ran into invalid data").
        public override Stream CreateDecompressor(Stream source, bool leaveOpen) =>
            new DecoderErrorStream(new BrotliStream(source, CompressionMode.Decompress, leaveOpen), "brotli", static ex => ex is InvalidOperationException and not ObjectDisposedException);
    }

    private sealed class ZstdCodec : CompressionCodec
    {
        public static ZstdCodec Create()
        {
            _ = ZstdLibrary.Instance;
            return new ZstdCodec();
        }

        public override CompressionAlgorithm Algorithm => CompressionAlgorithm.Zstd;

        public override string Implementation => $"native (libzstd {ZstdLibrary.Instance.VersionNumber / 10000}.{ZstdLibrary.Instance.VersionNumber / 100 % 100}.{ZstdLibrary.Instance.VersionNumber % 100})";

        public override Stream CreateCompressor(Stream destination, int level, bool leaveOpen) => new ZstdCompressionStream(destination, level, leaveOpen);

        public override Stream CreateCompressor(Stream destination, int level, bool leaveOpen, bool stableInput) =>
            new ZstdCompressionStream(destination, level, leaveOpen, stableInput);

        public override long StableInputHistory(int level) => ZstdLibrary.Instance.WindowSize(level);

        public override Stream CreateDecompressor(Stream source, bool leaveOpen) => new ZstdDecompressionStream(source, leaveOpen);
    }

    private sealed class Lz4Codec : CompressionCodec
    {
        public static Lz4Codec Create()
        {
            _ = Lz4Library.Instance;
            return new Lz4Codec();
        }

        public override CompressionAlgorithm Algorithm => CompressionAlgorithm.Lz4;

        public override string Implementation => "native (liblz4)";

        public override Stream CreateCompressor(Stream destination, int level, bool leaveOpen) => new Lz4CompressionStream(destination, level, leaveOpen);

        public override Stream CreateCompressor(Stream destination, int level, bool leaveOpen, bool stableInput) =>
            new Lz4CompressionStream(destination, level, leaveOpen, stableInput);

        // A linked block refers back at most 64 KiB (LZ4's window).
        public override long StableInputHistory(int level) => 64 * 1024;

        public override Stream CreateDecompressor(Stream source, bool leaveOpen) => new Lz4DecompressionStream(source, leaveOpen);
    }
}
