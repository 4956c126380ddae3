using Npgsql;
using PgDr.Connections;
using PgDr.Errors;
using PgDr.Failover.Lease;
using PgDr.Failover.Measurement;
using PgDr.Failover.Promotion;
using PgDr.Hosting;
using PgDr.Progress;
using PgDr.Topology;

namespace PgDr.Failover.Switchover;

/// <summary>
/// Planned switchover (Invoke-PgSwitchover, pgdr switchover) without losing a committed transaction: take the lease,
/// stop the primary with a fast shutdown (which ends its sessions, writes a shutdown checkpoint and sends all its WAL
/// to the connected standbys before it exits), wait until the target replayed that checkpoint, promote the target,
/// then start the old primary as its standby. The old primary must be a node PgDr controls (NodeControl).
/// </summary>
public static class SwitchoverService
{
    private const string Activity = "Switchover";

    /// <summary>What the switchover would change (-WhatIf), after the same checks; changes nothing.</summary>
    public static async Task<IReadOnlyList<string>> PlanAsync(SwitchoverRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var c = await CheckAsync(request, cancellationToken).ConfigureAwait(false);
        var changes = new List<string>
        {
            c.Lease is null
                ? $"lease: none -> held by {c.TargetName} (generation 1)"
                : $"lease: held by {c.Lease.Holder} (generation {c.Lease.Generation}) -> held by {c.TargetName} (generation {c.Lease.Generation + 1})",
            $"stop {c.OldName} ({c.Old.Instance}) with a fast shutdown: primary -> stopped",
            $"promote {c.TargetName} ({c.Target.Instance}): standby (timeline {c.Target.Timeline}) -> primary (timeline {c.Target.Timeline + 1})",
            $"restart {c.OldName} as a standby of {c.TargetName}: standby.signal, primary_conninfo -> {c.Target.Instance}, slot {Replication.ReplicationSlotName.FromNodeName(c.OldName)} on {c.TargetName}",
        };
        changes.AddRange(request.Repoint.Select(s => $"repoint {s}: primary_conninfo -> {c.Target.Instance}"));
        return changes;
    }

    /// <remarks>One pooled connection per node for the whole operation: its duration is what is measured.</remarks>
    public static Task<PgSwitchoverResult> RunAsync(SwitchoverRequest request, IProgress<PgDrProgress>? progress, CancellationToken cancellationToken) =>
        PgConnector.WithReusedConnectionsAsync(() => RunInScopeAsync(request, progress, cancellationToken));

