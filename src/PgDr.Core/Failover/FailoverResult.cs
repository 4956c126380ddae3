using PgDr.Connections;
using PgDr.Failover.Fencing;
using PgDr.Failover.Measurement;
using PgDr.Failover.Promotion;
using PgDr.Topology;

namespace PgDr.Failover;

/// <summary>
/// What a failover did and measured: RTO from the call to the first write the new primary accepted (each step's
/// share), RPO from the old primary's last known WAL position against what the target had received.
/// </summary>
public sealed class PgFailoverResult
{
    /// <summary>The promoted node (pipes into Get-PgDrNode and the lag cmdlets).</summary>
    public required PgInstance Instance { get; init; }

    public required string NewPrimary { get; init; }

    public string? OldPrimary { get; init; }

    public PgInstance? OldPrimaryInstance { get; init; }

    /// <summary>Whether the old primary was confirmed unable to accept writes before the promotion.</summary>
    public bool OldPrimaryFenced { get; init; }

    public FenceMethod FenceMethod { get; init; }

    /// <summary>How the fence went, or why there was none (unreachable: its own agent must fence it).</summary>
    public string? FenceDetail { get; init; }

    public bool LeaseTaken { get; init; }

    /// <summary>The lease's generation (fencing term) the new primary holds.</summary>
    public long? LeaseGeneration { get; init; }

    public string? LeaseDetail { get; init; }

    public uint? NewTimeline { get; init; }

    /// <summary>Where the new timeline forked from the old one.</summary>
    public PgLsn? SwitchPoint { get; init; }

    /// <summary>The old primary's last WAL position (insert position once fenced); null when unknown.</summary>
    public PgLsn? OldPrimaryLsn { get; init; }

    /// <summary>What the target had received when it was promoted.</summary>
    public PgLsn? TargetReceivedLsn { get; init; }

    /// <summary>WAL written by the old primary and never received by the new one; null when unknown (never guessed).</summary>
    public long? RpoBytes { get; init; }

    /// <summary>Committed transactions in that WAL, counted from it on the old primary (pg_walinspect); null when unknown.</summary>
    public long? RpoTransactions { get; init; }

    /// <summary>RPO as shown: bytes and transactions, or "unknown".</summary>
    public string Rpo => RpoBytes is { } b
        ? $"{b} B{(RpoTransactions is { } t ? $", {t} transaction(s)" : string.Empty)}"
        : "unknown";

    /// <summary>From the call to the first write the new primary accepted.</summary>
    public TimeSpan Rto { get; init; }

    /// <summary>The whole call, repointing included.</summary>
    public TimeSpan Duration { get; init; }

    public IReadOnlyList<PgDrStep> Steps { get; init; } = [];

    public IReadOnlyList<PgStandbyRepoint> Repointed { get; init; } = [];

    /// <summary>-Force was used (data loss or a missing fence and lease accepted).</summary>
    public bool Forced { get; init; }

    public override string ToString() => $"{NewPrimary} promoted: RTO {Rto.TotalSeconds:0.000} s, RPO {Rpo}";
}

/// <summary>What a failover would do (-WhatIf): the checks' findings and each change, old -> new.</summary>
public sealed class PgFailoverPlan
{
    public required PgInstance Target { get; init; }

    public required string TargetName { get; init; }

    public string? OldPrimary { get; init; }

    public PgInstance? OldPrimaryInstance { get; init; }

    public bool OldPrimaryReachable { get; init; }

    /// <summary>Whether PgDr can stop the old primary itself (a local pg_ctl cluster).</summary>
    public bool OldPrimaryControlled { get; init; }

    public ulong SystemIdentifier { get; init; }

    public PgLsn? OldPrimaryLsn { get; init; }

    public PgLsn? TargetReceivedLsn { get; init; }

    public PgLsn? TargetReplayedLsn { get; init; }

    /// <summary>The target's distance behind the old primary now (bytes); null when the old primary is unreachable.</summary>
    public long? LagBytes { get; init; }

    public Lease.PgDrLease? Lease { get; init; }

    /// <summary>Why the lease could not be read, when it could not.</summary>
    public string? LeaseProblem { get; init; }

    /// <summary>Each change the failover makes, in order, "what: old -> new".</summary>
    public IReadOnlyList<string> Changes { get; init; } = [];

    public override string ToString() => string.Join("; ", Changes);
}
