using System.Buffers;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;
using PgDr.Archive.Compression;
using PgDr.Archive.Encryption;

namespace PgDr.Archive.Format;

/// <summary>
/// Stores a file as an archived object: compress, then (with a key) encrypt in authenticated records, in one pass
/// over the input with constant memory. See ArchiveFormat.cs for the layout.
/// </summary>
public static class ArchiveObjectWriter
{
    private const int ReadBufferSize = 128 * 1024;

    // Files from this size on are mapped rather than read (on Linux): WAL segments, not .history or .backup files.
    internal const long MappedMinimum = 1 << 20;

    // How much of a mapped file is hashed and compressed per step: small enough to stay in the core's cache between the two.
    private const int MappedStep = 256 * 1024;

    /// <summary>
    /// Reads <paramref name="plaintext"/> to its end and writes the archived object to <paramref name="destination"/>
    /// (which need not be seekable). Neither stream is disposed. If this throws, whatever reached the destination is
    /// garbage: publish the object only after this returns.
    /// </summary>
    public static async Task<ArchiveObjectSummary> WriteAsync(Stream plaintext, Stream destination, ArchiveObjectOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plaintext);
        ArgumentNullException.ThrowIfNull(destination);
        using var encoder = Encoder.Start(destination, options, stableInput: false);
        await destination.WriteAsync(encoder.HeaderBytes, cancellationToken).ConfigureAwait(false);
        var buffer = ArrayPool<byte>.Shared.Rent(ReadBufferSize);
        try
        {
            int read;
            while ((read = await plaintext.ReadAsync(buffer.AsMemory(0, ReadBufferSize), cancellationToken).ConfigureAwait(false)) > 0)
            {
                await encoder.AppendAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return await encoder.CompleteAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Stores the file at <paramref name="path"/> as <see cref="WriteAsync"/> does; throws FileNotFoundException or
    /// DirectoryNotFoundException when there is none. On Linux a file of at least 1 MiB is memory-mapped and hashed and
    /// compressed in place (see <see cref="MappedFile"/>); it is stored as long as it was when opened.
    /// </summary>
    public static async Task<ArchiveObjectSummary> WriteFileAsync(string path, Stream destination, ArchiveObjectOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(destination);
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
        var length = RandomAccess.GetLength(file);
        if (!OperatingSystem.IsLinux() || length < MappedMinimum)
        {
            var stream = new FileStream(file, FileAccess.Read, bufferSize: 0);
            await using (stream.ConfigureAwait(false))
            {
                return await WriteAsync(stream, destination, options, cancellationToken).ConfigureAwait(false);
            }
        }

        return await WriteMappedAsync(file, length, destination, options, cancellationToken).ConfigureAwait(false);
    }

    // Synchronous writes in the loop: the input is in memory already, and the destination is a local temporary file.
    private static async Task<ArchiveObjectSummary> WriteMappedAsync(SafeFileHandle file, long length, Stream destination, ArchiveObjectOptions options, CancellationToken cancellationToken)
    {
        // Mapped first, so it is unmapped last: an abandoned zstd compressor still reads its input while ending.
        using var mapped = MappedFile.Map(file, length);
        using var encoder = Encoder.Start(destination, options, stableInput: true);
        var history = encoder.Codec.StableInputHistory(options.Compression.Level);
        destination.Write(encoder.HeaderBytes);
        for (long offset = 0; offset < length; offset += MappedStep)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var step = (int)Math.Min(MappedStep, length - offset);
            encoder.Append(mapped.Slice(offset, step));
            mapped.ReleaseBefore(offset + step - history);
        }

        return await encoder.CompleteAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The header, the content hash, the compressor and the records of one object being written.</summary>
    private sealed class Encoder : IDisposable
    {
        private readonly ArchiveObjectOptions _options;
        private readonly ArchiveObjectHeader _header;
        private readonly IncrementalHash? _objectHash;
        private readonly ObjectCipher? _cipher;
        private readonly ContentHasher _contentHash;
        private readonly RecordWriterStream _records;
        private readonly Stream _compressor;
        private long _plaintextLength;
        private bool _compressorEnded;

        private Encoder(ArchiveObjectOptions options, CompressionCodec codec, ArchiveObjectHeader header, byte[] headerBytes, Stream destination, bool stableInput)
        {
            _options = options;
            Codec = codec;
            _header = header;
            HeaderBytes = headerBytes;
            _objectHash = options.Key is null ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
            _objectHash?.AppendData(headerBytes);
            _cipher = options.Key is null ? null : new ObjectCipher(options.Key, header.Salt, header.Checksum);
            _contentHash = new ContentHasher(options.Checksum);
            _records = new RecordWriterStream(destination, options.ChunkSize, _cipher, _objectHash);
            _compressor = codec.CreateCompressor(_records, options.Compression, leaveOpen: true, stableInput);
        }

        public CompressionCodec Codec { get; }

        /// <summary>Written to the destination by the caller, before anything is appended.</summary>
        public byte[] HeaderBytes { get; }

        public static Encoder Start(Stream destination, ArchiveObjectOptions options, bool stableInput)
        {
            ArgumentNullException.ThrowIfNull(options);
            options.Validate();

            // Chosen before anything is written, so a missing zstd/lz4 library fails cleanly.
            var codec = CompressionCodec.For(options.Compression.Algorithm, options.Codecs);
            var (header, headerBytes) = ArchiveObjectHeader.Create(options.Compression, options.Key, options.WrappedKey, options.Checksum, options.ChunkSize, options.Name);
            return new Encoder(options, codec, header, headerBytes, destination, stableInput);
        }

        public void Append(ReadOnlySpan<byte> plaintext)
        {
            _contentHash.Append(plaintext);
            _plaintextLength += plaintext.Length;
            _compressor.Write(plaintext);
        }

        public ValueTask AppendAsync(ReadOnlyMemory<byte> plaintext, CancellationToken cancellationToken)
        {
            _contentHash.Append(plaintext.Span);
            _plaintextLength += plaintext.Length;
            return _compressor.WriteAsync(plaintext, cancellationToken);
        }

        /// <summary>Ends the compressed stream and writes the final record; returns what was stored.</summary>
        public async Task<ArchiveObjectSummary> CompleteAsync(CancellationToken cancellationToken)
        {
            // Disposing ends the compressed stream (frame end, checksums) into the records.
            _compressorEnded = true;
            await _compressor.DisposeAsync().ConfigureAwait(false);
            var checksum = _contentHash.GetField();
            await _records.CompleteAsync(_plaintextLength, checksum, cancellationToken).ConfigureAwait(false);
            return new ArchiveObjectSummary
            {
                Header = _header,
                PlaintextLength = _plaintextLength,
                PlaintextChecksum = ContentChecksum.Format(_options.Checksum, checksum),
                StoredLength = HeaderBytes.Length + _records.BytesWritten,
            };
        }

        public void Dispose()
        {
            if (!_compressorEnded)
            {
                Abandon(_compressor);
            }

            _contentHash.Dispose();
            _cipher?.Dispose();
            _objectHash?.Dispose();
        }

        // After a failure the compressor's output is discarded anyway; only its native state must be released, and
        // an error while doing so must not hide the original one.
        private static void Abandon(Stream compressor)
        {
            try
            {
                compressor.Dispose();
            }
            catch (Exception ex) when (ex is IOException or InvalidDataException or InvalidOperationException or NotSupportedException or ObjectDisposedException)
            {
            }
        }
    }
}
