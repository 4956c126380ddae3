using PgDr.Backup.Catalog;

namespace PgDr.Backup.Retention;

/// <summary>What an expiry item is.</summary>
public enum BackupExpiryKind
{
    /// <summary>A complete backup no rule keeps.</summary>
    Backup,

    /// <summary>The remains of a backup that never completed (or of a removal cut short).</summary>
    Leftover,

    /// <summary>Archived WAL of one timeline that no kept backup can replay.</summary>
    Wal,
}

/// <summary>One thing Remove-PgBackup removes (or, with -WhatIf, would remove), exactly.</summary>
public sealed class PgBackupExpiry
{
    public required string Repository { get; init; }

    public required string Stanza { get; init; }

    public BackupExpiryKind Kind { get; init; }

    /// <summary>The backup or leftover label; null for WAL.</summary>
    public string? Label { get; init; }

    public BackupType? Type { get; init; }

    public DateTimeOffset? StopTime { get; init; }

    /// <summary>WAL: the timeline and the first and last file removed.</summary>
    public uint? Timeline { get; init; }

    public string? FirstWal { get; init; }

    public string? LastWal { get; init; }

    /// <summary>Objects removed (a backup's data objects; WAL files).</summary>
    public int Objects { get; init; }

    /// <summary>Bytes they take in the repository.</summary>
    public long StoredBytes { get; init; }

    /// <summary>Why it goes.</summary>
    public required string Reason { get; init; }

    /// <summary>False in a plan (-WhatIf), true once removed.</summary>
    public bool Removed { get; init; }

    /// <summary>WAL: the exact keys planned, so a removal deletes what was shown and nothing archived since.</summary>
    internal IReadOnlyList<string> Keys { get; init; } = [];

    public string Describe() => Kind switch
    {
        BackupExpiryKind.Backup => $"Remove backup {Label} ({Type}, stopped {StopTime:u}, {Bytes.Format(StoredBytes)} stored) from repository '{Repository}': {Reason}",
        BackupExpiryKind.Leftover => $"Remove the leftovers of the incomplete backup {Label} from repository '{Repository}': {Reason}",
        _ => $"Remove {Objects} archived WAL files of timeline {Timeline} ({FirstWal} .. {LastWal}, {Bytes.Format(StoredBytes)}) from repository '{Repository}': {Reason}",
    };

    public override string ToString() => Describe();
}
