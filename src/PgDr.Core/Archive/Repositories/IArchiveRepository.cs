namespace PgDr.Archive.Repositories;

/// <summary>
/// One place archived objects are kept: a directory, an S3 bucket or an Azure Blob container, each optionally under
/// a prefix. It is a plain blob store; the caller decides the layout of keys, which are relative '/'-separated paths
/// such as <c>main/wal/0000000100000000/000000010000000000000001</c> (see <see cref="ObjectKey"/> for the rules).
/// </summary>
/// <remarks>
/// Every implementation publishes atomically and create-only: an object is either absent or complete, and an existing
/// object is never overwritten. Failures are <see cref="Errors.PgDrRepositoryException"/> with one of the repository
/// error ids (RepositoryUnavailable, RepositoryAccessDenied, RepositoryNotFound, RepositoryFull,
/// RepositoryOperationFailed); an exception thrown by the caller's content stream propagates unchanged, and a
/// cancelled token ends the operation with <see cref="OperationCanceledException"/>, leaving no object behind.
/// </remarks>
public interface IArchiveRepository : IAsyncDisposable
{
    /// <summary>The repository's configured name (e.g. region-b), used in messages and as the error target.</summary>
    string Name { get; }

    /// <summary>
    /// Stores <paramref name="content"/> under <paramref name="key"/> unless an object already exists there.
    /// The content is read once, from its current position to its end, in bounded memory (it need not be seekable
    /// and its length need not be known); nothing becomes visible until all of it is durable.
    /// </summary>
    /// <returns><see cref="PutOutcome.Created"/>, or <see cref="PutOutcome.AlreadyExists"/> when another object holds the
    /// key (that object is left unchanged; comparing contents is the caller's business).</returns>
    Task<PutOutcome> PutIfAbsentAsync(string key, Stream content, CancellationToken cancellationToken);

    /// <summary>Opens the object for reading, or returns null when there is none. The caller disposes the stream.</summary>
    Task<Stream?> OpenReadAsync(string key, CancellationToken cancellationToken);

    /// <summary>Size and modification time of the object, or null when there is none.</summary>
    Task<ArchiveObjectInfo?> StatAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// The objects whose key starts with <paramref name="prefix"/> (a plain string prefix, not only whole path segments;
    /// empty lists everything), in ordinal key order.
    /// </summary>
    IAsyncEnumerable<ArchiveObjectInfo> ListAsync(string prefix, CancellationToken cancellationToken);

    /// <summary>Deletes the object; deleting an absent key is not an error.</summary>
    Task DeleteAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// Whether what holds the objects exists: the directory, the bucket, the container (a prefix inside a bucket or
    /// container is only part of each key and needs no creating).
    /// </summary>
    Task<bool> StoreExistsAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Creates what holds the objects unless it exists (a directory with mode 0750 and the parents it needs, a bucket,
    /// a container); true when it was created now. Push never calls this: a missing store is RepositoryNotFound there,
    /// so an unmounted share or a mistyped bucket is never silently replaced by a new, empty one.
    /// </summary>
    Task<bool> CreateStoreAsync(CancellationToken cancellationToken);
}

/// <summary>What a create-only put did.</summary>
public enum PutOutcome
{
    /// <summary>The object did not exist and is now stored, complete and durable.</summary>
    Created,

    /// <summary>An object already held the key; nothing was written.</summary>
    AlreadyExists,
}

/// <summary>One stored object: its key relative to the repository (without the configured prefix), size and last change.</summary>
public sealed record ArchiveObjectInfo(string Key, long Size, DateTimeOffset LastModified);
