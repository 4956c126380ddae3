using Npgsql;
using NpgsqlTypes;
using PgDr.Connections;
using PgDr.Errors;
using PgDr.Topology;

namespace PgDr.Replication;

/// <summary>Measures replication lag from a sending node or from a standby itself.</summary>
public static class ReplicationLagService
{
    // A cascading standby sends what it has received, so its reference is the received (or replayed) position.
    private const string SenderQuery = """
        WITH me AS (
          SELECT CASE WHEN pg_is_in_recovery()
                      THEN greatest(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())
                      ELSE pg_current_wal_lsn() END AS lsn,
                 clock_timestamp() AS now)
        SELECT r.application_name, host(r.client_addr), r.state, r.sent_lsn, r.write_lsn, r.flush_lsn, r.replay_lsn,
               r.write_lag, r.flush_lag, r.replay_lag, r.sync_state, r.reply_time, s.slot_name, me.lsn, me.now
        FROM pg_stat_replication r
        LEFT JOIN pg_replication_slots s ON s.active_pid = r.pid
        CROSS JOIN me
        UNION ALL
        SELECT s.slot_name, NULL, 'disconnected', NULL, NULL, NULL, s.restart_lsn,
               NULL, NULL, NULL, NULL, NULL, s.slot_name, me.lsn, me.now
        FROM pg_replication_slots s
        CROSS JOIN me
        WHERE s.slot_type = 'physical' AND NOT s.active AND NOT s.temporary
        ORDER BY 1
        """;

    private const string StandbyQuery = """
        SELECT pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn(), pg_last_xact_replay_timestamp(),
               r.status, r.sender_host, r.sender_port, r.slot_name, clock_timestamp(), pg_is_wal_replay_paused()
        FROM (SELECT 1) AS one
        LEFT JOIN pg_stat_wal_receiver r ON true
        """;

    /// <summary>
    /// From a primary (or a cascading standby): one object per downstream standby, including standbys whose
    /// slot exists but which are not connected. From a standby: also one object for the standby's own view.
    /// </summary>
    public static Task<IReadOnlyList<PgReplicationLag>> GetLagAsync(PgInstance instance, LagThresholds thresholds, CancellationToken cancellationToken)
    {
        Validate(thresholds);
        return PgConnector.RunAsync<IReadOnlyList<PgReplicationLag>>(instance, async conn =>
        {
            var node = await NodeInspector.ReadAsync(instance, conn, cancellationToken).ConfigureAwait(false);
            var result = new List<PgReplicationLag>();
            if (node.Role == PgNodeRole.Standby)
            {
                result.Add(await ReadStandbyViewAsync(instance, node, conn, thresholds, cancellationToken).ConfigureAwait(false));
            }

            result.AddRange(await ReadSenderViewAsync(instance, conn, thresholds, cancellationToken).ConfigureAwait(false));
            return result;
        }, cancellationToken);
    }

    private static async Task<List<PgReplicationLag>> ReadSenderViewAsync(PgInstance instance, NpgsqlConnection conn, LagThresholds thresholds, CancellationToken cancellationToken)
    {
        using var cmd = new NpgsqlCommand(SenderQuery, conn);
        using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<PgReplicationLag>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var state = reader.GetString(2);
            var replay = Lsn(reader, 6);
            var sender = Lsn(reader, 13);
            var replayLag = Interval(reader, 9);
            var connected = state != "disconnected";
            var byteLag = sender is { } s && replay is { } r ? s.BytesSince(r) : 0;
            var timeLag = SenderTimeLag(connected, byteLag, replayLag);
            result.Add(new PgReplicationLag
            {
                Instance = instance,
                Source = LagSource.Sender,
                StandbyName = reader.IsDBNull(0) || reader.GetString(0).Length == 0 ? "(unnamed)" : reader.GetString(0),
                ClientAddress = reader.IsDBNull(1) ? null : reader.GetString(1),
                State = state,
                SenderLsn = sender,
                SentLsn = Lsn(reader, 3),
                WriteLsn = Lsn(reader, 4),
                FlushLsn = Lsn(reader, 5),
                ReplayLsn = replay,
                ByteLag = byteLag,
                WriteLag = Interval(reader, 7),
                FlushLag = Interval(reader, 8),
                ReplayLag = replayLag,
                TimeLag = timeLag,
                SyncState = reader.IsDBNull(10) ? null : reader.GetString(10),
                ReplyTime = reader.IsDBNull(11) ? null : reader.GetFieldValue<DateTimeOffset>(11),
                SlotName = reader.IsDBNull(12) ? null : reader.GetString(12),
                ObservedAt = reader.GetFieldValue<DateTimeOffset>(14),
                Reasons = Reasons(connected ? null : "disconnected: the slot exists but no standby streams through it", byteLag, timeLag, thresholds),
            });
        }

