using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using PgDr.Archive;
using PgDr.Archive.Encryption;
using PgDr.Archive.Format;
using PgDr.Archive.Repositories;
using PgDr.Errors;

namespace PgDr.Backup.Catalog;

/// <summary>
/// Catalog objects (summary, manifest, start marker) are JSON stored in the archive object format, like every data
/// object: compressed, encrypted and authenticated with the archive key or a data key wrapped by the key service, so a
/// manifest cannot be read without the key nor edited without detection. The name in the header ties each to its key:
/// a manifest copied over another backup's is refused.
/// </summary>
internal static class CatalogDocument
{
    public static async Task<PutOutcome> PutAsync<T>(
        IArchiveRepository repository, string key, T value, JsonTypeInfo<T> typeInfo, DocumentEncoding encoding, CancellationToken cancellationToken)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(value, typeInfo);
        using var encoded = new MemoryStream();
        using (var plaintext = new MemoryStream(json, writable: false))
        {
            await ArchiveObjectWriter.WriteAsync(plaintext, encoded, encoding.OptionsFor(NameOf(key)), cancellationToken).ConfigureAwait(false);
        }

        encoded.Position = 0;
        return await repository.PutIfAbsentAsync(key, encoded, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The document, or null when there is no object under <paramref name="key"/>. ArchiveObjectCorrupt when it does not verify.</summary>
    public static async Task<T?> ReadAsync<T>(IArchiveRepository repository, string key, JsonTypeInfo<T> typeInfo, ArchiveReadOptions keys, CancellationToken cancellationToken)
        where T : class
    {
        var stored = await repository.OpenReadAsync(key, cancellationToken).ConfigureAwait(false);
        if (stored is null)
        {
            return null;
        }

        using var plaintext = new MemoryStream();
        await using (stored.ConfigureAwait(false))
        {
            ArchiveObjectSummary summary;
            try
            {
                summary = await ArchiveObjectReader.ReadAsync(stored, plaintext, keys, cancellationToken).ConfigureAwait(false);
            }
            catch (PgDrArchiveException ex) when (ex.ErrorId == ErrorIds.ArchiveObjectCorrupt)
            {
                throw new PgDrArchiveException(ex.ErrorId, ex.Category, $"Repository '{repository.Name}': {key} is damaged: {ex.Message}", key, ex);
            }

            if (!string.Equals(summary.Header.OriginalName, NameOf(key), StringComparison.Ordinal))
            {
                throw new PgDrArchiveException(
                    ErrorIds.ArchiveObjectCorrupt, PgDrErrorCategory.InvalidData, $"Repository '{repository.Name}': {key} holds {summary.Header.OriginalName}, not the object stored under that key.", key);
            }
        }

        try
        {
            return JsonSerializer.Deserialize(plaintext.GetBuffer().AsSpan(0, (int)plaintext.Length), typeInfo)
                ?? throw new JsonException("empty document");
        }
        catch (JsonException ex)
        {
            throw new PgDrArchiveException(ErrorIds.ArchiveObjectCorrupt, PgDrErrorCategory.InvalidData, $"Repository '{repository.Name}': {key} is not a valid catalog document ({ex.Message}).", key, ex);
        }
    }

    /// <summary>The header name of a catalog object: its file name, e.g. 20261122-101530F.manifest.</summary>
    private static string NameOf(string key) => key[(key.LastIndexOf('/') + 1)..];
}

/// <summary>
/// How a backup encodes its objects: the configuration's compression (and codecs), checksum and key, with the key as
/// the key service wrapped it when there is one (every object of the backup then carries the same wrapped data key,
/// format 3); and how the backup reads what is already stored (the catalog, the backup it builds on).
/// </summary>
internal sealed class DocumentEncoding(
    Archive.Compression.CompressionSpec compression,
    Archive.Compression.CodecImplementation codecs,
    ContentChecksumAlgorithm checksum,
    ArchiveKey? key,
    byte[]? wrappedKey,
    ArchiveReadOptions read)
{
    public Archive.Compression.CompressionSpec Compression { get; } = compression;

    public ContentChecksumAlgorithm Checksum { get; } = checksum;

    /// <summary>Whether new objects are encrypted (with the host's key or a wrapped data key).</summary>
    public bool Encrypts => key is not null;

    public ArchiveReadOptions Read { get; } = read;

    public ArchiveObjectOptions OptionsFor(string name, int compressionThreads = 1) =>
        new() { Name = name, Compression = Compression, Codecs = codecs, Checksum = Checksum, Key = key, WrappedKey = wrappedKey, CompressionThreads = compressionThreads };
}
