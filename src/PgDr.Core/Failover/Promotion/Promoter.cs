using Npgsql;
using PgDr.Connections;
using PgDr.Errors;
using PgDr.Topology;

namespace PgDr.Failover.Promotion;

/// <summary>Ends a standby's recovery and proves the new primary takes writes.</summary>
public static class Promoter
{
    /// <summary>How long pg_promote waits for the end of recovery (replay of everything received comes first).</summary>
    public static readonly TimeSpan PromoteWait = TimeSpan.FromSeconds(60);

    /// <summary>
    /// pg_promote(wait => true): returns once the node left recovery. Its new timeline and where it forked from the
    /// old one (the switch point in its history file) are returned for the repointing and the lease.
    /// </summary>
    public static Task<TimelineHistory> PromoteAsync(PgInstance target, CancellationToken cancellationToken) =>
        PgConnector.RunAsync(target, async conn =>
        {
            using (var promote = new NpgsqlCommand($"SELECT pg_promote(true, {(int)PromoteWait.TotalSeconds})", conn))
            {
                promote.CommandTimeout = (int)PromoteWait.TotalSeconds + 10;
                if (await promote.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not true)
                {
                    // The promotion was requested and may still finish: the caller keeps the lease with this node.
                    throw new PgDrException(
                        ErrorIds.PromotionFailed,
                        PgDrErrorCategory.OperationTimeout,
                        $"{target} did not finish its promotion within {PromoteWait.TotalSeconds:0} s; it was asked to and may still finish (it holds the lease). Check its log.",
                        target);
                }
            }

            return await TimelineHistory.ReadAsync(conn, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>
    /// Commits a real write on the new primary: a temporary table that is dropped at commit (catalog rows, WAL, a
    /// commit record, nothing left behind). Committed with synchronous_commit = local: it proves the node is writable
    /// and durable; whether applications' commits also wait for synchronous standbys is their configuration's business
    /// (docs/failover.md).
    /// </summary>
    public static Task VerifyWriteAsync(PgInstance newPrimary, CancellationToken cancellationToken) =>
        PgConnector.RunAsync(newPrimary, async conn =>
        {
            try
            {
                using var write = new NpgsqlCommand(
                    "BEGIN; SET LOCAL synchronous_commit = local; CREATE TEMP TABLE pgdr_write_check (at timestamptz) ON COMMIT DROP; INSERT INTO pgdr_write_check VALUES (now()); COMMIT;",
                    conn);
                await write.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (PostgresException ex)
            {
                throw new PgDrException(ErrorIds.WriteCheckFailed, PgDrErrorCategory.InvalidOperation, $"{newPrimary} was promoted but refused a write: {ex.MessageText}", newPrimary, ex);
            }
        }, cancellationToken);

    /// <summary>
    /// The last two steps of the recovery time, timed on <paramref name="clock"/>: promote, then the first write; the
    /// RTO ends with that write. Returns the new timeline's history and the RTO.
    /// </summary>
    public static async Task<(TimelineHistory History, TimeSpan Rto)> PromoteAndWriteAsync(Measurement.StepClock clock, PgInstance target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(clock);
        var history = await clock.TimeAsync("promote", async () =>
        {
            var promoted = await PromoteAsync(target, cancellationToken).ConfigureAwait(false);
            return (promoted, $"timeline {promoted.CurrentTimeline}, forked at {SwitchPoint(promoted)?.ToString() ?? "-"}");
        }).ConfigureAwait(false);
        await clock.TimeAsync("first write", async () =>
        {
            await VerifyWriteAsync(target, cancellationToken).ConfigureAwait(false);
            return "accepted";
        }).ConfigureAwait(false);
        return (history, clock.MarkFirstAcceptedWrite());
    }

    /// <summary>The position up to which the new timeline shares WAL with the old one (null for a node never promoted).</summary>
    public static PgLsn? SwitchPoint(TimelineHistory history)
    {
        ArgumentNullException.ThrowIfNull(history);
        return history.Switches.Count == 0 ? null : history.Switches[^1].SwitchPoint;
    }
}
