using System.Globalization;
using PgDr.Archive.Transfer;
using PgDr.Topology;

namespace PgDr.Backup.Catalog;

/// <summary>One base backup in one repository (Get-PgBackup, pgdr backup list), with how far the archive lets it be rolled forward.</summary>
public sealed class PgBackup
{
    public required string Repository { get; init; }

    public required string Stanza { get; init; }

    public required string Label { get; init; }

    public BackupType Type { get; init; }

    /// <summary>The backup this one depends on (null for a full backup).</summary>
    public string? Prior { get; init; }

    /// <summary>Every backup a restore of this one reads objects from, oldest first (the full backup first).</summary>
    public required IReadOnlyList<string> References { get; init; }

    public DateTimeOffset StartTime { get; init; }

    /// <summary>The consistency point in time: the earliest moment this backup restores to.</summary>
    public DateTimeOffset StopTime { get; init; }

    public PgLsn StartLsn { get; init; }

    /// <summary>The consistency point: replay must reach it before the restored cluster opens.</summary>
    public PgLsn StopLsn { get; init; }

    public uint Timeline { get; init; }

    public required string StartWal { get; init; }

    public required string StopWal { get; init; }

    public bool FromStandby { get; init; }

    public required string Host { get; init; }

    public required string SystemIdentifier { get; init; }

    public required string PgVersion { get; init; }

    /// <summary>The bootstrap superuser of the backed-up cluster (a restore test connects as it).</summary>
    public required string Superuser { get; init; }

    public int FileCount { get; init; }

    /// <summary>Bytes of the cluster's files as restored.</summary>
    public long OriginalBytes { get; init; }

    /// <summary>Bytes of the files this backup stored itself (changed files, for an incremental or differential one).</summary>
    public long NewBytes { get; init; }

    /// <summary>Bytes this backup's own objects take in the repository (compressed and encrypted).</summary>
    public long StoredBytes { get; init; }

    public TimeSpan Duration => StopTime - StartTime;

    /// <summary>Every WAL segment from the backup's start to its consistency point is in the repository.</summary>
    public bool Consistent { get; init; }

    /// <summary>The timeline a restore of this backup to the latest point ends on.</summary>
    public uint? RecoverableTimeline { get; init; }

    /// <summary>Up to where the archive lets this backup be rolled forward without a gap (the end of the last segment).</summary>
    public PgLsn? RecoverableUntilLsn { get; init; }

    /// <summary>When the last segment of that run was archived: no commit after this time can be restored from it.</summary>
    public DateTimeOffset? RecoverableUntilTime { get; init; }

    /// <summary>Missing WAL after the unbroken run: recovery cannot pass them.</summary>
    public required IReadOnlyList<WalGap> WalGaps { get; init; }

    /// <summary>The configuration file it was listed with, so the object pipes into Test-PgBackup and Restore-PgCluster.</summary>
    public string? ConfigPath { get; init; }

    internal static string FormatVersion(int versionNum) =>
        versionNum >= 100000
            ? string.Create(CultureInfo.InvariantCulture, $"{versionNum / 10000}.{versionNum % 10000}")
            : string.Create(CultureInfo.InvariantCulture, $"{versionNum / 10000}.{versionNum / 100 % 100}.{versionNum % 100}");

    public override string ToString() => $"{Repository}: {Label} ({Type}, {StopTime:u}, {StopLsn})";
}

/// <summary>The span of time a repository can restore to: from its oldest backup's consistency point to its newest archived WAL.</summary>
public sealed class PgBackupWindow
{
    public required string Repository { get; init; }

    public required string Stanza { get; init; }

    public int BackupCount { get; init; }

    /// <summary>The oldest backup that can become consistent.</summary>
    public string? OldestBackup { get; init; }

    public DateTimeOffset? From { get; init; }

    public PgLsn? FromLsn { get; init; }

    public DateTimeOffset? Until { get; init; }

    public PgLsn? UntilLsn { get; init; }

    public uint? UntilTimeline { get; init; }

    /// <summary>Missing WAL inside the window: points after a gap are reachable only from a backup taken after it.</summary>
    public required IReadOnlyList<WalGap> Gaps { get; init; }

    public override string ToString() => From is null ? $"{Repository}: no restorable backup" : $"{Repository}: {From:u} .. {Until:u}";
}

/// <summary>What pgdr backup list --json writes: the backups and each repository's window.</summary>
public sealed class PgBackupListing
{
    public required IReadOnlyList<PgBackup> Backups { get; init; }

    public required IReadOnlyList<PgBackupWindow> Windows { get; init; }
}
