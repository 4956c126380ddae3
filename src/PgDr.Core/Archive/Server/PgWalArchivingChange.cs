using PgDr.Connections;
using PgDr.Settings;

namespace PgDr.Archive.Server;

/// <summary>What Set-PgWalArchiving did (or, with -WhatIf, would do) on one node.</summary>
public sealed class PgWalArchivingChange
{
    public required PgInstance Instance { get; init; }

    public string NodeName => Instance.Name;

    public required IReadOnlyList<PgSettingChange> Settings { get; init; }

    /// <summary>False for -WhatIf: nothing was written.</summary>
    public bool Applied { get; init; }

    /// <summary>A setting is written but waits for a restart (pg_settings.pending_restart).</summary>
    public bool RestartPending { get; init; }

    /// <summary>The node was restarted by PgDr (only with -Restart, and only where PgDr controls the service).</summary>
    public bool Restarted { get; init; }

    /// <summary>
    /// The OS account pgdr was run as, before anything was changed, to prove it can execute pgdr and read the
    /// configuration and key (a node on this host); null when that could not be checked.
    /// </summary>
    public string? AccessCheckedAs { get; init; }

    /// <summary>The node was in recovery (a standby) when its settings were read.</summary>
    public bool IsStandby { get; init; }

    /// <summary>
    /// What the settings will not do yet, said once (Set-PgWalArchiving writes it as a warning, pgdr on stderr): on a
    /// standby, archive_mode = on archives nothing until the node is promoted. Null when there is nothing to say.
    /// </summary>
    public string? Note { get; init; }

    public override string ToString() => $"{NodeName}: {Settings.Count(s => s.Changed)} change(s){(RestartPending ? ", restart pending" : string.Empty)}";
}
