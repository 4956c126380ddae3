using PgDr.Backup.Catalog;

namespace PgDr.Backup.Restore;

/// <summary>What Restore-PgCluster did, or (with -WhatIf) would do.</summary>
public sealed class PgRestoreResult
{
    public required string DataDirectory { get; init; }

    public required string Repository { get; init; }

    public required string Stanza { get; init; }

    public required string Label { get; init; }

    public BackupType Type { get; init; }

    /// <summary>Where recovery will stop, in words (a time, an LSN, consistency, the end of the archive).</summary>
    public required string Target { get; init; }

    /// <summary>The earliest point this backup restores to (its consistency point).</summary>
    public DateTimeOffset ConsistentAt { get; init; }

    /// <summary>How far the archive reaches from this backup (the last archived segment's time).</summary>
    public DateTimeOffset? ArchiveReachesTime { get; init; }

    /// <summary>The settings written to postgresql.auto.conf, as "name = 'value'" lines.</summary>
    public required IReadOnlyList<string> Settings { get; init; }

    /// <summary>recovery.signal or standby.signal.</summary>
    public required string SignalFile { get; init; }

    public bool Delta { get; init; }

    /// <summary>False for -WhatIf: nothing was written.</summary>
    public bool Applied { get; init; }

    public int FileCount { get; init; }

    /// <summary>Files written (all of them, unless -Delta kept some).</summary>
    public int FilesWritten { get; init; }

    /// <summary>-Delta: files already identical to the backup's, left as they were.</summary>
    public int FilesKept { get; init; }

    /// <summary>Files removed: with -Delta those the backup does not hold, with -Force everything that was there.</summary>
    public int FilesRemoved { get; init; }

    public long BytesWritten { get; init; }

    public int ObjectsRead { get; init; }

    public TimeSpan Duration { get; init; }

    public double ThroughputMBps => Duration.TotalSeconds > 0 ? BytesWritten / 1e6 / Duration.TotalSeconds : 0;

    /// <summary>How to start the restored cluster (as the postgres OS account).</summary>
    public string StartCommand => $"pg_ctl -D '{DataDirectory}' start";

    public override string ToString() =>
        Applied
            ? $"{Label} restored into {DataDirectory}: {FilesWritten} files, {Bytes.Format(BytesWritten)} in {Duration.TotalSeconds:0.0} s; recovery to {Target}"
            : $"would restore {Label} into {DataDirectory}; recovery to {Target}";
}
