using Npgsql;
using NpgsqlTypes;
using PgDr.Connections;
using PgDr.Errors;
using PgDr.Topology;

namespace PgDr.Replication;

/// <summary>Lists, creates, drops and judges replication slots.</summary>
public static class ReplicationSlotService
{
    // On a standby (cascading) the slot's WAL is measured against what it has replayed.
    private const string SlotQuery = """
        SELECT slot_name, slot_type, active, active_pid, temporary, restart_lsn, wal_status, safe_wal_size,
               CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END,
               clock_timestamp()
        FROM pg_replication_slots
        WHERE $1::text IS NULL OR slot_name = $1
        ORDER BY slot_name
        """;

    /// <summary>Slots on a node, filtered by <paramref name="names"/> (wildcards allowed). A literal name that matches nothing is an error.</summary>
    public static Task<IReadOnlyList<PgReplicationSlot>> GetSlotsAsync(PgInstance instance, IEnumerable<string>? names, CancellationToken cancellationToken)
    {
        var pattern = new NamePattern(names);
        return PgConnector.RunAsync<IReadOnlyList<PgReplicationSlot>>(instance, async conn =>
        {
            var slots = (await ReadSlotsAsync(instance, conn, null, cancellationToken).ConfigureAwait(false))
                .Where(s => pattern.IsMatch(s.SlotName))
                .ToList();
            var missing = pattern.LiteralNames.FirstOrDefault(n => !slots.Any(s => string.Equals(s.SlotName, n, StringComparison.OrdinalIgnoreCase)));
            if (missing is not null)
            {
                throw NotFound(instance, missing);
            }

            return slots;
        }, cancellationToken);
    }

    /// <summary>
    /// Creates a physical slot that reserves WAL at once. Refuses a standby unless <paramref name="allowStandby"/>:
    /// a slot on a standby protects only that standby's WAL, a mistake when the primary was meant.
    /// </summary>
    public static Task<PgReplicationSlot> CreatePhysicalSlotAsync(PgInstance instance, string slotName, bool allowStandby, CancellationToken cancellationToken)
    {
        var name = ReplicationSlotName.Validate(slotName);
        return PgConnector.RunAsync(instance, async conn =>
        {
            if (!allowStandby)
            {
                await NodeInspector.RequirePrimaryAsync(instance, conn, $"creating slot '{name}'", cancellationToken).ConfigureAwait(false);
            }

            if ((await ReadSlotsAsync(instance, conn, name, cancellationToken).ConfigureAwait(false)).Count > 0)
            {
                throw new PgDrException(ErrorIds.ReplicationSlotExists, PgDrErrorCategory.ResourceExists, $"Replication slot '{name}' already exists on {instance}.", name);
            }

            using (var cmd = new NpgsqlCommand("SELECT pg_create_physical_replication_slot($1, true)", conn))
            {
                cmd.Parameters.AddWithValue(name);
                try
                {
                    await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.DuplicateObject)
                {
                    // Another session created it between our check and our create.
                    throw new PgDrException(ErrorIds.ReplicationSlotExists, PgDrErrorCategory.ResourceExists, $"Replication slot '{name}' already exists on {instance}.", name, ex);
                }
            }

            return (await ReadSlotsAsync(instance, conn, name, cancellationToken).ConfigureAwait(false))[0];
        }, cancellationToken);
    }

