using PgDr.Errors;
using PgDr.Topology;

namespace PgDr.Backup.Verify;

/// <summary>What Test-PgBackup / pgdr backup test asks for.</summary>
public sealed class BackupTestRequest
{
    /// <summary>The backup to prove; by default the latest (or, with <see cref="Since"/>, each one since then).</summary>
    public string? Label { get; init; }

    /// <summary>Test every backup whose consistency point is at or after this time.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>The repository to restore from; by default the first that holds the backup.</summary>
    public string? Repository { get; init; }

    /// <summary>Replay to this time instead of to consistency.</summary>
    public DateTimeOffset? TargetTime { get; init; }

    public PgLsn? TargetLsn { get; init; }

    public ulong? TargetXid { get; init; }

    public string? TargetName { get; init; }

    /// <summary>Tables whose rows are counted (schema.table), in <see cref="Database"/>.</summary>
    public IReadOnlyList<string> Tables { get; init; } = [];

    /// <summary>Queries that must succeed in <see cref="Database"/>; one returning a single false fails the check.</summary>
    public IReadOnlyList<string> Queries { get; init; } = [];

    /// <summary>The database the tables and queries are in.</summary>
    public string Database { get; init; } = "postgres";

    /// <summary>Run pg_amcheck over every database (heap and B-tree checks) where it is installed.</summary>
    public bool Amcheck { get; init; } = true;

    /// <summary>Check the restored files and the WAL range with pg_verifybackup before starting.</summary>
    public bool VerifyFiles { get; init; } = true;

    /// <summary>Where the scratch directory is made (it must be reachable by the postgres account); the temp directory by default.</summary>
    public string? ScratchDirectory { get; init; }

    /// <summary>PostgreSQL's programs for the backup's major version; found as the sandbox finds them by default.</summary>
    public string? BinDirectory { get; init; }

    /// <summary>The pgdr the scratch cluster's restore_command runs; pgdr on PATH by default.</summary>
    public string? PgDrPath { get; init; }

    /// <summary>The OS account that runs the scratch cluster when testing as root; postgres by default.</summary>
    public string? OsUser { get; init; }

    /// <summary>Further settings for the scratch cluster (shared_buffers is 128MB unless set here).</summary>
    public IReadOnlyDictionary<string, string>? Settings { get; init; }

    /// <summary>How long replay may take before the test fails.</summary>
    public TimeSpan RecoveryTimeout { get; init; } = TimeSpan.FromMinutes(30);

    public int? Parallel { get; init; }

    internal void Validate()
    {
        var targets = (TargetTime is null ? 0 : 1) + (TargetLsn is null ? 0 : 1) + (TargetXid is null ? 0 : 1) + (TargetName is null ? 0 : 1);
        if (targets > 1)
        {
            throw new PgDrArgumentException(ErrorIds.InvalidBackupTestRequest, "Give at most one recovery target.", null);
        }

        if (Label is not null && Since is not null)
        {
            throw new PgDrArgumentException(ErrorIds.InvalidBackupTestRequest, "Give a label or a time to test backups since, not both.", Label);
        }

        if (RecoveryTimeout <= TimeSpan.Zero)
        {
            throw new PgDrArgumentException(ErrorIds.InvalidBackupTestRequest, "The recovery timeout must be positive.", RecoveryTimeout);
        }
    }
}
