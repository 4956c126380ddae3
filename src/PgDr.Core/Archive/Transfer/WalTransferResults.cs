namespace PgDr.Archive.Transfer;

/// <summary>What one repository did with a pushed file.</summary>
public enum PushOutcome
{
    /// <summary>Newly stored.</summary>
    Archived,

    /// <summary>Already there with the same content: nothing written (idempotent push).</summary>
    AlreadyArchived,

    /// <summary>Could not be stored; the error says why.</summary>
    Failed,
}

public sealed class RepositoryPushResult
{
    public required string Repository { get; init; }

    public bool Required { get; init; }

    public PushOutcome Outcome { get; init; }

    /// <summary>Bytes of the stored object (compressed and encrypted), when this push wrote it.</summary>
    public long StoredBytes { get; init; }

    public string? Error { get; init; }

    public string? ErrorId { get; init; }
}

/// <summary>The result of pgdr wal push: exit 0 only when every required repository holds the file.</summary>
public sealed class WalPushResult
{
    public required string WalFileName { get; init; }

    public long Bytes { get; init; }

    /// <summary>The checksum of the file's content as archived, <c>algorithm:hex</c> (e.g. <c>xxh128:9f0c...</c>).</summary>
    public required string Checksum { get; init; }

    public required IReadOnlyList<RepositoryPushResult> Repositories { get; init; }

    public bool Durable => Repositories.Where(r => r.Required).All(r => r.Outcome != PushOutcome.Failed);
}

/// <summary>The result of pgdr wal fetch.</summary>
public sealed class WalFetchResult
{
    public required string WalFileName { get; init; }

    public required string Repository { get; init; }

    public required string Destination { get; init; }

    public long Bytes { get; init; }

    /// <summary>
    /// The verified checksum of the content, <c>algorithm:hex</c>; null for a file taken from the async spool, which
    /// the prefetcher verified when it fetched it (hashing it again would only slow recovery down).
    /// </summary>
    public string? Checksum { get; init; }
}
