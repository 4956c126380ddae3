using Npgsql;
using PgDr.Connections;
using PgDr.Errors;
using PgDr.Failover.Fencing;
using PgDr.Failover.Lease;
using PgDr.Failover.Measurement;
using PgDr.Failover.Promotion;
using PgDr.Hosting;
using PgDr.Progress;
using PgDr.Topology;

namespace PgDr.Failover;

/// <summary>
/// Unplanned failover (Invoke-PgFailover, pgdr failover): check the target, fence the old primary, take the lease,
/// promote, prove a write, repoint the other standbys, and report the measured RTO and RPO. Never two primaries:
/// the old primary is stopped or made read-only where it can be reached, the lease changes holder by compare-and-swap
/// whether or not it can, and without either PgDr refuses unless forced.
/// </summary>
public static class FailoverService
{
    private const string Activity = "Failover";

    /// <summary>What a failover would do, found by the same checks, changing nothing (-WhatIf).</summary>
    public static async Task<PgFailoverPlan> PlanAsync(FailoverRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var checks = await CheckAsync(request, cancellationToken).ConfigureAwait(false);
        return checks.ToPlan();
    }

    /// <remarks>One pooled connection per node for the whole operation: its duration is what is measured.</remarks>
    public static Task<PgFailoverResult> RunAsync(FailoverRequest request, IProgress<PgDrProgress>? progress, CancellationToken cancellationToken) =>
        PgConnector.WithReusedConnectionsAsync(() => RunInScopeAsync(request, progress, cancellationToken));