        return result;
    }

    private static async Task<PgReplicationLag> ReadStandbyViewAsync(PgInstance instance, PgNode node, NpgsqlConnection conn, LagThresholds thresholds, CancellationToken cancellationToken)
    {
        using var cmd = new NpgsqlCommand(StandbyQuery, conn);
        using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        var receive = Lsn(reader, 0);
        var replay = Lsn(reader, 1);
        DateTimeOffset? lastReplayed = reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTimeOffset>(2);
        var status = reader.IsDBNull(3) ? null : reader.GetString(3);
        var now = reader.GetFieldValue<DateTimeOffset>(7);
        var paused = reader.GetBoolean(8);
        var byteLag = receive is { } rc && replay is { } rp ? rc.BytesSince(rp) : 0;
        var timeLag = StandbyTimeLag(byteLag, lastReplayed, now);
        string? problem = status switch
        {
            "streaming" => null,
            null => "no WAL receiver is running: the standby is not streaming from any upstream",
            _ => $"the WAL receiver is {status}, not streaming",
        };
        if (paused)
        {
            problem = problem is null ? "WAL replay is paused" : problem + "; WAL replay is paused";
        }

        return new PgReplicationLag
        {
            Instance = instance,
            Source = LagSource.Standby,
            StandbyName = node.ClusterName ?? instance.Name,
            State = status ?? "not streaming",
            ReceiveLsn = receive,
            ReplayLsn = replay,
            ByteLag = byteLag,
            TimeLag = timeLag,
            SlotName = reader.IsDBNull(6) ? null : reader.GetString(6),
            LastReplayedTransactionTime = lastReplayed,
            ObservedAt = now,
            Reasons = Reasons(problem, byteLag, timeLag, thresholds),
        };
    }

    /// <summary>
    /// Time lag seen from the sender: a standby that has replayed everything is 0 behind, whatever
    /// PostgreSQL's replay_lag says (it keeps the last sample for a while, then NULL, on an idle primary).
    /// </summary>
    public static TimeSpan? SenderTimeLag(bool connected, long byteLag, TimeSpan? replayLag) =>
        !connected ? null : byteLag == 0 ? TimeSpan.Zero : replayLag;

    /// <summary>
    /// Time lag seen from a standby: 0 when it has replayed all it received; otherwise the age of the last
    /// replayed transaction (now - pg_last_xact_replay_timestamp), which only counts while WAL waits for replay.
    /// </summary>
    public static TimeSpan? StandbyTimeLag(long byteLag, DateTimeOffset? lastReplayedTransaction, DateTimeOffset now)
    {
        if (byteLag == 0)
        {
            return TimeSpan.Zero;
        }

        if (lastReplayedTransaction is not { } t)
        {
            return null;
        }

        var age = now - t;
        return age < TimeSpan.Zero ? TimeSpan.Zero : age;
    }

    public static IReadOnlyList<string> Reasons(string? stateProblem, long byteLag, TimeSpan? timeLag, LagThresholds thresholds)
    {
        var reasons = new List<string>();
        if (stateProblem is not null)
        {
            reasons.Add(stateProblem);
        }

        if (thresholds.MaxLagBytes is { } maxBytes && byteLag > maxBytes)
        {
            reasons.Add($"{Bytes.Format(byteLag)} behind, more than the {Bytes.Format(maxBytes)} allowed");
        }

        if (thresholds.MaxLag is { } maxLag && timeLag is { } lag && lag > maxLag)
        {
            reasons.Add($"{lag.TotalSeconds:0.###} s behind, more than the {maxLag.TotalSeconds:0.###} s allowed");
        }

        return reasons;
    }

    private static void Validate(LagThresholds thresholds)
    {
        if (thresholds.MaxLag is { } lag && lag < TimeSpan.Zero)
        {
            throw new PgDrArgumentException(ErrorIds.InvalidThreshold, $"MaxLag must not be negative (got {lag}).", lag);
        }

        if (thresholds.MaxLagBytes is < 0)
        {
            throw new PgDrArgumentException(ErrorIds.InvalidThreshold, $"MaxLagBytes must not be negative (got {thresholds.MaxLagBytes}).", thresholds.MaxLagBytes);
        }
    }

    private static PgLsn? Lsn(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : PgLsn.From(reader.GetFieldValue<NpgsqlLogSequenceNumber>(ordinal));

    private static TimeSpan? Interval(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<TimeSpan>(ordinal);
}
