using PgDr.Connections;
using PgDr.Topology;

namespace PgDr.Replication.Standby;

/// <summary>One step of building a standby and how long it took.</summary>
public sealed record PgStandbyStep(string Name, TimeSpan Duration)
{
    public override string ToString() => $"{Name} {Duration.TotalSeconds:0.000} s";
}

/// <summary>A standby New-PgStandby built: streaming, with the time of each step. Pipes on as the new node.</summary>
public sealed class PgStandby
{
    /// <summary>How to reach the new standby (the upstream's credentials: the roles are the same).</summary>
    public required PgInstance Instance { get; init; }

    /// <summary>host:port of the new standby.</summary>
    public string NodeName => Instance.Name;

    /// <summary>application_name and cluster_name.</summary>
    public required string Name { get; init; }

    /// <summary>What the new standby said about itself once it streamed.</summary>
    public required PgNode Node { get; init; }

    public required PgInstance Upstream { get; init; }

    public string UpstreamName => Upstream.Name;

    public required string SlotName { get; init; }

    /// <summary>The slot was created by this call.</summary>
    public bool SlotCreated { get; init; }

    public required string DataDirectory { get; init; }

    /// <summary>What controls the standby (pg_ctl -D ..., systemd unit ..., Windows service ...).</summary>
    public required string Service { get; init; }

    /// <summary>Bytes pg_basebackup copied (its own count; the upstream's size at the start).</summary>
    public long CopiedBytes { get; init; }

    /// <summary>The settings written to postgresql.auto.conf (no secret among them).</summary>
    public required IReadOnlyDictionary<string, string> Settings { get; init; }

    public required IReadOnlyList<PgStandbyStep> Steps { get; init; }

    public TimeSpan Duration => Steps.Aggregate(TimeSpan.Zero, (total, step) => total + step.Duration);

    /// <summary>What the caller should know although the standby streams (a set-aside directory that could not be removed ...).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    public override string ToString() => $"{Name} ({NodeName}) streaming from {UpstreamName}";
}

/// <summary>What New-PgStandby would do, found out without changing anything (-WhatIf shows it).</summary>
public sealed class PgStandbyPlan
{
    public required PgNode Upstream { get; init; }

    public required string DataDirectory { get; init; }

    public required string SlotName { get; init; }

    public bool CreatesSlot { get; init; }

    /// <summary>What the data directory holds now (names of its first entries); empty when it is new or empty.</summary>
    public IReadOnlyList<string> ExistingEntries { get; init; } = [];

    /// <summary>A server runs in the data directory and would be stopped (-Force).</summary>
    public bool StopsRunningServer { get; init; }

    public required string Service { get; init; }

    /// <summary>The password file primary_conninfo names; null when there is none.</summary>
    public string? PasswordFile { get; init; }

    /// <summary>This call writes the replication password into <see cref="PasswordFile"/>.</summary>
    public bool WritesPasswordFile { get; init; }

    /// <summary>The upstream's size in bytes, when it could be read (the sum of its databases).</summary>
    public long? UpstreamBytes { get; init; }

    /// <summary>The settings that will be written to postgresql.auto.conf.</summary>
    public required IReadOnlyDictionary<string, string> Settings { get; init; }

    /// <summary>Every change, in order, as a sentence.</summary>
    public IReadOnlyList<string> Actions
    {
        get
        {
            var actions = new List<string>();
            if (CreatesSlot)
            {
                actions.Add($"create slot {SlotName} on {Upstream.Name}");
            }

            if (StopsRunningServer)
            {
                actions.Add($"stop the server running in {DataDirectory}");
            }

            if (ExistingEntries.Count > 0)
            {
                actions.Add($"set aside what {DataDirectory} holds ({string.Join(", ", ExistingEntries)}) and delete it once the standby streams");
            }

            if (WritesPasswordFile)
            {
                actions.Add($"write the replication password into {PasswordFile} (0600)");
            }

            actions.Add($"pg_basebackup from {Upstream.Name} ({Upstream.Role}{(UpstreamBytes is { } size ? ", " + Bytes.Format(size) : string.Empty)}) through slot {SlotName} into {DataDirectory}");
            actions.Add("set " + string.Join(", ", Settings.Select(s => s.Key == "primary_conninfo" ? $"{s.Key} = {s.Value}" : $"{s.Key} = '{s.Value}'")) + " and standby.signal");
            actions.Add($"start it ({Service}) and wait until it streams");
            return actions;
        }
    }

    public override string ToString() => string.Join("; ", Actions);
}
