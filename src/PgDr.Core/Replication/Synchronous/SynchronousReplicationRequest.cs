namespace PgDr.Replication.Synchronous;

/// <summary>How synchronous_standby_names chooses the standbys a commit waits for.</summary>
public enum SynchronousMethod
{
    /// <summary>FIRST n (...): the first n connected standbys in the list's order (priority).</summary>
    First,

    /// <summary>ANY n (...): any n of the listed standbys (quorum).</summary>
    Any,
}

/// <summary>What Set-PgSynchronousReplication (pgdr sync set) sets on a primary.</summary>
public sealed record SynchronousReplicationRequest
{
    /// <summary>The standbys' names (their application_name; the name given to New-PgStandby); * stands for any standby.</summary>
    public IReadOnlyList<string> StandbyNames { get; init; } = [];

    public SynchronousMethod Method { get; init; } = SynchronousMethod.First;

    /// <summary>How many standbys must confirm each commit.</summary>
    public int NumSync { get; init; } = 1;

    /// <summary>synchronous_commit: off, local, remote_write, on or remote_apply; null leaves it as it is.</summary>
    public string? SynchronousCommit { get; init; }

    /// <summary>Turn synchronous replication off (synchronous_standby_names = ''): waiting commits are released.</summary>
    public bool Disable { get; init; }

    /// <summary>Name standbys that are not connected now (a commit then waits until enough of them are).</summary>
    public bool Force { get; init; }
}
