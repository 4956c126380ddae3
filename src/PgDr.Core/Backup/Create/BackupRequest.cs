using PgDr.Backup.Catalog;
using PgDr.Connections;
using PgDr.Errors;

namespace PgDr.Backup.Create;

/// <summary>What Backup-PgCluster / pgdr backup create asks for.</summary>
public sealed class BackupRequest
{
    /// <summary>The cluster to back up, on this host (a primary or a standby).</summary>
    public required PgInstance Instance { get; init; }

    /// <summary>Full (default), or incremental/differential against the latest backup; a full one is taken when there is none to build on.</summary>
    public BackupType Type { get; init; } = BackupType.Full;

    /// <summary>The data directory to read; by default the server's data_directory (which must then be on this host).</summary>
    public string? DataDirectory { get; init; }

    /// <summary>
    /// For a backup taken on a standby: its primary, asked for a checkpoint before the backup (so it starts at a fresh
    /// restart point) and for a WAL switch after it (so the last segment is archived at once instead of at archive_timeout).
    /// </summary>
    public PgInstance? Primary { get; init; }

    /// <summary>pg_backup_start's fast checkpoint (default); false spreads it out as checkpoint_completion_target says.</summary>
    public bool FastCheckpoint { get; init; } = true;

    /// <summary>How long to wait for the WAL range in the repositories; the configuration's backup.archiveTimeoutSeconds by default.</summary>
    public TimeSpan? ArchiveTimeout { get; init; }

    /// <summary>
    /// Incremental and differential: compare the content checksum of every file whose size and timestamp look unchanged,
    /// instead of trusting timestamps older than the prior backup (for files copied with their timestamps kept, say).
    /// </summary>
    public bool CompareChecksums { get; init; }

    /// <summary>Streams at once; the configuration's backup.parallel by default.</summary>
    public int? Parallel { get; init; }

    internal void Validate()
    {
        if (Parallel is < 1 or > 64)
        {
            throw new PgDrArgumentException(ErrorIds.InvalidBackupRequest, $"Parallel must be between 1 and 64 (got {Parallel}).", Parallel);
        }

        if (ArchiveTimeout is { } timeout && (timeout <= TimeSpan.Zero || timeout > TimeSpan.FromDays(1)))
        {
            throw new PgDrArgumentException(ErrorIds.InvalidBackupRequest, $"ArchiveTimeout must be between 0 and 1 day (got {timeout}).", timeout);
        }
    }
}
