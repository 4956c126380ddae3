using PgDr.Backup.Catalog;

namespace PgDr.Backup.Verify;

/// <summary>One step of a restore test and how it went.</summary>
public sealed class PgBackupTestStep
{
    public required string Name { get; init; }

    /// <summary>True passed, false failed, null skipped (the detail says why).</summary>
    public bool? Success { get; init; }

    public TimeSpan Duration { get; init; }

    public string? Detail { get; init; }

    public string? ErrorId { get; init; }

    public override string ToString() => $"{Name}: {(Success is null ? "skipped" : Success.Value ? "passed" : "FAILED")} ({Duration.TotalSeconds:0.0} s){(Detail is null ? string.Empty : " " + Detail)}";
}

/// <summary>
/// What Test-PgBackup found restoring one backup (dbatools' Test-DbaLastBackup is the model): the backup, each step
/// with its result and time, the row counts asked for, and one verdict.
/// </summary>
public sealed class PgBackupTest
{
    public required string Repository { get; init; }

    public required string Stanza { get; init; }

    public required string Label { get; init; }

    public BackupType Type { get; init; }

    public DateTimeOffset BackupStopTime { get; init; }

    /// <summary>Where replay was asked to stop.</summary>
    public required string Target { get; init; }

    public required IReadOnlyList<PgBackupTestStep> Steps { get; init; }

    /// <summary>Every step that ran passed, and the restore, recovery and checks all ran.</summary>
    public bool Success { get; init; }

    public TimeSpan RestoreDuration { get; init; }

    public TimeSpan RecoveryDuration { get; init; }

    public TimeSpan TotalDuration { get; init; }

    public long RestoredBytes { get; init; }

    /// <summary>The timeline and WAL position the restored cluster opened at.</summary>
    public uint? RecoveredTimeline { get; init; }

    public Topology.PgLsn? RecoveredLsn { get; init; }

    /// <summary>Rows per table asked for (-Table), null for a table that could not be counted.</summary>
    public required IReadOnlyDictionary<string, long?> RowCounts { get; init; }

    /// <summary>passed, failed or skipped.</summary>
    public string AmcheckResult => Outcome("pg_amcheck");

    public string VerifyResult => Outcome("pg_verifybackup");

    /// <summary>The first failure, in one sentence with its error id; null when the test passed.</summary>
    public string? Error => Steps.FirstOrDefault(s => s.Success == false) is { } failed ? $"{failed.Name}: {failed.Detail}" : null;

    /// <summary>The scratch directory used (removed at the end).</summary>
    public required string ScratchDirectory { get; init; }

    private string Outcome(string step) => Steps.FirstOrDefault(s => s.Name == step) is { } found
        ? found.Success is null ? "skipped" : found.Success.Value ? "passed" : "failed"
        : "not run";

    public override string ToString() => $"{Label}: {(Success ? "passed" : "FAILED")} in {TotalDuration.TotalSeconds:0.0} s{(Error is null ? string.Empty : " - " + Error)}";
}
