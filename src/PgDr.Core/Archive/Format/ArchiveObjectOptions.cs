using PgDr.Archive.Compression;
using PgDr.Archive.Encryption;
using PgDr.Errors;

namespace PgDr.Archive.Format;

/// <summary>How <see cref="ArchiveObjectWriter"/> stores one file.</summary>
public sealed class ArchiveObjectOptions
{
    /// <summary>
    /// The original file name recorded in the header (for WAL, the WAL file name): 1 to 255 characters of
    /// letters, digits, '.', '_' and '-', and not "." or "..".
    /// </summary>
    public required string Name { get; init; }

    public CompressionSpec Compression { get; init; } = CompressionSpec.Default;

    /// <summary>The system library or the managed port for zstd and lz4 (the same format either way).</summary>
    public CodecImplementation Codecs { get; init; }

    /// <summary>The archive key; null stores the object unencrypted.</summary>
    public ArchiveKey? Key { get; init; }

    /// <summary>
    /// <see cref="Key"/> as a key service wrapped it (<see cref="IArchiveKeyService.DataKeyAsync"/>): stored in the header
    /// (format 3, cipher 2) so the object is opened by asking the service. Null for a key the reader holds itself.
    /// </summary>
    public byte[]? WrappedKey { get; init; }

    /// <summary>The checksum of the content kept in the final record (default XXH3-128, see <see cref="ContentChecksum"/>).</summary>
    public ContentChecksumAlgorithm Checksum { get; init; } = ContentChecksum.Default;

    /// <summary>Bytes of compressed stream per record, from 4 KiB to 16 MiB (default 1 MiB). Memory use is about twice this.</summary>
    public int ChunkSize { get; init; } = ArchiveFormat.DefaultChunkSize;

    public static bool IsValidName(string? name) =>
        name is { Length: > 0 and <= ArchiveFormat.MaximumNameLength }
        && name is not "." and not ".."
        && name.All(static c => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '.' or '_' or '-');

    internal void Validate()
    {
        if (!IsValidName(Name))
        {
            throw new PgDrArgumentException(
                ErrorIds.InvalidArchiveObjectOptions,
                $"'{Name}' cannot be an archived file name: use 1 to {ArchiveFormat.MaximumNameLength} letters, digits, '.', '_' or '-'.",
                Name);
        }

        if (WrappedKey is not null && (Key is null || WrappedKey.Length is 0 or > ArchiveFormat.MaximumWrappedKeyLength))
        {
            throw new PgDrArgumentException(ErrorIds.InvalidArchiveObjectOptions, $"A wrapped key needs the key it wraps and 1 to {ArchiveFormat.MaximumWrappedKeyLength} bytes.", Name);
        }

        if (!Enum.IsDefined(Checksum))
        {
            throw new PgDrArgumentException(ErrorIds.InvalidArchiveObjectOptions, $"{(byte)Checksum} is not a content checksum algorithm.", Checksum);
        }

        if (ChunkSize is < ArchiveFormat.MinimumChunkSize or > ArchiveFormat.MaximumChunkSize)
        {
            throw new PgDrArgumentException(
                ErrorIds.InvalidArchiveObjectOptions,
                $"A chunk size of {ChunkSize} bytes is out of range: use {Bytes.Format(ArchiveFormat.MinimumChunkSize)} to {Bytes.Format(ArchiveFormat.MaximumChunkSize)}.",
                ChunkSize);
        }
    }
}

/// <summary>How <see cref="ArchiveObjectReader"/> treats keys and unencrypted objects.</summary>
public sealed class ArchiveReadOptions
{
    /// <summary>The archive key; required for objects encrypted with a key the reader holds (cipher 1).</summary>
    public ArchiveKey? Key { get; init; }

    /// <summary>The key service that unwraps the data keys of objects that carry one (cipher 2, AWS KMS).</summary>
    public IArchiveKeyService? KeyService { get; init; }

    /// <summary>The system library or the managed port for zstd and lz4; either reads what the other wrote.</summary>
    public CodecImplementation Codecs { get; init; }

    /// <summary>
    /// With a key or key service given, unencrypted objects are refused (<c>ArchiveObjectNotEncrypted</c>) unless this is set:
    /// otherwise anyone able to write to the repository could slip in unauthenticated WAL by simply not encrypting
    /// it. Set it only while a repository that used to be unencrypted still holds old objects.
    /// </summary>
    public bool AllowUnencrypted { get; init; }
}

/// <summary>What was written or read and verified.</summary>
public sealed class ArchiveObjectSummary
{
    public required ArchiveObjectHeader Header { get; init; }

    public required long PlaintextLength { get; init; }

    /// <summary>The content checksum as <c>algorithm:hex</c> (<see cref="ContentChecksum.Format"/>), e.g. <c>xxh128:9f0c...</c>.</summary>
    public required string PlaintextChecksum { get; init; }

    /// <summary>Size of the archived object in bytes (header, records and trailer).</summary>
    public required long StoredLength { get; init; }

    public override string ToString() =>
        $"{Header.OriginalName}: {Bytes.Format(PlaintextLength)} stored in {Bytes.Format(StoredLength)} ({Header.Compression}{(Header.IsEncrypted ? ", encrypted" : string.Empty)}), {PlaintextChecksum}";
}
