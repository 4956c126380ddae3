using PgDr.Connections;
using PgDr.Failover.Measurement;
using PgDr.Failover.Promotion;
using PgDr.Topology;

namespace PgDr.Failover.Switchover;

/// <summary>What a switchover did: who is primary now, how long writes were unavailable, each step's time.</summary>
public sealed class PgSwitchoverResult
{
    /// <summary>The new primary (pipes into the next command).</summary>
    public required PgInstance Instance { get; init; }

    public required string NewPrimary { get; init; }

    public required string OldPrimary { get; init; }

    public required PgInstance OldPrimaryInstance { get; init; }

    /// <summary>The old primary's shutdown checkpoint, which the new primary replayed before its promotion: nothing committed is lost.</summary>
    public PgLsn FinalLsn { get; init; }

    public uint NewTimeline { get; init; }

    /// <summary>From the old primary's shutdown to the first write the new primary accepted.</summary>
    public TimeSpan WriteUnavailable { get; init; }

    /// <summary>From the call to the first accepted write.</summary>
    public TimeSpan Rto { get; init; }

    public TimeSpan Duration { get; init; }

    /// <summary>The old primary streams from the new one.</summary>
    public bool OldPrimaryStreaming { get; init; }

    public long? LeaseGeneration { get; init; }

    public IReadOnlyList<PgDrStep> Steps { get; init; } = [];

    public IReadOnlyList<PgStandbyRepoint> Repointed { get; init; } = [];

    public override string ToString() => $"{OldPrimary} -> {NewPrimary}: writes unavailable {WriteUnavailable.TotalSeconds:0.000} s";
}
