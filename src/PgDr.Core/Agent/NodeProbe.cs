using Npgsql;
using PgDr.Connections;
using PgDr.Errors;
using PgDr.Topology;

namespace PgDr.Agent;

/// <summary>What one probe of a node found: the node (role, identity, WAL positions) and what the agent adds to it.</summary>
public sealed record NodeProbeResult(
    PgNode Node,
    bool ReadOnly,
    TimeSpan? ReplayAge,
    long? ArchivedCount,
    long? ArchiveFailedCount,
    long? ArchiveReadySegments,
    IReadOnlyList<PgDrAgentPeer> Standbys)
{
    /// <summary>Accepts writes from ordinary sessions: not in recovery and not made read-only (the SQL fence).</summary>
    public bool Writable => Node.Role == PgNodeRole.Primary && !ReadOnly;
}

/// <summary>
/// The agent's SQL probes: of its own node (every tick) and of the primary (a standby's heartbeat). Each is bounded in
/// time: across a partition a connection attempt is not refused, it hangs, and a heartbeat that hangs is a miss.
/// </summary>
public static class NodeProbe
{
    private const string ExtraQuery = """
        SELECT current_setting('default_transaction_read_only')::bool,
               CASE WHEN pg_is_in_recovery() AND pg_last_wal_receive_lsn() IS DISTINCT FROM pg_last_wal_replay_lsn()
                    THEN clock_timestamp() - pg_last_xact_replay_timestamp() END,
               a.archived_count, a.failed_count,
               (SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready')
        FROM pg_stat_archiver a
        """;

    private const string StandbysQuery = """
        SELECT application_name, state, extract(epoch FROM clock_timestamp() - reply_time)::float8 FROM pg_stat_replication
        """;

    /// <summary>The local node, all the agent reports about it; or why it did not answer within <paramref name="timeout"/>.</summary>
    public static Task<(NodeProbeResult? Result, PgDrException? Failure)> ProbeLocalAsync(PgInstance instance, TimeSpan timeout, CancellationToken cancellationToken) =>
        BoundedAsync(instance, timeout, async ct => await PgConnector.RunAsync(instance, async conn =>
        {
            var node = await NodeInspector.ReadAsync(instance, conn, ct).ConfigureAwait(false);
            bool readOnly;
            TimeSpan? replayAge;
            long? archived, failed, ready;
            using (var cmd = new NpgsqlCommand(ExtraQuery, conn))
            using (var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
            {
                await reader.ReadAsync(ct).ConfigureAwait(false);
                readOnly = reader.GetBoolean(0);
                replayAge = reader.IsDBNull(1) ? null : reader.GetFieldValue<TimeSpan>(1);
                archived = reader.GetInt64(2);
                failed = reader.GetInt64(3);
                ready = reader.GetInt64(4);
            }

            var standbys = new List<PgDrAgentPeer>();
            using (var cmd = new NpgsqlCommand(StandbysQuery, conn))
            using (var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    standbys.Add(new PgDrAgentPeer
                    {
                        Name = reader.GetString(0),
                        Role = "standby",
                        State = reader.IsDBNull(1) ? null : reader.GetString(1),
                        LastHeartbeatSecondsAgo = reader.IsDBNull(2) ? null : Math.Round(reader.GetDouble(2), 3),
                    });
                }
            }

            return new NodeProbeResult(node, readOnly, replayAge, archived, failed, ready, standbys);
        }, ct).ConfigureAwait(false), cancellationToken);

    /// <summary>A standby's heartbeat of the primary: the node (role and position) in one round trip, or why it failed.</summary>
    public static Task<(PgNode? Node, PgDrException? Failure)> HeartbeatAsync(PgInstance primary, TimeSpan timeout, CancellationToken cancellationToken) =>
        Failover.ClusterNodes.TryReadAsync(primary, timeout, cancellationToken);

    /// <summary>Runs <paramref name="probe"/> within <paramref name="timeout"/>; a failure or a timeout is returned, not thrown.</summary>
    private static async Task<(T? Result, PgDrException? Failure)> BoundedAsync<T>(PgInstance instance, TimeSpan timeout, Func<CancellationToken, Task<T>> probe, CancellationToken cancellationToken)
        where T : class
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(timeout);
        try
        {
            // WaitAsync as well: the bound holds even where a driver call does not watch its token.
            return (await probe(bounded.Token).WaitAsync(timeout, cancellationToken).ConfigureAwait(false), null);
        }
        catch (PgDrException ex)
        {
            return (null, ex);
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException && !cancellationToken.IsCancellationRequested)
        {
            return (null, new PgDrConnectionException(ErrorIds.HostUnreachable, PgDrErrorCategory.ConnectionError, $"{instance} did not answer within {timeout.TotalSeconds:0.#} s.", instance, ex));
        }
    }
}
