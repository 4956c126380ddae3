using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using PgDr.Archive.Compression;
using PgDr.Archive.Encryption;
using PgDr.Errors;

namespace PgDr.Archive.Format;

/// <summary>
/// The self-describing header of an archived object: how it was compressed and encrypted, its chunk size and the
/// name of the file it holds. It is protected by its own SHA-256 (and, when encrypted, bound into every record's
/// authentication), so it can be inspected cheaply without the key and without reading the body.
/// </summary>
public sealed class ArchiveObjectHeader
{
    private ArchiveObjectHeader(byte version, CompressionSpec compression, ArchiveCipher cipher, ContentChecksumAlgorithm contentChecksum, int chunkSize, string originalName, byte[] salt, byte[] keyCheck, byte[]? wrappedKey, byte[] checksum, int length)
    {
        WrappedKey = wrappedKey;
        FormatVersion = version;
        Compression = compression;
        Cipher = cipher;
        ContentChecksum = contentChecksum;
        ChunkSize = chunkSize;
        OriginalName = originalName;
        Salt = salt;
        KeyCheck = keyCheck;
        Checksum = checksum;
        Length = length;
    }

    public byte FormatVersion { get; }

    public CompressionSpec Compression { get; }

    public ArchiveCipher Cipher { get; }

    public bool IsEncrypted => Cipher != ArchiveCipher.None;

    /// <summary>How the final record's checksum of the content was computed (always SHA-256 in format version 1).</summary>
    public ContentChecksumAlgorithm ContentChecksum { get; }

    /// <summary>Bytes of compressed stream per record (before the authentication tag).</summary>
    public int ChunkSize { get; }

    /// <summary>The name of the file the object holds (for WAL, the WAL file name).</summary>
    public string OriginalName { get; }

    /// <summary>The header's size in bytes; the first record starts here.</summary>
    public int Length { get; }

    internal byte[] Salt { get; }

    internal byte[] KeyCheck { get; }

    /// <summary>Cipher 2: the object's data key as the key service wrapped it; null otherwise.</summary>
    internal byte[]? WrappedKey { get; }

    /// <summary>SHA-256 of the header's other bytes, the last field of the header.</summary>
    internal byte[] Checksum { get; }

    /// <summary>
    /// Reads and verifies the header at the current position of <paramref name="archived"/>, reading nothing beyond
    /// it. Throws <c>ArchiveObjectCorrupt</c> for a damaged or truncated header and <c>ArchiveFormatUnsupported</c> for
    /// a newer format version.
    /// </summary>
    public static async Task<ArchiveObjectHeader> ReadAsync(Stream archived, CancellationToken cancellationToken)
    {
        var (header, _) = await ReadWithBytesAsync(archived, cancellationToken).ConfigureAwait(false);
        return header;
    }

    public override string ToString() =>
        $"{OriginalName}: format {FormatVersion}, {Compression}, {(Cipher switch { ArchiveCipher.None => "not encrypted", ArchiveCipher.Aes256Gcm => "aes-256-gcm", _ => "aes-256-gcm, wrapped data key" })}, {Format.ContentChecksum.Name(ContentChecksum)}, chunks of {Bytes.Format(ChunkSize)}";

