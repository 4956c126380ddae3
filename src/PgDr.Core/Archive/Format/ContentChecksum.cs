using System.Buffers;
using System.IO.Hashing;
using System.Security.Cryptography;

namespace PgDr.Archive.Format;

/// <summary>
/// The checksum of an archived file's content that an object's final record carries. It is what fetch checks the
/// decompressed file against, and what an idempotent push compares; the object's own integrity is protected
/// separately (AES-GCM tags when encrypted, a SHA-256 of every stored byte when not).
/// </summary>
public enum ContentChecksumAlgorithm : byte
{
    /// <summary>SHA-256 (format version 1 always used it): a cryptographic digest, ~1.6 GB/s per core with SHA-NI.</summary>
    Sha256 = 1,

    /// <summary>XXH3-128 (the default): catches any accidental difference, an order of magnitude cheaper than SHA-256.</summary>
    XxHash128 = 2,
}

/// <summary>Names, lengths and computation of content checksums.</summary>
public static class ContentChecksum
{
    /// <summary>The default: hashing every WAL byte with SHA-256 costs ~40 % on top of zstd -3 (docs/performance.md).</summary>
    public const ContentChecksumAlgorithm Default = ContentChecksumAlgorithm.XxHash128;

    /// <summary>Bytes the trailer reserves for a digest; shorter digests are zero-padded.</summary>
    internal const int FieldLength = 32;

    private const int BufferSize = 1024 * 1024;

    /// <summary>The configuration and output name: sha256 or xxh128 (as xxhsum -H2 calls it).</summary>
    public static string Name(ContentChecksumAlgorithm algorithm) => algorithm switch
    {
        ContentChecksumAlgorithm.Sha256 => "sha256",
        ContentChecksumAlgorithm.XxHash128 => "xxh128",
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, null),
    };

    public static bool TryParse(string? name, out ContentChecksumAlgorithm algorithm)
    {
        foreach (var candidate in Enum.GetValues<ContentChecksumAlgorithm>())
        {
            if (string.Equals(name, Name(candidate), StringComparison.OrdinalIgnoreCase))
            {
                algorithm = candidate;
                return true;
            }
        }

        algorithm = default;
        return false;
    }

    /// <summary>A digest as shown to people and compared by push: <c>algorithm:hex</c>, e.g. <c>xxh128:9f0c...</c>.</summary>
    public static string Format(ContentChecksumAlgorithm algorithm, ReadOnlySpan<byte> field) =>
        $"{Name(algorithm)}:{Convert.ToHexString(field[..DigestLength(algorithm)]).ToLowerInvariant()}";

    /// <summary>The checksum of a whole file, as <see cref="Format"/> writes it.</summary>
    public static async Task<string> ComputeFileAsync(string path, ContentChecksumAlgorithm algorithm, CancellationToken cancellationToken)
    {
        using var hasher = new ContentHasher(algorithm);
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            await using (file.ConfigureAwait(false))
            {
                int read;
                while ((read = await file.ReadAsync(buffer.AsMemory(0, BufferSize), cancellationToken).ConfigureAwait(false)) > 0)
                {
                    hasher.Append(buffer.AsSpan(0, read));
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return Format(algorithm, hasher.GetField());
    }

    private static int DigestLength(ContentChecksumAlgorithm algorithm) => algorithm == ContentChecksumAlgorithm.Sha256 ? 32 : 16;
}

/// <summary>Hashes content incrementally with one <see cref="ContentChecksumAlgorithm"/>.</summary>
internal sealed class ContentHasher : IDisposable
{
    private readonly IncrementalHash? _sha256;
    private readonly XxHash128? _xxHash128;

    public ContentHasher(ContentChecksumAlgorithm algorithm)
    {
        Algorithm = algorithm;
        if (algorithm == ContentChecksumAlgorithm.Sha256)
        {
            _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        }
        else
        {
            _xxHash128 = new XxHash128();
        }
    }

    public ContentChecksumAlgorithm Algorithm { get; }

    public void Append(ReadOnlySpan<byte> data)
    {
        if (_sha256 is not null)
        {
            _sha256.AppendData(data);
        }
        else
        {
            _xxHash128!.Append(data);
        }
    }

    /// <summary>The digest in its trailer field: <see cref="ContentChecksum.FieldLength"/> bytes, zero-padded.</summary>
    public byte[] GetField()
    {
        var field = new byte[ContentChecksum.FieldLength];
        if (_sha256 is not null)
        {
            _sha256.GetHashAndReset(field);
        }
        else
        {
            _xxHash128!.GetCurrentHash(field);
        }

        return field;
    }

    public void Dispose() => _sha256?.Dispose();
}
