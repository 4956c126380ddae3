using Npgsql;
using PgDr.Connections;
using PgDr.Errors;
using PgDr.Hosting;
using PgDr.Settings;
using PgDr.Topology;

namespace PgDr.Failover.Fencing;

/// <summary>How the old primary was kept from accepting writes.</summary>
public enum FenceMethod
{
    /// <summary>Not fenced: unreachable, or not asked to be.</summary>
    None,

    /// <summary>Made to refuse writes by SQL (read-only by default, client sessions ended); it still runs.</summary>
    ReadOnly,

    /// <summary>Stopped by PgDr (after the SQL fence), and marked as a standby so a restart does not bring it back writable.</summary>
    Stopped,
}

/// <summary>
/// Keeps an old primary from accepting writes before a standby is promoted. In two phases, so a failover that has to
/// give up between them can undo the first: <see cref="ApplySqlFenceAsync"/> (reversible, by SQL, on any reachable
/// node) and <see cref="StopAsync"/> (on a node PgDr controls).
/// </summary>
/// <remarks>
/// <para>The SQL fence sets <c>default_transaction_read_only = on</c> with ALTER SYSTEM (so it survives a restart), with
/// reloads, and ends every client session (rejoin removes the setting again; a custom marker setting beside it was
/// tried, but PostgreSQL 15 refuses ALTER SYSTEM for placeholder settings).
/// It is not a hard fence: a client that deliberately runs <c>SET default_transaction_read_only = off</c> (or
/// <c>BEGIN READ WRITE</c>) can still write. It stops every application that does not, and it makes the old primary's
/// end of WAL final, which the RPO is measured against. Holding commits as well (a synchronous standby that never
/// exists) was tried and left out: every commit in flight when the sessions end then becomes one whose client cannot
/// know whether it counted, which is worse for the applications and makes the RPO count disagree with what clients were
/// told. Stopping the server is the hard fence; a node that cannot be reached at all is fenced by no one but its own
/// agent (issue 13), which is why failover also takes the lease.</para>
/// </remarks>
public static class Fence
{
    /// <summary>The settings the SQL fence changes, with what postgresql.auto.conf held before (for the undo).</summary>
    public sealed record SqlFenceState(PgInstance Instance, string? PreviousReadOnly);

    /// <summary>Where the old primary's WAL ends once fenced: insert position (RPO in bytes) and flush position.</summary>
    public sealed record FinalPosition(PgLsn Insert, PgLsn Flush);

    /// <summary>Applies the SQL fence and confirms it from a new session; returns what to undo and the final WAL position.</summary>
    public static async Task<(SqlFenceState State, FinalPosition Position)> ApplySqlFenceAsync(PgInstance oldPrimary, CancellationToken cancellationToken)
    {
        var state = await PgConnector.RunAsync(oldPrimary, async conn =>
        {
            var previous = new SqlFenceState(
                oldPrimary,
                await ServerSettings.AutoConfValueAsync(conn, "default_transaction_read_only", cancellationToken).ConfigureAwait(false));
            await ServerSettings.AlterSystemAsync(conn, FenceSettings, cancellationToken, reload: false).ConfigureAwait(false);

            // The reload reaches backends when they next look; sessions that exist now may never look again, so they end.
            // One round trip for both (across a 40 ms link each counts in the RTO).
            using var terminate = new NpgsqlCommand(
                "SELECT pg_reload_conf(), (SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid())", conn);
            await terminate.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            return previous;
        }, cancellationToken).ConfigureAwait(false);

        // The confirmation may run on the same pooled session (an operation uses one at a time, the one the fence ran
        // on, which it spared): a new connection across a 40 ms link would cost 330 ms of the RTO.
        return (state, await ConfirmAsync(oldPrimary, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Puts back what the SQL fence changed (a failover that gave up before stopping or promoting anything).</summary>
    public static Task UndoSqlFenceAsync(SqlFenceState state, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(state);
        return PgConnector.RunAsync(state.Instance, async conn =>
        {
            await ServerSettings.AlterSystemAsync(conn, new Dictionary<string, string?>
            {
                ["default_transaction_read_only"] = state.PreviousReadOnly,
            }, cancellationToken).ConfigureAwait(false);
            return true;
        }, cancellationToken);
    }

    /// <summary>
    /// Stops the node at once (immediate: every committed transaction is already in its WAL, and a fast shutdown would
    /// wait for a WAL sender stuck on a dead link, up to wal_sender_timeout), then marks it as a standby
    /// (standby.signal), so a restart by anyone brings it back in recovery, not writable.
    /// </summary>
    public static async Task StopAsync(ControlledNode cluster, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        await cluster.StopAsync(StopMode.Immediate, cancellationToken).ConfigureAwait(false);
        MarkAsStandby(cluster.DataDirectory);
    }

    /// <summary>Writes standby.signal into a stopped data directory.</summary>
    public static void MarkAsStandby(string dataDirectory)
    {
        var signal = Path.Combine(dataDirectory, "standby.signal");
        File.WriteAllText(signal, string.Empty);
        if (OperatingSystem.IsLinux() && OsUser.CallerIsRoot && Archive.Repositories.LinuxFileSystem.TryGetOwner(dataDirectory, out var uid, out var gid))
        {
            _ = Archive.Repositories.LinuxFileSystem.ChangeOwner(signal, uid, gid);
        }
    }

    /// <summary>What the SQL fence sets; rejoin removes it again from the node's postgresql.auto.conf.</summary>
    public static IReadOnlyDictionary<string, string?> FenceSettings { get; } = new Dictionary<string, string?>
    {
        ["default_transaction_read_only"] = "on",
    };

    /// <summary>From a new session: the fence settings are live, and the WAL position is final (everything written is flushed).</summary>
    private static Task<FinalPosition> ConfirmAsync(PgInstance oldPrimary, CancellationToken cancellationToken) =>
        PgConnector.RunAsync(oldPrimary, async conn =>
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (true)
            {
                using var cmd = new NpgsqlCommand(
                    "SELECT current_setting('default_transaction_read_only'), pg_current_wal_insert_lsn(), pg_current_wal_flush_lsn()", conn);
                using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                var confirmed = reader.GetString(0) == "on";
                var insert = PgLsn.From(reader.GetFieldValue<NpgsqlTypes.NpgsqlLogSequenceNumber>(1));
                var flush = PgLsn.From(reader.GetFieldValue<NpgsqlTypes.NpgsqlLogSequenceNumber>(2));

                // The WAL writer flushes asynchronous commits within wal_writer_delay; a fenced primary writes nothing new.
                if (confirmed && flush >= insert)
                {
                    return new FinalPosition(insert, flush);
                }

                if (DateTime.UtcNow > deadline)
                {
                    throw new PgDrInvalidOperationException(
                        ErrorIds.FenceNotConfirmed,
                        confirmed ? $"{oldPrimary} still flushes WAL after it was fenced ({flush} < {insert})." : $"{oldPrimary} does not show the fence settings after a reload.",
                        oldPrimary);
                }

                await reader.DisposeAsync().ConfigureAwait(false);
                await Task.Delay(50, cancellationToken).ConfigureAwait(false);
            }
        }, cancellationToken);
}
