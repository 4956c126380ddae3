using PgDr.Backup.Catalog;
using PgDr.Connections;
using PgDr.Topology;

namespace PgDr.Backup.Create;

/// <summary>What Backup-PgCluster did: the backup taken, its sizes, times and throughput, and each repository's outcome.</summary>
public sealed class PgBackupResult
{
    public required PgInstance Instance { get; init; }

    public required string Stanza { get; init; }

    public required string Label { get; init; }

    public BackupType Type { get; init; }

    /// <summary>What was asked for: an incremental with nothing to build on becomes a full backup.</summary>
    public BackupType RequestedType { get; init; }

    public string? Prior { get; init; }

    /// <summary>The repositories that hold the complete backup.</summary>
    public required IReadOnlyList<string> Repositories { get; init; }

    /// <summary>Repositories that are not required and failed, with why; the backup is complete without them.</summary>
    public required IReadOnlyList<string> FailedRepositories { get; init; }

    public bool FromStandby { get; init; }

    public uint Timeline { get; init; }

    public PgLsn StartLsn { get; init; }

    public PgLsn StopLsn { get; init; }

    public required string StartWal { get; init; }

    public required string StopWal { get; init; }

    public DateTimeOffset StartTime { get; init; }

    public DateTimeOffset StopTime { get; init; }

    public int FileCount { get; init; }

    /// <summary>Files this backup stored (the rest are referenced to earlier backups).</summary>
    public int StoredFileCount { get; init; }

    public int ObjectCount { get; init; }

    public long OriginalBytes { get; init; }

    public long NewBytes { get; init; }

    public long StoredBytes { get; init; }

    /// <summary>From the first SQL statement to the manifest being stored.</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>Reading, compressing, encrypting and uploading the files.</summary>
    public TimeSpan CopyDuration { get; init; }

    /// <summary>Waiting for the WAL range to reach the repositories.</summary>
    public TimeSpan WalWaitDuration { get; init; }

    /// <summary>Megabytes (10^6) of the cluster's files per second of the whole backup.</summary>
    public double ThroughputMBps => Duration.TotalSeconds > 0 ? OriginalBytes / 1e6 / Duration.TotalSeconds : 0;

    /// <summary>Labels of interrupted backups whose leftovers this backup removed first.</summary>
    public required IReadOnlyList<string> LeftoversRemoved { get; init; }

    public override string ToString() => $"{Label} ({Type}): {Bytes.Format(OriginalBytes)} in {Duration.TotalSeconds:0.0} s, stored {Bytes.Format(StoredBytes)}";
}
