using PgDr.Connections;
using PgDr.Hosting.Services;

namespace PgDr.Replication.Standby;

/// <summary>What New-PgStandby (pgdr standby create) builds, on the host that will run the standby.</summary>
public sealed record StandbyRequest
{
    /// <summary>
    /// The node to copy and stream from: the primary, or a standby for a cascade. Its credentials are used for the SQL
    /// checks (role, system identifier, slots) and, unless a replication user is named, for replication too.
    /// </summary>
    public required PgInstance Upstream { get; init; }

    /// <summary>Where the standby's data goes; new or empty unless <see cref="Force"/>.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>
    /// The standby's name: its application_name (what pg_stat_replication and synchronous_standby_names call it) and
    /// cluster_name.
    /// </summary>
    public required string Name { get; init; }

    /// <summary>The slot on the upstream the standby streams through; by default made from <see cref="Name"/> (region-b: region_b).</summary>
    public string? SlotName { get; init; }

    /// <summary>Create the slot on the upstream (refused if it exists); otherwise it must exist and be unused.</summary>
    public bool CreateSlot { get; init; }

    /// <summary>The role pg_basebackup and the standby replicate as; by default the upstream's user.</summary>
    public string? ReplicationUser { get; init; }

    /// <summary>
    /// The replication role's password, written only into the 0600 <see cref="PasswordFile"/> owned by the service
    /// account. A secret: never logged, never in a message. By default the upstream's password when the user is the same.
    /// </summary>
    public string? ReplicationPassword { get; init; }

    /// <summary>
    /// The password file primary_conninfo names (passfile=). With a password it is written there (default: beside the
    /// data directory, &lt;data directory&gt;.pgpass, outside it so base backups of the standby do not copy it); without
    /// one it must already hold the entry.
    /// </summary>
    public string? PasswordFile { get; init; }

    /// <summary>The port the standby listens on (port in postgresql.auto.conf); by default the upstream's copied setting.</summary>
    public int? Port { get; init; }

    /// <summary>A PgDr configuration file: restore_command fetches WAL from its archive when streaming falls behind.</summary>
    public string? ConfigPath { get; init; }

    /// <summary>The pgdr restore_command runs; the service account must be able to run it. Default: /usr/bin/pgdr (the Debian package), /usr/local/bin/pgdr (Install-PgDrExecutable), then the pgdr that came with the running code (PgDrExecutable.LocateAsync).</summary>
    public string? PgDrPath { get; init; }

    /// <summary>The system identifier the upstream must have: refuses a node of another cluster.</summary>
    public ulong? SystemIdentifier { get; init; }

    /// <summary>What starts the standby (auto: a matching systemd unit or Windows service, else pg_ctl), with pg_ctl's bin directory and account.</summary>
    public PgServiceSpec Service { get; init; } = PgServiceSpec.Auto;

    /// <summary>Replace a data directory that is not empty: it is set aside (renamed) and deleted only once the new standby streams.</summary>
    public bool Force { get; init; }

    /// <summary>How long the started standby may take to stream.</summary>
    public TimeSpan StreamingTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Let pg_basebackup skip fsync: only for throwaway clusters (the sandbox), never for a real standby.</summary>
    public bool SkipSync { get; init; }

    /// <summary>Holds no secret.</summary>
    public override string ToString() => $"standby {Name} of {Upstream} in {DataDirectory}";
}