    /// <summary>Drops a slot that no standby is using, and reports how much WAL it held back.</summary>
    public static Task<PgReplicationSlotRemoval> DropSlotAsync(PgInstance instance, string slotName, CancellationToken cancellationToken)
    {
        var name = ReplicationSlotName.Validate(slotName);
        return PgConnector.RunAsync(instance, async conn =>
        {
            var slot = (await ReadSlotsAsync(instance, conn, name, cancellationToken).ConfigureAwait(false)).FirstOrDefault()
                ?? throw NotFound(instance, name);
            if (slot.Active)
            {
                throw SlotActive(instance, slot);
            }

            using (var cmd = new NpgsqlCommand("SELECT pg_drop_replication_slot($1)", conn))
            {
                cmd.Parameters.AddWithValue(name);
                try
                {
                    await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.ObjectInUse)
                {
                    throw SlotActive(instance, slot);
                }
                catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UndefinedObject)
                {
                    throw NotFound(instance, name);
                }
            }

            return new PgReplicationSlotRemoval { Instance = instance, SlotName = name, FreedBytes = slot.RetainedBytes, RestartLsn = slot.RestartLsn };
        }, cancellationToken);
    }

    /// <summary>Judges each slot: inactive, WAL at risk or lost, or holding more than <paramref name="maxRetainedBytes"/>.</summary>
    public static async Task<IReadOnlyList<PgReplicationSlotHealth>> TestSlotsAsync(
        PgInstance instance, IEnumerable<string>? names, long? maxRetainedBytes, CancellationToken cancellationToken)
    {
        if (maxRetainedBytes is < 0)
        {
            throw new PgDrArgumentException(ErrorIds.InvalidThreshold, $"MaxRetainedBytes must not be negative (got {maxRetainedBytes}).", maxRetainedBytes);
        }

        var slots = await GetSlotsAsync(instance, names, cancellationToken).ConfigureAwait(false);
        return slots.Select(s => Judge(s, maxRetainedBytes)).ToList();
    }

    /// <summary>The rules of slot health, kept apart from SQL so they are tested on their own.</summary>
    public static PgReplicationSlotHealth Judge(PgReplicationSlot slot, long? maxRetainedBytes)
    {
        var reasons = new List<string>();
        if (!slot.Active)
        {
            reasons.Add("inactive: no standby is streaming through it, so WAL piles up on the node");
        }

        switch (slot.WalStatus)
        {
            case "unreserved":
                reasons.Add("wal_status is unreserved: it holds more than max_slot_wal_keep_size and its WAL will be removed at the next checkpoint");
                break;
            case "lost":
                reasons.Add("wal_status is lost: WAL it needs was removed; its standby must be rebuilt");
                break;
        }

        if (maxRetainedBytes is { } max && slot.RetainedBytes > max)
        {
            reasons.Add($"retains {Bytes.Format(slot.RetainedBytes)} of WAL, more than the {Bytes.Format(max)} allowed");
        }

        return new PgReplicationSlotHealth { Slot = slot, Reasons = reasons };
    }

    internal static async Task<List<PgReplicationSlot>> ReadSlotsAsync(PgInstance instance, NpgsqlConnection conn, string? name, CancellationToken cancellationToken)
    {
        using var cmd = new NpgsqlCommand(SlotQuery, conn);
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)name ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<PgReplicationSlot>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var restart = reader.IsDBNull(5) ? (PgLsn?)null : PgLsn.From(reader.GetFieldValue<NpgsqlLogSequenceNumber>(5));
            var position = reader.IsDBNull(8) ? (PgLsn?)null : PgLsn.From(reader.GetFieldValue<NpgsqlLogSequenceNumber>(8));
            result.Add(new PgReplicationSlot
            {
                Instance = instance,
                SlotName = reader.GetString(0),
                SlotType = reader.GetString(1),
                Active = reader.GetBoolean(2),
                ActivePid = reader.IsDBNull(3) ? null : reader.GetInt32(3),
                Temporary = reader.GetBoolean(4),
                RestartLsn = restart,
                WalStatus = reader.IsDBNull(6) ? null : reader.GetString(6),
                SafeWalSize = reader.IsDBNull(7) ? null : reader.GetInt64(7),
                RetainedBytes = restart is { } r && position is { } p ? p.BytesSince(r) : 0,
                ObservedAt = reader.GetFieldValue<DateTimeOffset>(9),
            });
        }

        return result;
    }

    private static PgDrNotFoundException NotFound(PgInstance instance, string name) =>
        new(ErrorIds.ReplicationSlotNotFound, $"There is no replication slot '{name}' on {instance}.", name);

    private static PgDrException SlotActive(PgInstance instance, PgReplicationSlot slot) =>
        new(ErrorIds.ReplicationSlotActive, PgDrErrorCategory.ResourceBusy,
            $"Replication slot '{slot.SlotName}' on {instance} is in use by a standby (pid {slot.ActivePid}); stop that standby before dropping its slot.", slot.SlotName);
}