    private static async Task<PgSwitchoverResult> RunInScopeAsync(SwitchoverRequest request, IProgress<PgDrProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var clock = new StepClock();
        progress?.Report(new PgDrProgress(Activity, "checking"));
        var c = await clock.TimeAsync("check", async () =>
        {
            var found = await CheckAsync(request, cancellationToken).ConfigureAwait(false);
            return (found, $"{found.TargetName} {found.LagBytes} bytes behind {found.OldName}");
        }).ConfigureAwait(false);

        PgDrLease? lease = null;
        if (request.Lease is not null)
        {
            lease = await clock.TimeAsync("lease", async () =>
            {
                var taken = await request.Lease.TakeAsync(
                    c.Lease,
                    new LeaseClaim(c.TargetName, request.Target.Name, c.Target.SystemIdentifier, c.Target.Timeline, $"switchover from {c.OldName}"),
                    c.Lease?.TtlSeconds,
                    cancellationToken).ConfigureAwait(false);
                return (taken, $"generation {taken.Generation}");
            }).ConfigureAwait(false);
        }

        // An agent's lease (with a TTL) is renewed here until the switchover is done: neither node's agent renews it meanwhile.
        var keeper = lease is null ? null : LeaseKeeper.Start(request.Lease!, lease);
        try
        {
            progress?.Report(new PgDrProgress(Activity, $"stopping {c.OldName}"));
            var stoppedAt = clock.Elapsed;
            var final = await clock.TimeAsync("stop old primary", async () =>
            {
                await c.Cluster.StopAsync(StopMode.Fast, cancellationToken).ConfigureAwait(false);
                await PgConnector.ForgetPooledAsync(c.Old.Instance).ConfigureAwait(false);
                var control = await ControlData.ReadAsync(c.Cluster, cancellationToken).ConfigureAwait(false);
                return (control.LatestCheckpoint, $"shutdown checkpoint at {control.LatestCheckpoint}");
            }).ConfigureAwait(false);

            progress?.Report(new PgDrProgress(Activity, $"waiting for {c.TargetName} to replay {final}"));
            try
            {
                await clock.TimeAsync("catch up", async () =>
                {
                    // Replay past the checkpoint record's start means the record itself was replayed: nothing of the old primary is missing.
                    await Wait.UntilAsync(
                        async ct => (await NodeInspector.GetNodeAsync(request.Target, ct).ConfigureAwait(false)).ReplayLsn > final,
                        request.CatchUpTimeout,
                        $"{c.TargetName} to replay {final}",
                        cancellationToken).ConfigureAwait(false);
                    return $"replayed past {final}";
                }).ConfigureAwait(false);
            }
            catch (PgDrException ex) when (ex.ErrorId == ErrorIds.Timeout)
            {
                await RollBackAsync(request, c, lease, keeper, cancellationToken).ConfigureAwait(false);
                throw new PgDrInvalidOperationException(
                    ErrorIds.SwitchoverTargetLagging,
                    $"{c.TargetName} did not replay {c.OldName}'s final position {final} within {request.CatchUpTimeout.TotalSeconds:0} s; {c.OldName} was started again as the primary{(lease is null ? string.Empty : " and given the lease back")}.",
                    request.Target,
                    ex);
            }

            keeper?.ThrowIfLost($"{c.TargetName} was not promoted and {c.OldName} stays stopped", request.Target);
            progress?.Report(new PgDrProgress(Activity, $"promoting {c.TargetName}"));
            var (history, rto) = await Promoter.PromoteAndWriteAsync(clock, request.Target, cancellationToken).ConfigureAwait(false);

            progress?.Report(new PgDrProgress(Activity, $"starting {c.OldName} as a standby"));
            var streaming = await clock.TimeAsync("old primary to standby", async () =>
            {
                var conninfo = PrimaryConnInfo(c, request);
                await StandbyConversion.ConfigureAsync(c.Cluster, c.OldName, request.Target, conninfo, cancellationToken).ConfigureAwait(false);
                var ok = await StandbyConversion.StartAndWaitAsync(c.Cluster, c.Old.Instance, request.Target, cancellationToken).ConfigureAwait(false);
                return (ok, ok ? "streaming" : "started, not streaming yet");
            }).ConfigureAwait(false);

            if (lease is not null)
            {
                lease = keeper is null
                    ? await request.Lease!.SetTimelineAsync(lease, history.CurrentTimeline, cancellationToken).ConfigureAwait(false)
                    : await keeper.ChangeAsync((held, ct) => request.Lease!.SetTimelineAsync(held, history.CurrentTimeline, ct), cancellationToken).ConfigureAwait(false);
            }

            var repointed = await StandbyRepointer.RepointAllAsync(clock, request.Repoint, request.Target, history, c.Target.SystemIdentifier, progress, cancellationToken).ConfigureAwait(false);

            return new PgSwitchoverResult
            {
                Instance = request.Target,
                NewPrimary = c.TargetName,
                OldPrimary = c.OldName,
                OldPrimaryInstance = c.Old.Instance,
                FinalLsn = final,
                NewTimeline = history.CurrentTimeline,
                WriteUnavailable = rto - stoppedAt,
                Rto = rto,
                Duration = clock.Elapsed,
                OldPrimaryStreaming = streaming,
                LeaseGeneration = lease?.Generation,
                Steps = clock.Steps,
                Repointed = repointed,
            };
        }
        finally
        {
            if (keeper is not null)
            {
                await keeper.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private sealed record Checks(PgNode Target, string TargetName, PgNode Old, string OldName, ControlledNode Cluster, long LagBytes, PgDrLease? Lease, string TargetConnInfo);

    private static async Task<Checks> CheckAsync(SwitchoverRequest request, CancellationToken cancellationToken)
    {
        var target = await NodeInspector.GetNodeAsync(request.Target, cancellationToken).ConfigureAwait(false);
        var targetName = ClusterNodes.NameOf(target);
        if (target.Role == PgNodeRole.Primary)
        {
            throw new PgDrInvalidOperationException(ErrorIds.NodeIsPrimary, $"{targetName} ({request.Target}) is already the primary. Nothing was changed.", request.Target);
        }

        var oldInstance = request.OldPrimary ?? await ClusterNodes.ConfiguredUpstreamAsync(request.Target, cancellationToken).ConfigureAwait(false)
            ?? throw new PgDrArgumentException(ErrorIds.InvalidInstance, $"{targetName} names no upstream; give the primary (-OldPrimary).", request.Target);
        var old = await NodeInspector.GetNodeAsync(oldInstance, cancellationToken).ConfigureAwait(false);
        var oldName = ClusterNodes.NameOf(old);
        ClusterNodes.RequireSameCluster(target, old.SystemIdentifier, $"{oldName} ({oldInstance})");
        if (old.Role != PgNodeRole.Primary)
        {
            throw new PgDrInvalidOperationException(ErrorIds.NodeIsStandby, $"{oldName} ({oldInstance}) is a standby, not the primary. Nothing was changed.", oldInstance);
        }

        var lag = old.CurrentLsn!.Value.BytesSince(target.ReplayLsn ?? new PgLsn(0));
        if (lag > request.MaxLagBytes)
        {
            throw new PgDrInvalidOperationException(
                ErrorIds.SwitchoverTargetLagging,
                $"{targetName} has replayed up to {target.ReplayLsn}, {lag} bytes behind {oldName} ({old.CurrentLsn}); the limit is {request.MaxLagBytes} bytes. Nothing was changed; let it catch up first.",
                request.Target);
        }

        var lease = request.Lease is null ? null : await request.Lease.ReadAsync(cancellationToken).ConfigureAwait(false);
        if (lease is not null && !lease.IsHeldBy(oldName))
        {
            throw new PgDrInvalidOperationException(
                ErrorIds.LeaseHolderMismatch,
                $"The lease names {lease.Holder} as the primary, not {oldName}: a switchover hands the lease over from its holder. Nothing was changed.",
                oldInstance);
        }

        var cluster = await NodeControl.TryResolveAsync(oldInstance, cancellationToken).ConfigureAwait(false)
            ?? throw new PgDrInvalidOperationException(
                ErrorIds.ServiceNotControlled,
                $"PgDr does not control {oldName}'s service ({oldInstance} is not a pg_ctl cluster on this host); run the switchover on its host. Nothing was changed.",
                oldInstance);
        var conninfo = await ClusterNodes.SettingAsync(request.Target, "primary_conninfo", cancellationToken).ConfigureAwait(false);
        return new Checks(target, targetName, old, oldName, cluster, lag, lease, conninfo);
    }

    /// <summary>The old primary streams with the target's own conninfo turned around: same user, password file, TLS.</summary>
    private static ConnInfo PrimaryConnInfo(Checks c, SwitchoverRequest request)
    {
        var conninfo = Replication.PrimaryConnInfo.Repoint(c.TargetConnInfo, request.Target);
        conninfo["application_name"] = c.OldName;
        return conninfo;
    }

    /// <summary>The target did not catch up: the old primary gets the lease back and starts again as the primary.</summary>
    private static async Task RollBackAsync(SwitchoverRequest request, Checks c, PgDrLease? lease, LeaseKeeper? keeper, CancellationToken cancellationToken)
    {
        if (lease is not null)
        {
            var claim = new LeaseClaim(c.OldName, c.Old.Instance.Name, c.Old.SystemIdentifier, c.Old.Timeline, "switchover rolled back");
            _ = keeper is null
                ? await request.Lease!.TakeAsync(lease, claim, lease.TtlSeconds, cancellationToken).ConfigureAwait(false)
                : await keeper.ChangeAsync((held, ct) => request.Lease!.TakeAsync(held, claim, held.TtlSeconds, ct), cancellationToken).ConfigureAwait(false);
        }

        await c.Cluster.StartAsync(cancellationToken).ConfigureAwait(false);
    }
}
