using PgDr.Connections;

namespace PgDr.Archive.Server;

/// <summary>One server setting as Set-PgWalArchiving sees it: what it is, what it will be, and what applying it takes.</summary>
public sealed class PgSettingChange
{
    public required string Name { get; init; }

    /// <summary>The running value, as SHOW prints it.</summary>
    public required string OldValue { get; init; }

    /// <summary>The value PgDr sets (equal to <see cref="OldValue"/> when nothing changes).</summary>
    public required string NewValue { get; init; }

    public bool Changed => !string.Equals(OldValue, NewValue, StringComparison.Ordinal);

    /// <summary>pg_settings.context: postmaster settings take effect only after a restart.</summary>
    public required string Context { get; init; }

    public bool RequiresRestart => Changed && Context == "postmaster";

    public override string ToString() => Changed ? $"{Name}: {OldValue} -> {NewValue}{(RequiresRestart ? " (restart)" : string.Empty)}" : $"{Name}: {OldValue} (unchanged)";
}

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

    public override string ToString() => $"{NodeName}: {Settings.Count(s => s.Changed)} change(s){(RestartPending ? ", restart pending" : string.Empty)}";
}
