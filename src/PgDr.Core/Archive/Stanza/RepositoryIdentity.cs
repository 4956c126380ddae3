using System.Text.Json;
using System.Text.Json.Serialization;
using PgDr.Archive.Repositories;
using PgDr.Archive.Wal;
using PgDr.Errors;

namespace PgDr.Archive.Stanza;

/// <summary>
/// The identity file that binds a stanza in a repository to one cluster (system identifier, major version,
/// segment size), so WAL of two clusters never mixes. Written by the first push, checked by every push.
/// It holds nothing secret and is stored in clear.
/// </summary>
public sealed class RepositoryIdentity
{
    [JsonPropertyName("format")]
    public int Format { get; init; } = 1;

    [JsonPropertyName("stanza")]
    public string Stanza { get; init; } = string.Empty;

    /// <summary>As a string: JSON readers in other languages lose precision on 64-bit numbers.</summary>
    [JsonPropertyName("systemIdentifier")]
    public string SystemIdentifier { get; init; } = string.Empty;

    [JsonPropertyName("pgMajorVersion")]
    public int? PgMajorVersion { get; init; }

    [JsonPropertyName("walSegmentSize")]
    public long WalSegmentSize { get; init; }

    [JsonPropertyName("createdAt")]
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>
    /// Makes sure <paramref name="repository"/> belongs to the cluster that wrote <paramref name="header"/>:
    /// creates the identity on first use (create-only, so two first pushes cannot disagree) and refuses a
    /// segment of any other cluster with StanzaMismatch.
    /// </summary>
    public static Task<bool> EnsureAsync(IArchiveRepository repository, string stanza, WalSegmentHeader header, CancellationToken cancellationToken) =>
        EnsureAsync(repository, stanza, ClusterIdentity.Of(header), cancellationToken);

    /// <summary>
    /// Makes sure <paramref name="repository"/>'s stanza belongs to <paramref name="cluster"/>, writing the identity
    /// when there is none yet; true when it was written now. StanzaMismatch when it belongs to another cluster.
    /// </summary>
    public static async Task<bool> EnsureAsync(IArchiveRepository repository, string stanza, ClusterIdentity cluster, CancellationToken cancellationToken)
    {
        var key = ArchiveLayout.IdentityKey(stanza);
        var sysid = cluster.SystemIdentifier.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var existing = await ReadAsync(repository, stanza, cancellationToken).ConfigureAwait(false);
        if (existing is null)
        {
            var identity = new RepositoryIdentity
            {
                Stanza = stanza,
                SystemIdentifier = sysid,
                PgMajorVersion = cluster.PgMajorVersion,
                WalSegmentSize = cluster.WalSegmentSize,
                CreatedAt = DateTimeOffset.UtcNow,
            };
            using var content = new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(identity, IdentityJsonContext.Default.RepositoryIdentity));
            if (await repository.PutIfAbsentAsync(key, content, cancellationToken).ConfigureAwait(false) == PutOutcome.Created)
            {
                return true;
            }

            // Another first push won the race: what it wrote must agree with us too.
            existing = await ReadAsync(repository, stanza, cancellationToken).ConfigureAwait(false)
                ?? throw new PgDrException(ErrorIds.RepositoryOperationFailed, PgDrErrorCategory.InvalidData, $"Repository '{repository.Name}' reports {key} as existing but returns nothing.", repository.Name);
        }

        if (existing.SystemIdentifier != sysid || (existing.PgMajorVersion is { } major && cluster.PgMajorVersion is { } ours && major != ours))
        {
            throw new PgDrException(
                ErrorIds.StanzaMismatch,
                PgDrErrorCategory.InvalidOperation,
                $"Repository '{repository.Name}' holds stanza '{stanza}' of cluster {existing.SystemIdentifier} (PostgreSQL {existing.PgMajorVersion?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"}), "
                + $"but this WAL comes from cluster {sysid} (PostgreSQL {cluster.PgMajorVersion?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"}); refusing to mix them. Use another stanza for this cluster.",
                repository.Name);
        }

        return false;
    }

    public static async Task<RepositoryIdentity?> ReadAsync(IArchiveRepository repository, string stanza, CancellationToken cancellationToken)
    {
        var key = ArchiveLayout.IdentityKey(stanza);
        var stream = await repository.OpenReadAsync(key, cancellationToken).ConfigureAwait(false);
        if (stream is null)
        {
            return null;
        }

        await using (stream.ConfigureAwait(false))
        {
            try
            {
                return await JsonSerializer.DeserializeAsync(stream, IdentityJsonContext.Default.RepositoryIdentity, cancellationToken).ConfigureAwait(false)
                    ?? throw new JsonException("empty");
            }
            catch (JsonException ex)
            {
                throw new PgDrException(ErrorIds.ArchiveObjectCorrupt, PgDrErrorCategory.InvalidData, $"Repository '{repository.Name}': {key} is damaged ({ex.Message}).", repository.Name, ex);
            }
        }
    }

    public override string ToString() => $"stanza {Stanza}: cluster {SystemIdentifier}, PostgreSQL {PgMajorVersion}";
}

/// <summary>What binds a stanza to one cluster: its system identifier, major version and WAL segment size.</summary>
public readonly record struct ClusterIdentity(ulong SystemIdentifier, int? PgMajorVersion, long WalSegmentSize)
{
    /// <summary>From a segment's long page header: what push knows without a database connection.</summary>
    public static ClusterIdentity Of(WalSegmentHeader header) => new(header.SystemIdentifier, header.PgMajorVersion, header.SegmentSize);
}

[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(RepositoryIdentity))]
internal sealed partial class IdentityJsonContext : JsonSerializerContext;
