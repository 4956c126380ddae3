using System.Buffers;
using System.Security.Cryptography;
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

    /// <summary>
    /// Reads <paramref name="plaintext"/> to its end and writes the archived object to <paramref name="destination"/>
    /// (which need not be seekable). Neither stream is disposed. If this throws, whatever reached the destination is
    /// garbage: publish the object only after this returns.
    /// </summary>
    public static async Task<ArchiveObjectSummary> WriteAsync(Stream plaintext, Stream destination, ArchiveObjectOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plaintext);
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();

        // Chosen before anything is written, so a missing zstd/lz4 library fails cleanly.
        var codec = CompressionCodec.For(options.Compression.Algorithm);
        var (header, headerBytes) = ArchiveObjectHeader.Create(options.Compression, options.Key, options.Checksum, options.ChunkSize, options.Name);

        using var objectHash = options.Key is null ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
        using var cipher = options.Key is null ? null : new ObjectCipher(options.Key, header.Salt, header.Checksum);
        using var contentHash = new ContentHasher(options.Checksum);

        await destination.WriteAsync(headerBytes, cancellationToken).ConfigureAwait(false);
        objectHash?.AppendData(headerBytes);

        var records = new RecordWriterStream(destination, options.ChunkSize, cipher, objectHash);
        long plaintextLength = 0;
        var buffer = ArrayPool<byte>.Shared.Rent(ReadBufferSize);
        try
        {
            var compressor = codec.CreateCompressor(records, options.Compression, leaveOpen: true);
            try
            {
                int read;
                while ((read = await plaintext.ReadAsync(buffer.AsMemory(0, ReadBufferSize), cancellationToken).ConfigureAwait(false)) > 0)
                {
                    contentHash.Append(buffer.AsSpan(0, read));
                    plaintextLength += read;
                    await compressor.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                }
            }
            catch
            {
                Abandon(compressor);
                throw;
            }

            // Disposing ends the compressed stream (frame end, checksums) into the records.
            await compressor.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        var checksum = contentHash.GetField();
        await records.CompleteAsync(plaintextLength, checksum, cancellationToken).ConfigureAwait(false);

        return new ArchiveObjectSummary
        {
            Header = header,
            PlaintextLength = plaintextLength,
            PlaintextChecksum = ContentChecksum.Format(options.Checksum, checksum),
            StoredLength = headerBytes.Length + records.BytesWritten,
        };
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
