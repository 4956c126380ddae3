using PgDr.Errors;

namespace PgDr.Backup.Retention;

/// <summary>What Remove-PgBackup / pgdr backup expire keeps; everything else older goes.</summary>
public sealed class RetentionRequest
{
    /// <summary>Keep this many full backups, newest first, with the differential and incremental backups built on them.</summary>
    public int? KeepFull { get; init; }

    /// <summary>Keep whatever restores to any moment of the last this many days (the backups since, and the one before).</summary>
    public int? KeepDays { get; init; }

    /// <summary>Remove these backups (and those built on them) instead of applying a rule.</summary>
    public IReadOnlyList<string> Labels { get; init; } = [];

    /// <summary>Only this repository (by its configured name).</summary>
    public string? Repository { get; init; }

    /// <summary>Also remove the archived WAL that no kept backup needs (default).</summary>
    public bool ExpireWal { get; init; } = true;

    /// <summary>The moment the rules are measured from (tests); now by default.</summary>
    public DateTimeOffset? Now { get; init; }

    internal void Validate()
    {
        if (KeepFull is null && KeepDays is null && Labels.Count == 0)
        {
            throw Invalid("Say what to keep (-KeepFull, -KeepDays) or which backups to remove (-Label).", null);
        }

        if (Labels.Count > 0 && (KeepFull is not null || KeepDays is not null))
        {
            throw Invalid("Remove named backups or apply a rule, not both.", Labels);
        }

        if (KeepFull is < 1)
        {
            throw Invalid($"KeepFull must be at least 1: the newest full backup is always kept (got {KeepFull}).", KeepFull);
        }

        if (KeepDays is < 1)
        {
            throw Invalid($"KeepDays must be at least 1 (got {KeepDays}).", KeepDays);
        }
    }

    private static PgDrArgumentException Invalid(string message, object? target) => new(ErrorIds.InvalidRetention, message, target);
}
