using PgDr.Connections;
using PgDr.Topology;

namespace PgDr.Replication;

/// <summary>One replication slot as pg_replication_slots shows it, with the WAL it holds back.</summary>
public sealed class PgReplicationSlot
{
    public required PgInstance Instance { get; init; }

    /// <summary>host:port of the node the slot lives on.</summary>
    public string NodeName => Instance.Name;

    public required string SlotName { get; init; }

    /// <summary>physical or logical.</summary>
    public required string SlotType { get; init; }

    public bool Active { get; init; }

    public int? ActivePid { get; init; }

    public bool Temporary { get; init; }

    /// <summary>Oldest WAL the slot needs; null when it never reserved WAL.</summary>
    public PgLsn? RestartLsn { get; init; }

    /// <summary>reserved, extended, unreserved or lost (null when no WAL is reserved).</summary>
    public string? WalStatus { get; init; }

    /// <summary>Bytes that can still be written before the slot's WAL is at risk; null when max_slot_wal_keep_size is -1 (unlimited).</summary>
    public long? SafeWalSize { get; init; }

    /// <summary>WAL bytes the node keeps because of this slot (its position minus restart_lsn).</summary>
    public long RetainedBytes { get; init; }

    public DateTimeOffset ObservedAt { get; init; }

    public override string ToString() => $"{SlotName} on {NodeName}";
}

/// <summary>The verdict of Test-PgReplicationSlot on one slot.</summary>
public sealed class PgReplicationSlotHealth
{
    public required PgReplicationSlot Slot { get; init; }

    public PgInstance Instance => Slot.Instance;

    public string NodeName => Slot.NodeName;

    public string SlotName => Slot.SlotName;

    public bool Active => Slot.Active;

    public string? WalStatus => Slot.WalStatus;

    public long RetainedBytes => Slot.RetainedBytes;

    public long? SafeWalSize => Slot.SafeWalSize;

    public bool Healthy => Reasons.Count == 0;

    /// <summary>Why the slot is not healthy; empty when it is.</summary>
    public required IReadOnlyList<string> Reasons { get; init; }

    public override string ToString() => Healthy ? $"{SlotName}: healthy" : $"{SlotName}: {string.Join("; ", Reasons)}";
}

/// <summary>What dropping a slot did.</summary>
public sealed class PgReplicationSlotRemoval
{
    public required PgInstance Instance { get; init; }

    public string NodeName => Instance.Name;

    public required string SlotName { get; init; }

    /// <summary>WAL bytes the slot held back when it was dropped: what the next checkpoint may recycle.</summary>
    public long FreedBytes { get; init; }

    public PgLsn? RestartLsn { get; init; }
}
