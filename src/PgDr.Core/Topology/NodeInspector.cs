using Npgsql;
using PgDr.Connections;
using PgDr.Errors;

namespace PgDr.Topology;

/// <summary>Reads a node's role, identity and WAL positions from SQL.</summary>
public static class NodeInspector
{
    // One round trip. The timeline of a primary is the one it writes (from its current WAL file name);
    // a standby's is the one it receives, or, without a receiver, the one of its last checkpoint.
    private const string NodeQuery = """
        SELECT pg_is_in_recovery(),
               (SELECT system_identifier FROM pg_control_system()),
               current_setting('server_version'),
               current_setting('server_version_num')::int,
               current_setting('cluster_name'),
               CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn() END,
               pg_last_wal_receive_lsn(),
               pg_last_wal_replay_lsn(),
               CASE WHEN pg_is_in_recovery()
                    THEN coalesce((SELECT received_tli FROM pg_stat_wal_receiver), (SELECT timeline_id FROM pg_control_checkpoint()))::bigint
                    ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::bigint
               END,
               r.sender_host, r.sender_port, r.slot_name, r.status,
               clock_timestamp()
        FROM (SELECT 1) AS one
        LEFT JOIN pg_stat_wal_receiver AS r ON true
        """;

    public static async Task<PgNode> GetNodeAsync(PgInstance instance, CancellationToken cancellationToken)
    {
        return await PgConnector.RunAsync(instance, conn => ReadAsync(instance, conn, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads the node on an already open connection.</summary>
    public static async Task<PgNode> ReadAsync(PgInstance instance, NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        using var cmd = new NpgsqlCommand(NodeQuery, connection);
        using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        var inRecovery = reader.GetBoolean(0);
        var senderHost = reader.IsDBNull(9) ? null : reader.GetString(9);
        var senderPort = reader.IsDBNull(10) ? (int?)null : reader.GetInt32(10);
        return new PgNode
        {
            Instance = instance,
            Role = inRecovery ? PgNodeRole.Standby : PgNodeRole.Primary,
            SystemIdentifier = unchecked((ulong)reader.GetInt64(1)),
            ServerVersion = reader.GetString(2),
            ServerVersionNumber = reader.GetInt32(3),
            ClusterName = reader.IsDBNull(4) || reader.GetString(4).Length == 0 ? null : reader.GetString(4),
            CurrentLsn = reader.IsDBNull(5) ? null : PgLsn.From(reader.GetFieldValue<NpgsqlTypes.NpgsqlLogSequenceNumber>(5)),
            ReceiveLsn = reader.IsDBNull(6) ? null : PgLsn.From(reader.GetFieldValue<NpgsqlTypes.NpgsqlLogSequenceNumber>(6)),
            ReplayLsn = reader.IsDBNull(7) ? null : PgLsn.From(reader.GetFieldValue<NpgsqlTypes.NpgsqlLogSequenceNumber>(7)),
            Timeline = (uint)reader.GetInt64(8),
            Upstream = senderHost is null ? null : senderHost.Contains(':', StringComparison.Ordinal) ? $"[{senderHost}]:{senderPort}" : $"{senderHost}:{senderPort}",
            UpstreamSlot = reader.IsDBNull(11) ? null : reader.GetString(11),
            ReceiverStatus = reader.IsDBNull(12) ? null : reader.GetString(12),
            ObservedAt = reader.GetFieldValue<DateTimeOffset>(13),
        };
    }

    /// <summary>Reads the node and refuses a standby: for operations that only make sense on a primary.</summary>
    public static async Task<PgNode> RequirePrimaryAsync(PgInstance instance, NpgsqlConnection connection, string operation, CancellationToken cancellationToken)
    {
        var node = await ReadAsync(instance, connection, cancellationToken).ConfigureAwait(false);
        if (node.Role != PgNodeRole.Primary)
        {
            throw new PgDrInvalidOperationException(
                ErrorIds.NodeIsStandby,
                $"{instance} is a standby (in recovery){(node.Upstream is null ? string.Empty : $" streaming from {node.Upstream}")}; {operation} needs the primary.",
                instance);
        }

        return node;
    }
}
