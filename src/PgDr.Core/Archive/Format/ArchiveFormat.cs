// The archived-object format, version 2 (version 1 is still read).
//
// One object = header | data records | final record. Integers are little-endian unless noted.
//
//   header   "PGDR" | version u8 | ~version u8 | compression u8 | level i8 | cipher u8 | chunk size u32 |
//            name length u8 | [version >= 2: content checksum u8] | name (ASCII) | [cipher 1, 2: salt 32 | key check 16] |
//            [cipher 2: wrapped key length u16 | wrapped key] | SHA-256 of everything before
//            Version 3 is version 2 plus cipher 2 (a data key wrapped by a key service); it is written only for such
//            objects, so objects without one stay version 2 and readable by older PgDr.
//   record   frame u32 (bit 31 = final record, bits 0-30 = payload length) | payload
//   data     payload = the next <= chunk-size bytes of the compressed stream
//            (cipher 1, 2: AES-256-GCM ciphertext || 16-byte tag, see ObjectCipher)
//   final    cipher 0: data record count u64 | plaintext length u64 | content checksum (32, zero-padded) |
//                      SHA-256 of every object byte before this field
//            cipher 1, 2: data record count u64 | sealed(plaintext length u64 | content checksum (32)) || tag
//
// Why a trailer: the plaintext length and checksum are only known after the input has been read. Putting them in a
// final record lets push stream a segment in one pass with constant memory (no first pass, no seekable input or
// output needed: the destination may be an upload stream), while fetch still verifies everything: the header
// checksum, every record's tag (or, unencrypted, the whole-object SHA-256), the record count, and the length and
// checksum of what it decompressed. The final record is mandatory and sealed with its own kind and the record
// count, so truncation anywhere - including exactly at a record boundary - is detected. The version byte is
// followed by its complement so that one flipped bit reads as damage, not as "a newer format".
// Compression runs before encryption (ciphertext does not compress); the header is readable without the key
// (ArchiveObjectHeader.ReadAsync) but the content checksum of an encrypted object is not: it is encrypted too.
//
// Why version 2 names its content checksum: what protects the object against damage and tampering is the GCM tags
// or the whole-object SHA-256, both over the stored (compressed) bytes. The content checksum only has to prove that
// decompression gave back the original file and let a repeated push recognise the same content. Version 1 used
// SHA-256 of the plaintext for that, which cost ~40 % on top of zstd -3 because it hashes every uncompressed byte;
// version 2 defaults to XXH3-128 and keeps SHA-256 selectable (ContentChecksum.cs).

namespace PgDr.Archive.Format;

/// <summary>Constants of the archived-object format (see the comment at the top of this file).</summary>
public static class ArchiveFormat
{
    /// <summary>The format version this build writes, unless the object's data key is wrapped by a key service (<see cref="WrappedKeyVersion"/>).</summary>
    public const byte Version = 2;

    /// <summary>The version of objects whose data key a key service wrapped (cipher 2); the newest this build reads.</summary>
    public const byte WrappedKeyVersion = 3;

    /// <summary>The longest wrapped data key a header holds (an AWS KMS ciphertext blob of a 32-byte key is about 184 bytes).</summary>
    public const int MaximumWrappedKeyLength = 4096;

    /// <summary>The oldest format version this build reads (SHA-256 content checksum, no checksum byte).</summary>
    public const byte FirstVersion = 1;

    public const int DefaultChunkSize = 1024 * 1024;
    public const int MinimumChunkSize = 4 * 1024;
    public const int MaximumChunkSize = 16 * 1024 * 1024;

    /// <summary>Longest original file name a header holds.</summary>
    public const int MaximumNameLength = 255;

    internal static ReadOnlySpan<byte> Magic => "PGDR"u8;

    internal const uint FinalRecordFlag = 0x8000_0000;
    internal const int FrameLength = 4;
    internal const int Sha256Length = 32;

    // magic, version, ~version, compression, level, cipher, chunk size, name length: the same in every version.
    internal const int CommonHeaderLength = 4 + 1 + 1 + 1 + 1 + 1 + 4 + 1;

    internal const int PlainFinalPayloadLength = 8 + SealedTrailerLength + Sha256Length;
    internal const int SealedTrailerLength = 8 + ContentChecksum.FieldLength;

    internal const int SealedFinalPayloadLength = 8 + SealedTrailerLength + Encryption.ObjectCipher.TagLength;

    /// <summary>Bytes before the name: version 2 adds the content checksum algorithm.</summary>
    internal static int FixedHeaderLength(byte version) => version == FirstVersion ? CommonHeaderLength : CommonHeaderLength + 1;

    /// <summary>The newest format version this build reads.</summary>
    public const byte NewestReadable = WrappedKeyVersion;
}