    // wrappedKey: the key service's wrapping of key (a data key), stored in the header (cipher 2, format 3).
    internal static (ArchiveObjectHeader Header, byte[] Bytes) Create(CompressionSpec compression, ArchiveKey? key, byte[]? wrappedKey, ContentChecksumAlgorithm contentChecksum, int chunkSize, string name)
    {
        var cipher = key is null ? ArchiveCipher.None : wrappedKey is null ? ArchiveCipher.Aes256Gcm : ArchiveCipher.Aes256GcmWrappedKey;
        var version = cipher == ArchiveCipher.Aes256GcmWrappedKey ? ArchiveFormat.WrappedKeyVersion : ArchiveFormat.Version;
        var salt = key is null ? [] : ObjectCipher.NewSalt();
        var keyCheck = key is null ? [] : ObjectCipher.KeyCheck(key, salt);
        var wrapped = cipher == ArchiveCipher.Aes256GcmWrappedKey ? 2 + wrappedKey!.Length : 0;
        var fixedLength = ArchiveFormat.FixedHeaderLength(version);
        var length = fixedLength + name.Length + salt.Length + keyCheck.Length + wrapped + ArchiveFormat.Sha256Length;
        var bytes = new byte[length];

        ArchiveFormat.Magic.CopyTo(bytes);
        bytes[4] = version;
        bytes[5] = unchecked((byte)~version);
        bytes[6] = (byte)compression.Algorithm;
        bytes[7] = unchecked((byte)(sbyte)compression.Level);
        bytes[8] = (byte)cipher;
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(9), (uint)chunkSize);
        bytes[13] = (byte)name.Length;
        bytes[14] = (byte)contentChecksum;
        var at = fixedLength;
        at += Encoding.ASCII.GetBytes(name, bytes.AsSpan(at));
        salt.CopyTo(bytes, at);
        at += salt.Length;
        keyCheck.CopyTo(bytes, at);
        at += keyCheck.Length;
        if (wrapped > 0)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(at), (ushort)wrappedKey!.Length);
            wrappedKey.CopyTo(bytes, at + 2);
            at += wrapped;
        }

        var checksum = SHA256.HashData(bytes.AsSpan(0, at));
        checksum.CopyTo(bytes, at);

        return (new ArchiveObjectHeader(version, compression, cipher, contentChecksum, chunkSize, name, salt, keyCheck, wrapped > 0 ? wrappedKey : null, checksum, length), bytes);
    }

    internal static async Task<(ArchiveObjectHeader Header, byte[] Bytes)> ReadWithBytesAsync(Stream archived, CancellationToken cancellationToken)
    {
        var start = new byte[ArchiveFormat.CommonHeaderLength];
        await ReadHeaderBytesAsync(archived, start, cancellationToken).ConfigureAwait(false);

        if (!start.AsSpan(0, 4).SequenceEqual(ArchiveFormat.Magic))
        {
            throw PgDrArchiveException.Corrupt("The object is not a PgDr archive object (it does not start with PGDR).");
        }

        var version = start[4];
        if (start[5] != unchecked((byte)~version))
        {
            throw PgDrArchiveException.Corrupt("The archive object's format version field is damaged.");
        }

        if (version is < ArchiveFormat.FirstVersion or > ArchiveFormat.NewestReadable)
        {
            throw new PgDrArchiveException(
                ErrorIds.ArchiveFormatUnsupported,
                PgDrErrorCategory.InvalidData,
                $"The archive object has format version {version}; this PgDr reads versions {ArchiveFormat.FirstVersion} to {ArchiveFormat.NewestReadable}. Upgrade PgDr to read it.",
                version);
        }

        // The cipher decides whether salt and key check (and, for a wrapped key, its length and itself) follow; if that
        // byte is damaged the checksum below fails.
        var wrappedKeyCipher = start[8] == (byte)ArchiveCipher.Aes256GcmWrappedKey && version >= ArchiveFormat.WrappedKeyVersion;
        var cipherParameters = start[8] == (byte)ArchiveCipher.Aes256Gcm || wrappedKeyCipher ? ObjectCipher.SaltLength + ObjectCipher.KeyCheckLength : 0;
        var nameLength = start[13];
        var fixedLength = ArchiveFormat.FixedHeaderLength(version);
        var beforeKey = fixedLength + nameLength + cipherParameters + (wrappedKeyCipher ? 2 : 0);
        var bytes = new byte[beforeKey + ArchiveFormat.Sha256Length];
        start.CopyTo(bytes, 0);
        await ReadHeaderBytesAsync(archived, bytes.AsMemory(ArchiveFormat.CommonHeaderLength, beforeKey - ArchiveFormat.CommonHeaderLength), cancellationToken).ConfigureAwait(false);
        var wrappedLength = wrappedKeyCipher ? BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(beforeKey - 2)) : 0;
        if (wrappedLength > ArchiveFormat.MaximumWrappedKeyLength)
        {
            throw PgDrArchiveException.Corrupt("The archive object's header names an impossible wrapped key length.");
        }

        if (wrappedLength > 0)
        {
            Array.Resize(ref bytes, bytes.Length + wrappedLength);
        }

        await ReadHeaderBytesAsync(archived, bytes.AsMemory(beforeKey), cancellationToken).ConfigureAwait(false);

        var checksumAt = bytes.Length - ArchiveFormat.Sha256Length;
        var checksum = bytes[checksumAt..];
        if (!SHA256.HashData(bytes.AsSpan(0, checksumAt)).AsSpan().SequenceEqual(checksum))
        {
            throw PgDrArchiveException.Corrupt("The archive object's header is damaged (checksum mismatch).");
        }

        // From here on the bytes are as the writer wrote them; odd values mean a writer bug or a forged header.
        var algorithm = (CompressionAlgorithm)start[6];
        var level = unchecked((sbyte)start[7]);
        if (!Enum.IsDefined(algorithm) || !IsValidLevel(algorithm, level))
        {
            throw PgDrArchiveException.Corrupt($"The archive object's header names an unknown compression ({start[6]}:{level}).");
        }

        var cipher = (ArchiveCipher)start[8];
        if (!Enum.IsDefined(cipher) || (cipher == ArchiveCipher.Aes256GcmWrappedKey && !wrappedKeyCipher) || (cipher == ArchiveCipher.Aes256GcmWrappedKey && wrappedLength == 0))
        {
            throw PgDrArchiveException.Corrupt($"The archive object's header names an unknown cipher ({start[8]}).");
        }

        var contentChecksum = version == ArchiveFormat.FirstVersion ? ContentChecksumAlgorithm.Sha256 : (ContentChecksumAlgorithm)bytes[14];
        if (!Enum.IsDefined(contentChecksum))
        {
            throw PgDrArchiveException.Corrupt($"The archive object's header names an unknown content checksum ({bytes[14]}).");
        }

        var chunkSize = BinaryPrimitives.ReadUInt32LittleEndian(start.AsSpan(9));
        if (chunkSize is < ArchiveFormat.MinimumChunkSize or > ArchiveFormat.MaximumChunkSize)
        {
            throw PgDrArchiveException.Corrupt($"The archive object's header has an impossible chunk size ({chunkSize}).");
        }

        var name = Encoding.ASCII.GetString(bytes, fixedLength, nameLength);
        if (!ArchiveObjectOptions.IsValidName(name))
        {
            throw PgDrArchiveException.Corrupt("The archive object's header holds an invalid file name.");
        }

        var at = fixedLength + nameLength;
        var salt = cipherParameters == 0 ? [] : bytes[at..(at + ObjectCipher.SaltLength)];
        at += salt.Length;
        var keyCheck = cipherParameters == 0 ? [] : bytes[at..(at + ObjectCipher.KeyCheckLength)];
        var wrappedKey = wrappedLength == 0 ? null : bytes[beforeKey..(beforeKey + wrappedLength)];

        var header = new ArchiveObjectHeader(version, new CompressionSpec(algorithm, level), cipher, contentChecksum, (int)chunkSize, name, salt, keyCheck, wrappedKey, checksum, bytes.Length);
        return (header, bytes);
    }

    private static bool IsValidLevel(CompressionAlgorithm algorithm, int level)
    {
        var (min, max, _) = CompressionSpec.LevelRange(algorithm);
        return level >= min && level <= max;
    }

    private static async Task ReadHeaderBytesAsync(Stream archived, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var read = await archived.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (read < buffer.Length)
        {
            throw PgDrArchiveException.Corrupt("The archive object is truncated inside its header.");
        }
    }
}
