using PgDr.Connections;

namespace PgDr.Diagnostics;

/// <summary>What a check concluded.</summary>
public enum PgDrCheckVerdict
{
    /// <summary>As it should be.</summary>
    Pass,

    /// <summary>Works today, but weakens recovery or will fail under a foreseeable condition.</summary>
    Warn,

    /// <summary>Broken now, or certain to break recovery: pgdr check exits 1.</summary>
    Fail,
}

/// <summary>The part of the troubleshooting matrix a check belongs to.</summary>
public enum PgDrCheckArea
{
    /// <summary>The node could be reached at all.</summary>
    Connection,

    /// <summary>Server settings replication, archiving and rejoin depend on.</summary>
    Settings,

    /// <summary>Who may connect, how they authenticate, and whether the wire is encrypted.</summary>
    Access,

    /// <summary>What runs now: the archiver, slots, streams, disks, clocks, replay.</summary>
    Health,

    /// <summary>Known failure lines in the server log.</summary>
    Log,
}

/// <summary>
/// One verdict of Test-PgDrConfiguration (pgdr check): which check (<see cref="CheckId"/>, stable: scripts and tests
/// match on it), about what (<see cref="Subject"/>: a slot, a standby, a pg_hba.conf line), what PgDr saw, and the fix in
/// one sentence. Carries the node it describes, so it pipes onward.
/// </summary>
public sealed class PgDrCheck
{
    public required PgInstance Instance { get; init; }

    /// <summary>host:port.</summary>
    public string NodeName => Instance.Name;

    /// <summary>The node's cluster_name (region-a in the sandbox); null when it has none or could not be read.</summary>
    public string? ClusterName { get; init; }

    /// <summary>cluster_name where there is one, else host:port: how tables name the node.</summary>
    public string Node => ClusterName ?? NodeName;

    public PgDrCheckArea Area { get; init; }

    /// <summary>The check's stable id, one of <see cref="CheckIds"/>.</summary>
    public required string CheckId { get; init; }

    /// <summary>What the verdict is about when a check gives several (a slot, a standby, a log pattern); null otherwise.</summary>
    public string? Subject { get; init; }

    public PgDrCheckVerdict Verdict { get; init; }

    /// <summary>What PgDr saw: the values, counts or lines the verdict rests on.</summary>
    public required string Evidence { get; init; }

    /// <summary>What to do, in one sentence; null on a pass.</summary>
    public string? Fix { get; init; }

    /// <summary>How often a log pattern occurred in the scanned part of the log; null for other checks.</summary>
    public int? Count { get; init; }

    /// <summary>When a log pattern last occurred (the server's time); null for other checks.</summary>
    public DateTimeOffset? LastSeen { get; init; }

    public override string ToString() =>
        $"{Node} {CheckId}{(Subject is null ? string.Empty : $" ({Subject})")}: {Verdict}: {Evidence}{(Fix is null ? string.Empty : " Fix: " + Fix)}";
}
