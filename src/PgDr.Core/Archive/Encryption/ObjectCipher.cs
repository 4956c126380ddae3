using System.Buffers.Binary;
using System.Security.Cryptography;

namespace PgDr.Archive.Encryption;

/// <summary>
/// Seals and opens the records of one archived object with AES-256-GCM.
/// </summary>
/// <remarks>
/// <para>Every object gets its own key: HKDF-SHA256(archive key, salt = 32 random bytes from the object header,
/// info = "PGDR v1 record key"). Nonce reuse across objects is therefore impossible whatever the number of
/// objects, and the nonce inside one object can simply be the record's kind and index:
/// nonce = kind (4 bytes, big-endian) || index (8 bytes, big-endian).</para>
/// <para>Associated data binds each record to its place: SHA-256 of the object header || kind || index. A record
/// moved to another position or object, a header that was edited, and a data record passed off as the final one
/// all fail authentication. The final record's index is the number of data records, so dropping records at the end
/// (even exactly at a record boundary) is detected.</para>
/// <para>The key check value (HKDF with info "PGDR v1 key check", 16 bytes, stored in the header) tells a wrong key
/// apart from a damaged object before any record is read: a failed tag alone cannot say which one it is, and the
/// difference matters to an operator (fix the configuration vs. restore from another repository). It reveals
/// nothing about the record key: both are independent HKDF outputs.</para>
/// </remarks>
internal sealed class ObjectCipher : IDisposable
{
    public const int SaltLength = 32;
    public const int KeyCheckLength = 16;
    public const int TagLength = 16;
    public const int NonceLength = 12;
    private const int AssociatedDataLength = 32 + 1 + 8;

    private static readonly byte[] RecordKeyInfo = "PGDR v1 record key"u8.ToArray();
    private static readonly byte[] KeyCheckInfo = "PGDR v1 key check"u8.ToArray();

    private readonly AesGcm _aes;
    private readonly byte[] _headerChecksum;

    public ObjectCipher(ArchiveKey key, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> headerChecksum)
    {
        Span<byte> recordKey = stackalloc byte[32];
        try
        {
            HKDF.DeriveKey(HashAlgorithmName.SHA256, key.Material, recordKey, salt, RecordKeyInfo);
            _aes = new AesGcm(recordKey, TagLength);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(recordKey);
        }

        _headerChecksum = headerChecksum.ToArray();
    }

    public enum RecordKind : byte
    {
        Data = 0,
        Final = 1,
    }

    public static byte[] NewSalt() => RandomNumberGenerator.GetBytes(SaltLength);

    public static byte[] KeyCheck(ArchiveKey key, ReadOnlySpan<byte> salt)
    {
        var check = new byte[KeyCheckLength];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, key.Material, check, salt, KeyCheckInfo);
        return check;
    }

    public void Seal(RecordKind kind, ulong index, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext, Span<byte> tag)
    {
        Span<byte> nonce = stackalloc byte[NonceLength];
        Span<byte> associated = stackalloc byte[AssociatedDataLength];
        Describe(kind, index, nonce, associated);
        _aes.Encrypt(nonce, plaintext, ciphertext, tag, associated);
    }

    /// <summary>False when the record is not authentic (damaged, moved, or sealed with another key).</summary>
    public bool TryOpen(RecordKind kind, ulong index, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext)
    {
        Span<byte> nonce = stackalloc byte[NonceLength];
        Span<byte> associated = stackalloc byte[AssociatedDataLength];
        Describe(kind, index, nonce, associated);
        try
        {
            _aes.Decrypt(nonce, ciphertext, tag, plaintext, associated);
            return true;
        }
        catch (CryptographicException)
        {
            CryptographicOperations.ZeroMemory(plaintext);
            return false;
        }
    }

    public void Dispose() => _aes.Dispose();

    private void Describe(RecordKind kind, ulong index, Span<byte> nonce, Span<byte> associated)
    {
        BinaryPrimitives.WriteUInt32BigEndian(nonce, (uint)kind);
        BinaryPrimitives.WriteUInt64BigEndian(nonce[4..], index);
        _headerChecksum.CopyTo(associated);
        associated[32] = (byte)kind;
        BinaryPrimitives.WriteUInt64LittleEndian(associated[33..], index);
    }
}
