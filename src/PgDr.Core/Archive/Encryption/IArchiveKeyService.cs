namespace PgDr.Archive.Encryption;

/// <summary>A data key for new objects: the key to encrypt with, and the same key as the key service wrapped it.</summary>
public sealed record WrappedDataKey(ArchiveKey Key, byte[] Wrapped);

/// <summary>
/// A key service that holds the long-lived key and wraps data keys with it (envelope encryption): hosts then keep no
/// archive key, access is a grant in the service that can be revoked, and rotating the service's key needs no rewrite
/// of the archive, because every object carries its own wrapped data key and the service unwraps old ones as long as
/// it keeps the key material they were wrapped with.
/// </summary>
/// <remarks>Keys returned are owned by the service (it caches them) and wiped when it is disposed; callers do not dispose them.</remarks>
public interface IArchiveKeyService : IDisposable
{
    /// <summary>What the service and key are, for messages (never key material).</summary>
    string Description { get; }

    /// <summary>
    /// The data key this process encrypts new objects with (one per service instance: per pgdr process, so per segment
    /// in synchronous mode, per run of the async worker); each object still gets its own record key from it by HKDF
    /// with the object's random salt. Throws KmsKeyUnusable (disabled, deleted, unknown or not granted) or KmsUnavailable.
    /// </summary>
    Task<WrappedDataKey> DataKeyAsync(CancellationToken cancellationToken);

    /// <summary>The data key an object's header carries, unwrapped by the service; KmsKeyUnusable or KmsUnavailable otherwise.</summary>
    Task<ArchiveKey> UnwrapAsync(byte[] wrappedKey, CancellationToken cancellationToken);
}