    private static async Task<PgFailoverResult> RunInScopeAsync(FailoverRequest request, IProgress<PgDrProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var clock = new StepClock();
        progress?.Report(new PgDrProgress(Activity, $"checking {request.Target}"));
        var checks = await clock.TimeAsync("check", async () =>
        {
            var found = await CheckAsync(request, cancellationToken).ConfigureAwait(false);
            return (found, $"{found.TargetName} received {found.Target.ReceiveLsn?.ToString() ?? "-"}, old primary {(found.OldNode is null ? "unreachable" : $"at {found.OldNode.CurrentLsn}")}");
        }).ConfigureAwait(false);

        // Before anything changes: a target too far behind (or an unknown loss) is refused unless forced.
        await clock.TimeAsync("data loss check", () => CheckDataLossAsync(request, checks, cancellationToken)).ConfigureAwait(false);

        var lease = checks.Lease;
        var leaseTaken = false;
        string? leaseDetail = checks.LeaseProblem;

        // A lease without a TTL (no agent renews it) is taken first, so the loser of two concurrent failovers changes nothing.
        if (request.Lease is not null && checks.LeaseProblem is null && lease?.TtlSeconds is null)
        {
            progress?.Report(new PgDrProgress(Activity, "taking the lease"));
            lease = await clock.TimeAsync("lease", async () =>
            {
                var taken = await TakeLeaseAsync(request, checks, cancellationToken).ConfigureAwait(false);
                return (taken, $"generation {taken.Generation} in {taken.Repository}");
            }).ConfigureAwait(false);
            leaseTaken = true;
        }

        progress?.Report(new PgDrProgress(Activity, $"fencing {checks.OldPrimaryInstance?.ToString() ?? "the old primary"}"));
        var fence = await clock.TimeAsync("fence", async () =>
        {
            var outcome = await FenceAsync(request, checks, lease, leaseTaken, cancellationToken).ConfigureAwait(false);
            return (outcome, outcome.Detail);
        }).ConfigureAwait(false);

        // A lease with a TTL: taken after a confirmed fence, after it was seen to expire, or by force; then kept renewed
        // until the failover is done, since nothing else renews it while this node is promoted.
        LeaseKeeper? keeper = null;
        if (request.Lease is not null && checks.LeaseProblem is null && !leaseTaken)
        {
            lease = await clock.TimeAsync("lease", async () =>
            {
                var takenAt = System.Diagnostics.Stopwatch.GetTimestamp();
                var taken = await TakeLiveLeaseAsync(request, checks, fence.Fenced, progress, cancellationToken).ConfigureAwait(false);
                request.LeaseRenewed?.Invoke(taken, takenAt);
                return (taken, $"generation {taken.Generation} in {taken.Repository}");
            }).ConfigureAwait(false);
            leaseTaken = true;
            keeper = LeaseKeeper.Start(request.Lease, lease, request.LeaseRenewInterval, request.LeaseRenewed);
        }

        try
        {
            return await PromoteAsync(request, progress, clock, checks, fence, lease, leaseTaken, keeper, leaseDetail, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (keeper is not null)
            {
                await keeper.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static async Task<PgFailoverResult> PromoteAsync(
        FailoverRequest request,
        IProgress<PgDrProgress>? progress,
        StepClock clock,
        Checks checks,
        FenceOutcome fence,
        PgDrLease? lease,
        bool leaseTaken,
        LeaseKeeper? keeper,
        string? leaseDetail,
        CancellationToken cancellationToken)
    {
        if (!leaseTaken && !fence.Fenced && !request.Force)
        {
            throw new PgDrInvalidOperationException(
                ErrorIds.FenceNotConfirmed,
                $"The old primary could not be fenced ({fence.Detail}) and the lease could not be taken ({leaseDetail ?? "no lease repository is configured"}): promoting {checks.TargetName} could make two primaries. Nothing was changed; -Force promotes anyway.",
                request.Target);
        }

        // Whoever took the lease from under this failover promotes; this node must not.
        keeper?.ThrowIfLost($"{checks.TargetName} was not promoted", request.Target);
        progress?.Report(new PgDrProgress(Activity, $"promoting {checks.TargetName}"));
        var (history, rto) = await Promoter.PromoteAndWriteAsync(clock, request.Target, cancellationToken).ConfigureAwait(false);

        if (leaseTaken && lease is not null)
        {
            lease = await clock.TimeAsync("lease timeline", async () =>
            {
                var updated = keeper is null
                    ? await request.Lease!.SetTimelineAsync(lease, history.CurrentTimeline, cancellationToken).ConfigureAwait(false)
                    : await keeper.ChangeAsync((held, ct) => request.Lease!.SetTimelineAsync(held, history.CurrentTimeline, ct), cancellationToken).ConfigureAwait(false);
                return (updated, $"timeline {history.CurrentTimeline}");
            }).ConfigureAwait(false);
            leaseDetail = $"held by {lease.Holder}, generation {lease.Generation}";
        }

        var repointed = await StandbyRepointer.RepointAllAsync(clock, request.Repoint, request.Target, history, checks.SystemIdentifier, progress, cancellationToken).ConfigureAwait(false);

        var rpoBytes = fence.FinalLsn is { } last && fence.TargetReceived is { } received ? last.BytesSince(received) : (long?)null;
        return new PgFailoverResult
        {
            Instance = request.Target,
            NewPrimary = checks.TargetName,
            OldPrimary = checks.OldPrimaryName,
            OldPrimaryInstance = checks.OldPrimaryInstance,
            OldPrimaryFenced = fence.Fenced,
            FenceMethod = fence.Method,
            FenceDetail = fence.Detail,
            LeaseTaken = leaseTaken,
            LeaseGeneration = leaseTaken ? lease?.Generation : null,
            LeaseDetail = leaseDetail,
            NewTimeline = history.CurrentTimeline,
            SwitchPoint = Promoter.SwitchPoint(history),
            OldPrimaryLsn = fence.FinalLsn,
            TargetReceivedLsn = fence.TargetReceived,
            RpoBytes = rpoBytes,
            RpoTransactions = rpoBytes == 0 ? 0 : fence.LostTransactions,
            Rto = rto,
            Duration = clock.Elapsed,
            Steps = clock.Steps,
            Repointed = repointed,
            Forced = request.Force,
        };
    }

    /// <summary>What the checks found: the target, the old primary (when reachable), the lease.</summary>
    private sealed record Checks(
        PgNode Target,
        string TargetName,
        ulong SystemIdentifier,
        PgInstance? OldPrimaryInstance,
        PgNode? OldNode,
        string? OldPrimaryName,
        string? OldPrimaryProblem,
        ControlledNode? OldPrimaryCluster,
        PgDrLease? Lease,
        string? LeaseProblem,
        FailoverRequest Request)
    {
        public PgFailoverPlan ToPlan()
        {
            var changes = new List<string>();
            if (OldNode is not null)
            {
                changes.Add($"fence {OldPrimaryName} ({OldPrimaryInstance}): default_transaction_read_only: off -> on, end its client sessions");
                if (OldPrimaryCluster is not null)
                {
                    changes.Add($"stop {OldPrimaryName} through {OldPrimaryCluster} (immediate) and write standby.signal in {OldPrimaryCluster.DataDirectory}");
                }
            }
            else
            {
                changes.Add($"no fence: old primary {OldPrimaryInstance?.ToString() ?? "(unknown)"} cannot be reached ({OldPrimaryProblem})");
            }

            if (Request.Lease is not null && LeaseProblem is null)
            {
                changes.Add(Lease is null
                    ? $"lease {Request.Lease.Stanza} in {Request.Lease.Repository}: none -> held by {TargetName} (generation 1)"
                    : Lease.IsHeldBy(TargetName)
                        ? $"lease {Request.Lease.Stanza}: already held by {TargetName} (generation {Lease.Generation})"
                        : $"lease {Request.Lease.Stanza}: held by {Lease.Holder} (generation {Lease.Generation}) -> held by {TargetName} (generation {Lease.Generation + 1})");
            }
            else
            {
                changes.Add($"lease: not taken ({LeaseProblem ?? "no lease repository configured"})");
            }

            changes.Add($"promote {TargetName} ({Target.Instance}): standby (timeline {Target.Timeline}) -> primary (timeline {Target.Timeline + 1})");
            foreach (var standby in Request.Repoint)
            {
                changes.Add($"repoint {standby}: primary_conninfo -> {Target.Instance}, with a slot on {TargetName}");
            }

            return new PgFailoverPlan
            {
                Target = Target.Instance,
                TargetName = TargetName,
                OldPrimary = OldPrimaryName,
                OldPrimaryInstance = OldPrimaryInstance,
                OldPrimaryReachable = OldNode is not null,
                OldPrimaryControlled = OldPrimaryCluster is not null,
                SystemIdentifier = SystemIdentifier,
                OldPrimaryLsn = OldNode?.CurrentLsn,
                TargetReceivedLsn = Target.ReceiveLsn,
                TargetReplayedLsn = Target.ReplayLsn,
                LagBytes = OldNode?.CurrentLsn is { } current && (Target.ReceiveLsn ?? Target.ReplayLsn) is { } received ? current.BytesSince(received) : null,
                Lease = Lease,
                LeaseProblem = LeaseProblem,
                Changes = changes,
            };
        }
    }

    /// <summary>How the fence went and where the WAL of both nodes stood once it was in place.</summary>
    private sealed record FenceOutcome(bool Fenced, FenceMethod Method, string Detail, PgLsn? FinalLsn, PgLsn? TargetReceived, long? LostTransactions);

    private static async Task<Checks> CheckAsync(FailoverRequest request, CancellationToken cancellationToken)
    {
        // An unreachable target fails here with HostUnreachable: nothing was changed.
        var target = await NodeInspector.GetNodeAsync(request.Target, cancellationToken).ConfigureAwait(false);
        var targetName = ClusterNodes.NameOf(target);
        if (target.Role == PgNodeRole.Primary)
        {
            throw new PgDrInvalidOperationException(
                ErrorIds.NodeIsPrimary,
                $"{targetName} ({request.Target}) is already a primary (not in recovery); failover promotes a standby. Nothing was changed.",
                request.Target);
        }

        PgDrLease? lease = null;
        string? leaseProblem = null;
        if (request.Lease is not null)
        {
            try
            {
                lease = await request.Lease.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (PgDrRepositoryException ex)
            {
                leaseProblem = ex.Message;
            }
        }

        if (lease is not null && lease.SystemIdentifier != target.SystemIdentifier.ToString(System.Globalization.CultureInfo.InvariantCulture))
        {
            throw new PgDrInvalidOperationException(
                ErrorIds.SystemIdentifierMismatch,
                $"{targetName} belongs to cluster {target.SystemIdentifier}, but the lease of stanza '{lease.Stanza}' is for cluster {lease.SystemIdentifier}: it is not a standby of this cluster. Nothing was changed.",
                request.Target);
        }

        // The node to fence: the one named, else the lease holder (the only node allowed to write), else the target's upstream.
        var oldInstance = request.OldPrimary
            ?? (lease is not null && !lease.IsHeldBy(targetName) ? ClusterNodes.WithCredentialsOf(request.Target, lease.HolderInstance) : null)
            ?? await ClusterNodes.ConfiguredUpstreamAsync(request.Target, cancellationToken).ConfigureAwait(false);
        var (oldNode, oldFailure) = oldInstance is null ? (null, null) : await ClusterNodes.TryReadAsync(oldInstance, request.OldPrimaryTimeout, cancellationToken).ConfigureAwait(false);
        var oldName = oldNode is not null ? ClusterNodes.NameOf(oldNode) : lease is not null && !lease.IsHeldBy(targetName) ? lease.Holder : oldInstance?.Name;

        if (oldNode is not null)
        {
            // "Failover to another cluster's node": the target must share the old primary's system identifier.
            ClusterNodes.RequireSameCluster(target, oldNode.SystemIdentifier, $"{oldName} ({oldInstance})");
            if (oldNode.Role != PgNodeRole.Primary)
            {
                throw new PgDrInvalidOperationException(
                    ErrorIds.NodeIsStandby,
                    $"{oldName} ({oldInstance}), named as the old primary, is a standby: the primary is elsewhere (see Get-PgDrLease). Nothing was changed.",
                    oldInstance);
            }
        }

        if (lease is not null && !lease.IsHeldBy(targetName) && oldName is not null && !lease.IsHeldBy(oldName)
            && !string.Equals(lease.HolderInstance, oldInstance?.Name, StringComparison.OrdinalIgnoreCase))
        {
            // Fencing another node than the one allowed to write would leave the real primary running.
            throw new PgDrInvalidOperationException(
                ErrorIds.LeaseHolderMismatch,
                $"The lease names {lease.Holder} ({lease.HolderInstance}) as the primary, not {oldName} ({oldInstance}): fence and replace the lease holder. Nothing was changed.",
                oldInstance);
        }

        var cluster = oldNode is null ? null : await NodeControl.TryResolveAsync(oldInstance!, cancellationToken).ConfigureAwait(false);
        return new Checks(
            target,
            targetName,
            target.SystemIdentifier,
            oldInstance,
            oldNode,
            oldName,
            oldInstance is null ? "the target names no upstream and no lease names a holder" : oldFailure?.Message,
            cluster,
            lease,
            leaseProblem,
            request);
    }

    /// <summary>
    /// Refuses, before changing anything, a target further behind than the limit: a reachable old primary's current
    /// position must be reached (less the limit) within the catch-up time; an unreachable one leaves the loss unknown.
    /// </summary>
    private static async Task<string?> CheckDataLossAsync(FailoverRequest request, Checks checks, CancellationToken cancellationToken)
    {
        if (checks.OldNode?.CurrentLsn is not { } primaryAt)
        {
            if (request.LastKnownOldPrimaryLsn is { } lastSeen)
            {
                // The agent's case: the loss is at least what the target lacks of the old primary's last position seen.
                var have = checks.Target.ReceiveLsn ?? checks.Target.ReplayLsn ?? new PgLsn(0);
                var behind = lastSeen.BytesSince(have);
                if (behind > request.MaxDataLossBytes && !request.Force)
                {
                    throw new PgDrInvalidOperationException(
                        ErrorIds.DataLossExceedsLimit,
                        $"{checks.TargetName} has received up to {have}, at least {behind} bytes behind the old primary's last position seen ({lastSeen}); the limit is {request.MaxDataLossBytes} bytes. Nothing was changed.",
                        request.Target);
                }

                return $"old primary unreachable: at least {behind} bytes behind its last position seen ({lastSeen}); what it wrote after that is unknown";
            }

            if (!request.Force)
            {
                throw new PgDrInvalidOperationException(
                    ErrorIds.DataLossUnknown,
                    $"The old primary {checks.OldPrimaryInstance?.ToString() ?? string.Empty} cannot be reached ({checks.OldPrimaryProblem}), so how much {checks.TargetName} would lose cannot be measured. Nothing was changed; -Force accepts an unknown loss.",
                    request.Target);
            }

            return "old primary unreachable: loss unknown, accepted (-Force)";
        }

        var needed = primaryAt.Value > (ulong)request.MaxDataLossBytes ? new PgLsn(primaryAt.Value - (ulong)request.MaxDataLossBytes) : new PgLsn(0);
        var node = await WaitForReceivedAsync(request.Target, needed, request.CatchUpTimeout, cancellationToken).ConfigureAwait(false);
        var received = node.ReceiveLsn ?? node.ReplayLsn ?? new PgLsn(0);
        if (received < needed && !request.Force)
        {
            throw new PgDrInvalidOperationException(
                ErrorIds.DataLossExceedsLimit,
                $"{checks.TargetName} has received up to {received}, {primaryAt.BytesSince(received)} bytes behind the old primary ({primaryAt}); the limit is {request.MaxDataLossBytes} bytes. Nothing was changed; wait for it to catch up, raise -MaxDataLoss, or -Force.",
                request.Target);
        }

        return $"{primaryAt.BytesSince(received)} bytes behind at the check";
    }

    private static async Task<PgDrLease> TakeLeaseAsync(FailoverRequest request, Checks checks, CancellationToken cancellationToken)
    {
        var claim = new LeaseClaim(checks.TargetName, request.HolderInstance ?? request.Target.Name, checks.SystemIdentifier, checks.Target.Timeline, request.Reason ?? $"failover from {checks.OldPrimaryName ?? "an unknown primary"}");
        if (checks.Lease is not null && checks.Lease.IsHeldBy(checks.TargetName))
        {
            return checks.Lease;
        }

        return await request.Lease!.TakeAsync(checks.Lease, claim, checks.Lease?.TtlSeconds, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A lease an agent renews: taken after a confirmed fence, after it was seen to expire on this clock, or by force.</summary>
    private static async Task<PgDrLease> TakeLiveLeaseAsync(FailoverRequest request, Checks checks, bool fenced, IProgress<PgDrProgress>? progress, CancellationToken cancellationToken)
    {
        var observed = checks.Lease!;
        if (request.ExpiredLease is { } seen && !fenced && !request.Force)
        {
            // The caller watched it expire already: take it at that version, or not at all.
            if (seen.Version != observed.Version)
            {
                throw new PgDrException(
                    ErrorIds.LeaseConflict,
                    PgDrErrorCategory.ResourceBusy,
                    $"The lease changed since it was seen to expire (now generation {observed.Generation}, held by {observed.Holder}): its holder renewed it or another node took it. Nothing was changed.",
                    request.Target);
            }
        }
        else if (!fenced && !request.Force)
        {
            progress?.Report(new PgDrProgress(Activity, $"waiting {observed.TtlSeconds} s for the lease of {observed.Holder} to expire"));
            var (expired, latest) = await request.Lease!.WaitForExpiryAsync(observed, TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            if (!expired)
            {
                throw new PgDrInvalidOperationException(
                    ErrorIds.LeaseHeldByLiveHolder,
                    $"The lease is renewed by {latest?.Holder ?? observed.Holder}, which could not be fenced: its agent is alive. Nothing was changed; fence it, or -Force.",
                    request.Target);
            }

            observed = latest!;
        }

        var claim = new LeaseClaim(checks.TargetName, request.HolderInstance ?? request.Target.Name, checks.SystemIdentifier, checks.Target.Timeline, request.Reason ?? $"failover from {checks.OldPrimaryName}");
        return await request.Lease!.TakeAsync(observed, claim, observed.TtlSeconds, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<FenceOutcome> FenceAsync(FailoverRequest request, Checks checks, PgDrLease? lease, bool leaseTaken, CancellationToken cancellationToken)
    {
        if (checks.OldNode is null)
        {
            return new FenceOutcome(
                false,
                FenceMethod.None,
                $"not fenced: {checks.OldPrimaryInstance?.ToString() ?? "the old primary"} cannot be reached ({checks.OldPrimaryProblem}); if it still runs, it accepts writes from clients that reach it until its agent sees the lease is lost, or someone stops it",
                null,
                (await NodeInspector.GetNodeAsync(request.Target, cancellationToken).ConfigureAwait(false)).ReceiveLsn,
                null);
        }

        var (state, final) = await Fence.ApplySqlFenceAsync(checks.OldPrimaryInstance!, cancellationToken).ConfigureAwait(false);

        // The old primary writes nothing more: give the target the rest of its WAL, then measure what it lacks.
        var target = await WaitForReceivedAsync(request.Target, final.Insert, request.CatchUpTimeout, cancellationToken).ConfigureAwait(false);
        var received = target.ReceiveLsn ?? target.ReplayLsn ?? new PgLsn(0);
        var lost = final.Insert.BytesSince(received);
        if (lost > request.MaxDataLossBytes && !request.Force)
        {
            await Fence.UndoSqlFenceAsync(state, cancellationToken).ConfigureAwait(false);
            if (leaseTaken && lease is not null && checks.OldPrimaryName is { } oldName)
            {
                await request.Lease!.TakeAsync(lease, new LeaseClaim(oldName, checks.OldPrimaryInstance!.Name, checks.SystemIdentifier, checks.OldNode.Timeline, "failover abandoned"), lease.TtlSeconds, cancellationToken).ConfigureAwait(false);
            }

            throw new PgDrInvalidOperationException(
                ErrorIds.DataLossExceedsLimit,
                $"After the fence {checks.TargetName} received up to {received}, {lost} bytes short of the old primary's last WAL ({final.Insert}); the limit is {request.MaxDataLossBytes} bytes. The fence was lifted{(leaseTaken ? " and the lease given back" : string.Empty)}; -Force accepts the loss.",
                request.Target);
        }

        var transactions = lost == 0 ? 0 : await CountLostCommitsAsync(checks.OldPrimaryInstance!, target.ReplayLsn ?? received, received, final.Flush, cancellationToken).ConfigureAwait(false);
        if (checks.OldPrimaryCluster is { } cluster)
        {
            await Fence.StopAsync(cluster, cancellationToken).ConfigureAwait(false);
            await PgConnector.ForgetPooledAsync(checks.OldPrimaryInstance!).ConfigureAwait(false);
            return new FenceOutcome(true, FenceMethod.Stopped, $"{checks.OldPrimaryName} made read-only, then stopped (immediate) and marked standby", final.Insert, received, transactions);
        }

        return new FenceOutcome(true, FenceMethod.ReadOnly, $"{checks.OldPrimaryName} made read-only by default and its sessions ended (PgDr does not control its service; stop it)", final.Insert, received, transactions);
    }

    /// <summary>Waits (up to <paramref name="timeout"/>) until the target has received <paramref name="position"/>; returns the target as last read.</summary>
    private static async Task<PgNode> WaitForReceivedAsync(PgInstance target, PgLsn position, TimeSpan timeout, CancellationToken cancellationToken)
    {
        PgNode? last = null;
        try
        {
            await Wait.UntilAsync(
                async ct =>
                {
                    last = await NodeInspector.GetNodeAsync(target, ct).ConfigureAwait(false);
                    return (last.ReceiveLsn ?? last.ReplayLsn ?? new PgLsn(0)) >= position;
                },
                timeout,
                $"{target} to receive {position}",
                cancellationToken).ConfigureAwait(false);
        }
        catch (PgDrException ex) when (ex.ErrorId == ErrorIds.Timeout)
        {
            // What it has is the answer.
        }

        return last!;
    }

    /// <summary>
    /// Commit records the target lacks, counted in the old primary's WAL with pg_walinspect where it is installed
    /// (CREATE EXTENSION pg_walinspect; the sandbox has it); null (unknown) otherwise, never estimated. The count starts
    /// at the target's replay position (a record boundary) and takes the commits that end past what it received: a
    /// commit it received whole is replayed when it is promoted, one cut off in the middle is lost with the rest.
    /// </summary>
    private static async Task<long?> CountLostCommitsAsync(PgInstance oldPrimary, PgLsn replayed, PgLsn received, PgLsn end, CancellationToken cancellationToken)
    {
        if (received >= end)
        {
            return 0;
        }

        try
        {
            return await PgConnector.RunAsync(oldPrimary, async conn =>
            {
                using (var installed = new NpgsqlCommand("SELECT count(*) FROM pg_extension WHERE extname = 'pg_walinspect'", conn))
                {
                    if ((long)(await installed.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))! == 0)
                    {
                        return (long?)null;
                    }
                }

                using var count = new NpgsqlCommand(
                    "SELECT count(*) FROM pg_get_wal_records_info($1::pg_lsn, $2::pg_lsn) WHERE resource_manager = 'Transaction' AND record_type IN ('COMMIT', 'COMMIT_PREPARED') AND end_lsn > $3::pg_lsn", conn);
                count.Parameters.AddWithValue(replayed.ToString());
                count.Parameters.AddWithValue(end.ToString());
                count.Parameters.AddWithValue(received.ToString());
                return (long)(await count.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (PgDrException ex) when (ex.ErrorId is ErrorIds.QueryFailed or ErrorIds.InsufficientPrivilege)
        {
            return null;
        }
    }
}
