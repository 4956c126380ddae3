namespace PgDr.Archive.Repositories;

/// <summary>
/// Compare-and-swap on one small object, beside the create-only <see cref="IArchiveRepository"/>: read with a version,
/// replace only if the version still matches, create only if absent. The single-writer lease (Failover) is kept this
/// way, so two operators or agents racing for it cannot both win.
/// </summary>
/// <remarks>
/// <para>A version is an opaque token of the store (an ETag on S3 and Azure Blob, a generation number on a filesystem);
/// every successful write yields a new one, so a writer that read an older version always loses. Objects are small
/// (a few hundred bytes) and held in memory.</para>
/// <para>A conflict is an answer, not an error: <see cref="ConditionalWriteResult.Written"/> is false and the caller
/// reads again. Failures to reach the store are <see cref="Errors.PgDrRepositoryException"/>, as for the archive.</para>
/// </remarks>
public interface IConditionalObjectStore
{
    /// <summary>The repository's configured name, for messages.</summary>
    string Name { get; }

    /// <summary>The object and its current version, or null when there is none.</summary>
    Task<VersionedObject?> ReadVersionedAsync(string key, CancellationToken cancellationToken);

    /// <summary>Stores <paramref name="content"/> unless an object exists at <paramref name="key"/>.</summary>
    Task<ConditionalWriteResult> CreateIfAbsentAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken);

    /// <summary>Replaces the object only while its version is still <paramref name="expectedVersion"/>.</summary>
    Task<ConditionalWriteResult> ReplaceIfVersionAsync(string key, ReadOnlyMemory<byte> content, string expectedVersion, CancellationToken cancellationToken);
}

/// <summary>An object's content and the version it was read at.</summary>
public sealed record VersionedObject(byte[] Content, string Version);

/// <summary>What a conditional write did: written (with the new version), or refused because the condition no longer held.</summary>
public sealed record ConditionalWriteResult(bool Written, string? Version)
{
    public static ConditionalWriteResult Conflict { get; } = new(false, null);

    public static ConditionalWriteResult Success(string version) => new(true, version);
}
