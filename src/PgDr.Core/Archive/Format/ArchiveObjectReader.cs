using System.Buffers;
using System.Security.Cryptography;
using PgDr.Archive.Compression;
using PgDr.Archive.Encryption;
using PgDr.Errors;

namespace PgDr.Archive.Format;

/// <summary>
/// Restores a file from an archived object, verifying everything the format protects: the header checksum, the key
/// check, every record's authentication tag (or the whole-object checksum when unencrypted), the record count, the
/// end of the object, and the length and content checksum of the restored plaintext.
/// </summary>
/// <remarks>
/// The contract with callers: bytes reach <c>destination</c> while the object is being read, before the final
/// checks can pass, so the destination holds a verified file only when <c>ReadAsync</c> returns normally. Write to
/// a temporary file next to the target, and fsync and rename it into place only after success (fetch must never
/// leave a plausible-looking partial WAL file where PostgreSQL would replay it); delete it on failure.
/// </remarks>
public static class ArchiveObjectReader
{
    private const int CopyBufferSize = 128 * 1024;

    /// <summary>Reads with <paramref name="key"/> (null for unencrypted objects); see <see cref="ArchiveReadOptions"/>.</summary>
    public static Task<ArchiveObjectSummary> ReadAsync(Stream archived, Stream destination, ArchiveKey? key, CancellationToken cancellationToken) =>
        ReadAsync(archived, destination, new ArchiveReadOptions { Key = key }, cancellationToken);

    /// <summary>
    /// Reads the object from <paramref name="archived"/> to its end and writes the plaintext to
    /// <paramref name="destination"/>. Throws <c>ArchiveObjectCorrupt</c> (damaged, truncated, extended or tampered
    /// object), <c>ArchiveKeyRequired</c>, <c>ArchiveKeyMismatch</c>, <c>ArchiveObjectNotEncrypted</c>,
    /// <c>ArchiveFormatUnsupported</c> or <c>CompressionLibraryMissing</c>. Neither stream is disposed.
    /// </summary>
    public static async Task<ArchiveObjectSummary> ReadAsync(Stream archived, Stream destination, ArchiveReadOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(archived);
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(options);

        var (header, headerBytes) = await ArchiveObjectHeader.ReadWithBytesAsync(archived, cancellationToken).ConfigureAwait(false);
        using var cipher = await OpenCipherAsync(header, options, cancellationToken).ConfigureAwait(false);
        var codec = CompressionCodec.For(header.Compression.Algorithm, options.Codecs);

        using var objectHash = cipher is null ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
        objectHash?.AppendData(headerBytes);
        using var contentHash = new ContentHasher(header.ContentChecksum);

        var records = new RecordReaderStream(archived, header, cipher, objectHash);
        long plaintextLength = 0;
        var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
        try
        {
            var decompressor = codec.CreateDecompressor(records, leaveOpen: true);
            await using (decompressor.ConfigureAwait(false))
            {
                int read;
                while ((read = await ReadDecompressedAsync(decompressor, buffer.AsMemory(0, CopyBufferSize), cancellationToken).ConfigureAwait(false)) > 0)
                {
                    contentHash.Append(buffer.AsSpan(0, read));
                    plaintextLength += read;
                    await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                }
            }

            // The decompressor may stop at the end of its stream before the records end: whatever is left must be
            // nothing but the final record.
            if (await records.ReadAsync(buffer.AsMemory(0, 1), cancellationToken).ConfigureAwait(false) != 0)
            {
                throw PgDrArchiveException.Corrupt("The archive object holds data after the end of its compressed stream.");
            }

            if (await archived.ReadAsync(buffer.AsMemory(0, 1), cancellationToken).ConfigureAwait(false) != 0)
            {
                throw PgDrArchiveException.Corrupt("The archive object has bytes after its final record.");
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        var checksum = contentHash.GetField();
        if (plaintextLength != records.PlaintextLength || !CryptographicOperations.FixedTimeEquals(checksum, records.ContentChecksum))
        {
            throw PgDrArchiveException.Corrupt(
                $"The restored {header.OriginalName} does not match the archived checksum ({plaintextLength} bytes read, {records.PlaintextLength} archived).",
                header.OriginalName);
        }

        return new ArchiveObjectSummary
        {
            Header = header,
            PlaintextLength = plaintextLength,
            PlaintextChecksum = ContentChecksum.Format(header.ContentChecksum, checksum),
            StoredLength = header.Length + records.BytesRead,
        };
    }

    private static async Task<ObjectCipher?> OpenCipherAsync(ArchiveObjectHeader header, ArchiveReadOptions options, CancellationToken cancellationToken)
    {
        if (!header.IsEncrypted)
        {
            if ((options.Key is not null || options.KeyService is not null) && !options.AllowUnencrypted)
            {
                throw new PgDrArchiveException(
                    ErrorIds.ArchiveObjectNotEncrypted,
                    PgDrErrorCategory.SecurityError,
                    $"The archived {header.OriginalName} is not encrypted, but an archive key is configured: refusing unauthenticated data.",
                    header.OriginalName);
            }

            return null;
        }

        ArchiveKey key;
        if (header.Cipher == ArchiveCipher.Aes256GcmWrappedKey)
        {
            // The service owns the unwrapped key (and caches it for the other objects it wrapped).
            key = options.KeyService is null
                ? throw new PgDrArchiveException(
                    ErrorIds.ArchiveKeyRequired,
                    PgDrErrorCategory.InvalidOperation,
                    $"The archived {header.OriginalName} carries a data key wrapped by a key service: configure it (encryption.kms).",
                    header.OriginalName)
                : await options.KeyService.UnwrapAsync(header.WrappedKey!, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            key = options.Key ?? throw new PgDrArchiveException(
                ErrorIds.ArchiveKeyRequired,
                PgDrErrorCategory.InvalidOperation,
                $"The archived {header.OriginalName} is encrypted with an archive key: configure it (encryption.keyFile or encryption.keyEnv, beside encryption.kms if new objects go through a key service).",
                header.OriginalName);
        }

        if (!CryptographicOperations.FixedTimeEquals(ObjectCipher.KeyCheck(key, header.Salt), header.KeyCheck))
        {
            throw new PgDrArchiveException(
                ErrorIds.ArchiveKeyMismatch,
                PgDrErrorCategory.AuthenticationError,
                $"The archived {header.OriginalName} was encrypted with another key than the {key.Source}.",
                header.OriginalName);
        }

        return new ObjectCipher(key, header.Salt, header.Checksum);
    }

    // Decoders report damaged input as InvalidDataException; in an archive object that is damage like any other.
    private static async ValueTask<int> ReadDecompressedAsync(Stream decompressor, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        try
        {
            return await decompressor.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidDataException ex)
        {
            throw PgDrArchiveException.Corrupt($"The archive object's compressed data is damaged: {ex.Message}", innerException: ex);
        }
    }
}
