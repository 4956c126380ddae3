using PgDr.Connections;
using PgDr.Settings;

namespace PgDr.Replication.Synchronous;

/// <summary>What Set-PgSynchronousReplication did (or, with -WhatIf, would do) on a primary.</summary>
public sealed class PgSynchronousReplicationChange
{
    public required PgInstance Instance { get; init; }

    public string NodeName => Instance.Name;

    /// <summary>synchronous_standby_names and synchronous_commit, each old -> new.</summary>
    public required IReadOnlyList<PgSettingChange> Settings { get; init; }

    /// <summary>False for -WhatIf: nothing was written.</summary>
    public bool Applied { get; init; }

    /// <summary>The application_name of each standby connected to the primary when it was checked.</summary>
    public required IReadOnlyList<string> ConnectedStandbys { get; init; }

    /// <summary>Standbys named but not connected (accepted with -Force): commits wait until enough of them are.</summary>
    public required IReadOnlyList<string> MissingStandbys { get; init; }

    public override string ToString() =>
        $"{NodeName}: {string.Join("; ", Settings.Select(s => s.ToString()))}{(MissingStandbys.Count > 0 ? $" (not connected: {string.Join(", ", MissingStandbys)})" : string.Empty)}";
}
