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

    /// <summary>
    /// The codec for <paramref name="algorithm"/>. For zstd and lz4 this loads the system library and throws
    /// <c>CompressionLibraryMissing</c> (naming the package to install) when it is absent.
    /// </summary>
    public static CompressionCodec For(CompressionAlgorithm algorithm) => algorithm switch
    {
        CompressionAlgorithm.None => NoCompression.Instance,
        CompressionAlgorithm.Gzip => GzipCodec.Instance,
        CompressionAlgorithm.Brotli => BrotliCodec.Instance,
        CompressionAlgorithm.Zstd => ZstdCodec.Create(),
        CompressionAlgorithm.Lz4 => Lz4Codec.Create(),
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

    /// <summary>
    /// A compressor that may spread one stream over <paramref name="threads"/> threads (zstd's worker threads: the same
    /// frame format, any decoder reads it). Codecs without such threads ignore the count.
    /// </summary>
    public virtual Stream CreateCompressor(Stream destination, int level, bool leaveOpen, bool stableInput, int threads) =>
        CreateCompressor(destination, level, leaveOpen, stableInput);

    /// <summary>A stream that reads <paramref name="source"/> and returns the decompressed bytes.</summary>
    public abstract Stream CreateDecompressor(Stream source, bool leaveOpen);

    public Stream CreateCompressor(Stream destination, CompressionSpec spec, bool leaveOpen, bool stableInput = false, int threads = 1)
    {
        if (spec.Algorithm != Algorithm)
        {
            throw new ArgumentException($"The spec is for {spec.Algorithm}, this codec is {Algorithm}.", nameof(spec));
        }

        return threads > 1 ? CreateCompressor(destination, spec.Level, leaveOpen, stableInput, threads) : CreateCompressor(destination, spec.Level, leaveOpen, stableInput);
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

        public override Stream CreateDecompressor(Stream source, bool leaveOpen) =>
            new BrotliDecompressionStream(new BrotliStream(source, CompressionMode.Decompress, leaveOpen));
    }

    /// <summary>
    /// BrotliStream reports damaged input as InvalidOperationException ("Decoder ran into invalid data"); every
    /// other decompressor here uses InvalidDataException, which is what callers catch.
    /// </summary>
    private sealed class BrotliDecompressionStream(BrotliStream inner) : Stream
    {
        public override bool CanRead => inner.CanRead;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            try
            {
                return inner.Read(buffer);
            }
            catch (InvalidOperationException ex) when (ex is not ObjectDisposedException)
            {
                throw new InvalidDataException($"brotli decompression failed: {ex.Message}", ex);
            }
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                return await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidOperationException ex) when (ex is not ObjectDisposedException)
            {
                throw new InvalidDataException($"brotli decompression failed: {ex.Message}", ex);
            }
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync().ConfigureAwait(false);
            await base.DisposeAsync().ConfigureAwait(false);
        }
    }

    private sealed class ZstdCodec : CompressionCodec
    {
        public static ZstdCodec Create()
        {
            _ = ZstdLibrary.Instance;
            return new ZstdCodec();
        }

        public override CompressionAlgorithm Algorithm => CompressionAlgorithm.Zstd;

        public override Stream CreateCompressor(Stream destination, int level, bool leaveOpen) => new ZstdCompressionStream(destination, level, leaveOpen);

        public override Stream CreateCompressor(Stream destination, int level, bool leaveOpen, bool stableInput) =>
            new ZstdCompressionStream(destination, level, leaveOpen, stableInput);

        public override Stream CreateCompressor(Stream destination, int level, bool leaveOpen, bool stableInput, int threads) =>
            new ZstdCompressionStream(destination, level, leaveOpen, stableInput, threads);

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

        public override Stream CreateCompressor(Stream destination, int level, bool leaveOpen) => new Lz4CompressionStream(destination, level, leaveOpen);

        public override Stream CreateCompressor(Stream destination, int level, bool leaveOpen, bool stableInput) =>
            new Lz4CompressionStream(destination, level, leaveOpen, stableInput);

        // A linked block refers back at most 64 KiB (LZ4's window).
        public override long StableInputHistory(int level) => 64 * 1024;

        public override Stream CreateDecompressor(Stream source, bool leaveOpen) => new Lz4DecompressionStream(source, leaveOpen);
    }
}
