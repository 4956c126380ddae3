using System.Globalization;
using PgDr.Errors;
using PgDr.Topology;

namespace PgDr.Backup.Restore;

/// <summary>What recovery does when it reaches its target (recovery_target_action).</summary>
public enum RecoveryTargetAction
{
    /// <summary>Stay in recovery, read-only, until pg_wal_replay_resume() (PostgreSQL's default): look before promoting.</summary>
    Pause,

    /// <summary>End recovery and open for writes on a new timeline.</summary>
    Promote,

    /// <summary>Stop the server; starting it again continues recovery unless the target is changed.</summary>
    Shutdown,
}

/// <summary>Whether the restored cluster archives WAL as the backed-up one did.</summary>
public enum RestoreArchiveMode
{
    /// <summary>Keep archive_mode as backed up: a restored cluster that takes over archives its new timeline (the DR case).</summary>
    Preserve,

    /// <summary>archive_mode = off: for copies that must never write to the repository (tests, reporting copies).</summary>
    Off,
}

/// <summary>What Restore-PgCluster / pgdr restore asks for.</summary>
public sealed record RestoreRequest
{
    /// <summary>The data directory to restore into, on this host: new or empty, or with -Delta / -Force an existing one.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>The backup to restore; by default the latest one that can reach the target.</summary>
    public string? Label { get; init; }

    /// <summary>The repository to read from (by its configured name); by default the first that holds the backup.</summary>
    public string? Repository { get; init; }

    /// <summary>recovery_target_time: replay up to this moment (the last commit before it).</summary>
    public DateTimeOffset? TargetTime { get; init; }

    /// <summary>recovery_target_lsn.</summary>
    public PgLsn? TargetLsn { get; init; }

    /// <summary>recovery_target_xid: up to the commit of this transaction.</summary>
    public ulong? TargetXid { get; init; }

    /// <summary>recovery_target_name: up to a restore point made with pg_create_restore_point().</summary>
    public string? TargetName { get; init; }

    /// <summary>recovery_target = 'immediate': stop as soon as the backup is consistent.</summary>
    public bool Immediate { get; init; }

    /// <summary>What to do at the target (with a target only); PostgreSQL's default, pause, when null.</summary>
    public RecoveryTargetAction? TargetAction { get; init; }

    /// <summary>recovery_target_inclusive = off: stop just before the target instead of just after it.</summary>
    public bool TargetExclusive { get; init; }

    /// <summary>recovery_target_timeline: a number, 'current' or 'latest' (PostgreSQL's default).</summary>
    public string? TargetTimeline { get; init; }

    /// <summary>Seed a standby: standby.signal, and no recovery target.</summary>
    public bool AsStandby { get; init; }

    /// <summary>-AsStandby: the primary (or upstream standby) to stream from; primary_conninfo is built from it, without its password.</summary>
    public Connections.PgInstance? Primary { get; init; }

    /// <summary>-AsStandby: the role the standby replicates as (default: the primary's user, else postgres).</summary>
    public string? ReplicationUser { get; init; }

    /// <summary>-AsStandby: the 0600 password file primary_conninfo names (passfile=); the postgres account must read it.</summary>
    public string? PasswordFile { get; init; }

    /// <summary>-AsStandby: the standby's application_name (what synchronous_standby_names and pg_stat_replication call it).</summary>
    public string? StandbyName { get; init; }

    /// <summary>primary_slot_name for -AsStandby.</summary>
    public string? PrimarySlotName { get; init; }

    /// <summary>Rewrite only the files that differ from the backup, and remove those it does not hold (re-seeding a failed primary).</summary>
    public bool Delta { get; init; }

    /// <summary>Restore into a non-empty directory (and non-empty tablespace locations) by emptying it first.</summary>
    public bool Force { get; init; }

    /// <summary>The pgdr that restore_command runs; by default pgdr on PATH. The postgres account must be able to run it.</summary>
    public string? PgDrPath { get; init; }

    /// <summary>The configuration file restore_command names; by default the one this restore was given.</summary>
    public string? ConfigPath { get; init; }

    public RestoreArchiveMode ArchiveMode { get; init; } = RestoreArchiveMode.Preserve;

    /// <summary>Tablespace locations by oid or name; unmapped tablespaces go back where they were.</summary>
    public IReadOnlyDictionary<string, string>? TablespaceMapping { get; init; }

    /// <summary>Restore every tablespace that <see cref="TablespaceMapping"/> does not place into {this}/{oid} (a copy on the same host).</summary>
    public string? TablespaceRoot { get; init; }

    /// <summary>Further settings for postgresql.auto.conf (a port, say), written quoted after the recovery settings.</summary>
    public IReadOnlyDictionary<string, string>? Settings { get; init; }

    /// <summary>The OS account that will run PostgreSQL and own the files (when restoring as root); postgres by default.</summary>
    public string? OsUser { get; init; }

    /// <summary>Objects read and written at once; the configuration's backup.parallel by default.</summary>
    public int? Parallel { get; init; }

    internal bool HasTarget => TargetTime is not null || TargetLsn is not null || TargetXid is not null || TargetName is not null || Immediate;

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(DataDirectory))
        {
            throw Invalid("A data directory to restore into is required.", DataDirectory);
        }

        var targets = (TargetTime is null ? 0 : 1) + (TargetLsn is null ? 0 : 1) + (TargetXid is null ? 0 : 1) + (TargetName is null ? 0 : 1) + (Immediate ? 1 : 0);
        if (targets > 1)
        {
            throw Invalid("Give at most one recovery target: a time, an LSN, an xid, a restore point name, or -Immediate.", null);
        }

        if (!HasTarget && (TargetAction is not null || TargetExclusive))
        {
            throw Invalid("A target action or an exclusive target needs a recovery target.", TargetAction);
        }

        if (AsStandby && HasTarget)
        {
            throw Invalid("A standby follows its primary: -AsStandby takes no recovery target.", null);
        }

        if (!AsStandby && (Primary is not null || PrimarySlotName is not null || ReplicationUser is not null || PasswordFile is not null || StandbyName is not null))
        {
            throw Invalid("A primary to stream from, its slot, user, password file and the standby's name belong to -AsStandby.", null);
        }

        if (TargetName is { Length: 0 or > 63 })
        {
            throw Invalid("A restore point name has 1 to 63 characters.", TargetName);
        }

        if (TargetTimeline is { } timeline && timeline is not ("latest" or "current")
            && !(uint.TryParse(timeline, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number > 0))
        {
            throw Invalid($"The target timeline is a number, 'current' or 'latest' (got '{timeline}').", timeline);
        }

        if (Parallel is < 1 or > 64)
        {
            throw Invalid($"Parallel must be between 1 and 64 (got {Parallel}).", Parallel);
        }

        foreach (var (name, _) in Settings ?? new Dictionary<string, string>())
        {
            if (name.Length == 0 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.'))
            {
                throw Invalid($"'{name}' is not a setting name.", name);
            }
        }
    }

    internal string DescribeTarget() =>
        TargetTime is { } time ? $"time {time.UtcDateTime:yyyy-MM-dd HH:mm:ss.ffffff} UTC"
        : TargetLsn is { } lsn ? $"LSN {lsn}"
        : TargetXid is { } xid ? $"xid {xid}"
        : TargetName is { } name ? $"restore point '{name}'"
        : Immediate ? "consistency (immediate)"
        : AsStandby ? "standby (follows the archive and its primary)"
        : "the end of the archived WAL";

    private static PgDrArgumentException Invalid(string message, object? target) => new(ErrorIds.InvalidRestoreRequest, message, target);
}
