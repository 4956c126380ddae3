using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using PgDr.Agent.Events;
using PgDr.Agent.Http;
using PgDr.Connections;
using PgDr.Errors;
using PgDr.Failover;
using PgDr.Failover.Fencing;
using PgDr.Failover.Lease;
using PgDr.Failover.Promotion;
using PgDr.Hosting;
using PgDr.Topology;

namespace PgDr.Agent;

/// <summary>
/// The long-running agent beside one PostgreSQL node (pgdr agent, Start-PgDrAgent): it serves the heartbeat endpoint,
/// keeps the lease while its node is the primary and fences the node when it cannot, and on a standby watches the
/// primary and promotes through the Failover engine when the policy says so. It holds no failover logic of its own:
/// fencing, the lease's compare-and-swap, promotion and repointing are Failover's operations.
/// </summary>
/// <remarks>
/// <para>Every time it judges by is its own monotonic clock (<see cref="Stopwatch"/>), never a wall clock, and never
/// another host's: the holder fences itself <see cref="AgentPolicy.FenceAfter"/> after the start of its last renewal
/// that succeeded; an observer judges the lease expired when its version stayed unchanged for a whole TTL since it
/// first read that version. A renewal lands after it starts, so the holder is fenced at least the margin before any
/// observer can see the lease expire (docs/agent.md: what the margin has to cover).</para>
/// <para>The fence runs on a watchdog of its own, so a renewal or a heartbeat that hangs cannot delay it. Every call that
/// leaves the host is bounded in time: across a partition connections are not refused, they hang.</para>
/// </remarks>
public sealed class NodeAgent
{
    private readonly AgentSettings _settings;
    private readonly LeaseStore _lease;
    private readonly AgentEventLog? _log;
    private readonly Action<PgDrAgentEvent>? _onEvent;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly object _gate = new();
    private readonly ConcurrentQueue<PgDrAgentEvent> _events = new();

    // Who this node is (read from PostgreSQL when not configured) and what controls it (cached while it answers:
    // a fence may have to act when it no longer does).
    private string? _name;
    private ulong? _systemIdentifier;
    private ControlledNode? _control;
    private bool _controlResolved;

    // The holder's side: the lease as this agent last wrote it, and when it must fence itself unless it renews.
    private PgDrLease? _held;
    private TimeSpan? _fenceDeadline;
    private TimeSpan? _lastRenewalStart;
    private bool _renewalFailing;
    private bool _leaseLostReported;
    private bool _fenced;
    private int _fencing;

    // The observer's side: the lease version being watched and since when (this clock), heartbeats of the primary.
    private PgDrLease? _lastLease;
    private string? _watchedVersion;
    private TimeSpan _watchedSince;
    private bool _expiryReported;
    private bool _repositoryUnavailable;
    private int _misses;
    private PgLsn? _lastPrimaryLsn;
    private TimeSpan? _lastPrimaryAnswer;
    private string? _lastHeartbeatTarget;
    private TimeSpan? _holderChangedAt;
    private TimeSpan? _deferringSince;
    private string? _lastDecision;
    private long? _followedGeneration;
    private readonly HashSet<string> _formerHolders = new(StringComparer.OrdinalIgnoreCase);
    private bool _tickAgainNow;

    private long _renewals;
    private long _renewalFailures;
    private long _failovers;
    private long _fences;
    private PgDrAgentStatus _status;

    public NodeAgent(AgentSettings settings, LeaseStore lease, AgentEventLog? log = null, Action<PgDrAgentEvent>? onEvent = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(lease);
        _settings = settings;
        _lease = lease;
        _log = log;
        _onEvent = onEvent;
        _name = settings.Node;
        _status = new PgDrAgentStatus { Node = settings.Node, Region = settings.Region ?? settings.Node, AutomaticFailover = settings.Policy.AutomaticFailover };
    }

    /// <summary>The agent's latest view (what GET /status returns).</summary>
    public PgDrAgentStatus Status => Volatile.Read(ref _status);

    /// <summary>Every event of this run, oldest first.</summary>
    public IReadOnlyList<PgDrAgentEvent> Events => [.. _events];

    /// <summary>The agent's monotonic clock (since it was created).</summary>
    public TimeSpan Clock => _clock.Elapsed;

    /// <summary>Where the HTTP endpoint listens once <see cref="RunAsync"/> has started it (0: none).</summary>
    public int HttpPort { get; private set; }

    private AgentPolicy Policy => _settings.Policy;

    private string Name => _name ?? _settings.Node ?? _settings.Instance.Name;

    private string Region => _settings.Region ?? Name;

    /// <summary>
    /// Runs until <paramref name="cancellationToken"/> is cancelled. Throws AgentPortInUse at once when the HTTP port is
    /// taken. On the way out the holder parks the lease (no TTL: automatic failover waits for an agent again) or, when
    /// it cannot, fences its node, since no one would renew the lease any more.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var http = _settings.HttpPort == 0 ? null : AgentHttpServer.Start(_settings.HttpAddress, _settings.HttpPort, request => AgentEndpoints.Answer(request, Status, _clock.Elapsed, Policy));
        HttpPort = http?.Port ?? 0;
        Task? watchdog = null;
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            Emit(AgentEventKind.AgentStarted, $"agent for {_settings.Instance} ({_settings.AdvertisedInstance}), region {Region}, lease in {_lease.Repository}; "
                + $"automatic failover {(Policy.AutomaticFailover ? "on" : "off")}, TTL {Policy.LeaseTtlSeconds} s, fence after {Seconds(Policy.FenceAfter)} without renewal, "
                + $"{Policy.MissedHeartbeats} missed heartbeats every {Seconds(Policy.HeartbeatInterval)}{(HttpPort == 0 ? string.Empty : $", HTTP on {_settings.HttpAddress}:{HttpPort}")}", null);
            await TickAsync(stopping.Token).ConfigureAwait(false);
            watchdog = Task.Run(() => WatchdogAsync(stopping.Token), CancellationToken.None);
            var roundStart = TimeSpan.Zero;
            while (!stopping.IsCancellationRequested)
            {
                // Rounds start every interval, not an interval after the last one ended: a round can take a second
                // (a dead primary's heartbeat timeout, a slow repository), and renewals and expiry checks must not drift
                // by that much.
                var interval = _held is not null ? Policy.RenewInterval : Policy.HeartbeatInterval;
                var wait = roundStart + interval - _clock.Elapsed;
                if (!_tickAgainNow && wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, stopping.Token).ConfigureAwait(false);
                }

                _tickAgainNow = false;
                roundStart = _clock.Elapsed;
                await TickAsync(stopping.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Asked to stop.
        }
        finally
        {
            await stopping.CancelAsync().ConfigureAwait(false);
            if (watchdog is not null)
            {
                await watchdog.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            await StopAsync().ConfigureAwait(false);
            if (http is not null)
            {
                await http.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>One round: probe the node, read the lease, then keep the lease (primary) or watch the primary (standby).</summary>
    private async Task TickAsync(CancellationToken cancellationToken)
    {
        var (probe, probeFailure) = await NodeProbe.ProbeLocalAsync(_settings.Instance, Policy.LocalProbeTimeout, cancellationToken).ConfigureAwait(false);
        if (probe is not null)
        {
            _name ??= ClusterNodes.NameOf(probe.Node);
            _systemIdentifier = probe.Node.SystemIdentifier;
            await ResolveControlAsync(cancellationToken).ConfigureAwait(false);
        }

        var (lease, leaseFailure) = await LeaseCallAsync(ct => _lease.ReadAsync(ct), cancellationToken).ConfigureAwait(false);
        ObserveLease(lease, leaseFailure);
        try
        {
            switch (probe?.Node.Role)
            {
                case PgNodeRole.Primary:
                    await KeepLeaseAsync(probe, lease, leaseFailure, cancellationToken).ConfigureAwait(false);
                    break;
                case PgNodeRole.Standby:
                    lock (_gate)
                    {
                        // A standby accepts no writes: nothing to fence, nothing to renew.
                        _fenceDeadline = null;
                        _held = null;
                    }

                    await WatchPrimaryAsync(probe, lease, cancellationToken).ConfigureAwait(false);
                    break;
                default:
                    lock (_gate)
                    {
                        // Down (or hung) while the lease names it: whatever comes back up must not come back writable.
                        if (_fenceDeadline is null && lease is not null && lease.IsHeldBy(Name) && !_fenced)
                        {
                            _fenceDeadline = _clock.Elapsed;
                        }
                    }

                    break;
            }
        }
        catch (PgDrException ex)
        {
            // Something this round could not do (a node read, a repoint): reported once per different problem; the next round tries again.
            Decide(AgentEventKind.Problem, ex.Message, lease, ex.ErrorId);
        }

        Publish(probe, probeFailure, lease, leaseFailure);
    }

    // ---------------------------------------------------------------- the primary's side: keep the lease, or fence

    private async Task KeepLeaseAsync(NodeProbeResult probe, PgDrLease? lease, PgDrException? leaseFailure, CancellationToken cancellationToken)
    {
        if (!probe.Writable)
        {
            // A read-only primary (fenced by SQL) takes no writes; it keeps no lease either, and is stopped at the deadline.
            return;
        }

        if (lease is not null && lease.SystemIdentifier != probe.Node.SystemIdentifier.ToString(CultureInfo.InvariantCulture))
        {
            Decide(AgentEventKind.LeaseLost, $"the lease of stanza {lease.Stanza} is for cluster {lease.SystemIdentifier}, this node is cluster {probe.Node.SystemIdentifier}: it may not write", lease);
            FenceNow();
            return;
        }

        var basis = lease is not null && !lease.IsHeldBy(Name) ? lease : _held ?? lease;
        if (leaseFailure is not null && basis is null)
        {
            RenewalFailed(leaseFailure);
            return;
        }

        if (basis is not null && !basis.IsHeldBy(Name))
        {
            if (!_leaseLostReported)
            {
                _leaseLostReported = true;
                Decide(AgentEventKind.LeaseLost, $"the lease is held by {basis.Holder} (generation {basis.Generation}); this node is a writable primary without it and is fenced now", basis);
            }

            _held = null;
            FenceNow();
            return;
        }

        var start = _clock.Elapsed;
        var claim = new LeaseClaim(Name, _settings.AdvertisedInstance, probe.Node.SystemIdentifier, probe.Node.Timeline, $"held by the agent of {Name}");
        var (renewed, failure) = await LeaseCallAsync(async ct =>
        {
            if (basis is null)
            {
                return await _lease.TakeAsync(null, claim, Policy.LeaseTtlSeconds, ct).ConfigureAwait(false);
            }

            // A lease without a TTL (a manual failover's, or one an agent parked when it stopped) gets the policy's TTL back.
            var attempt = basis.TtlSeconds != Policy.LeaseTtlSeconds
                ? await TryTakeAsync(basis, claim, ct).ConfigureAwait(false)
                : await _lease.RenewAsync(basis, ct).ConfigureAwait(false);
            if (attempt is null && lease is not null && lease.Version != basis.Version && lease.IsHeldBy(Name) && lease.Generation == basis.Generation)
            {
                // An earlier renewal landed although its answer was lost: the lease read this round is ours. Renew from it.
                attempt = await _lease.RenewAsync(lease, ct).ConfigureAwait(false);
            }

            return attempt ?? throw new PgDrException(ErrorIds.LeaseConflict, PgDrErrorCategory.ResourceBusy, "the lease changed since this agent last renewed it", _lease.Stanza);
        }, cancellationToken).ConfigureAwait(false);

        if (renewed is null)
        {
            _held = null;
            RenewalFailed(failure!);
            return;
        }

        var first = _held is null;
        lock (_gate)
        {
            _held = renewed;
            _lastRenewalStart = start;
            _fenceDeadline = start + Policy.FenceAfter;
            _renewals++;
        }

        _leaseLostReported = false;
        if (first || _renewalFailing)
        {
            Decide(AgentEventKind.LeaseAcquired, $"{(first ? "holds" : "renews again")} the lease (generation {renewed.Generation}, TTL {renewed.TtlSeconds} s) as the writable primary", renewed);
        }

        _renewalFailing = false;
    }

    private async Task<PgDrLease?> TryTakeAsync(PgDrLease basis, LeaseClaim claim, CancellationToken cancellationToken)
    {
        try
        {
            return await _lease.TakeAsync(basis, claim, Policy.LeaseTtlSeconds, cancellationToken).ConfigureAwait(false);
        }
        catch (PgDrException ex) when (ex.ErrorId == ErrorIds.LeaseConflict)
        {
            return null;
        }
    }

    private void RenewalFailed(PgDrException failure)
    {
        lock (_gate)
        {
            _renewalFailures++;
        }

        ArmFence();
        if (!_renewalFailing)
        {
            _renewalFailing = true;
            var left = _fenceDeadline is { } d ? d - _clock.Elapsed : TimeSpan.Zero;
            Decide(AgentEventKind.LeaseRenewalFailed, $"cannot renew the lease ({failure.Message}); this writable primary is fenced in {Seconds(left < TimeSpan.Zero ? TimeSpan.Zero : left)} unless a renewal succeeds", _lastLease, failure.ErrorId);
        }
    }

    /// <summary>
    /// A renewal failed: the fence stays due at the deadline of the last renewal that succeeded. A writable primary that
    /// this agent never renewed (it just started, and the repository did not answer) counts from the agent's start, as
    /// the docs say: one failed read of the lease at start must not stop a healthy primary. (A primary that was cut off
    /// before its agent restarted is fenced TTL - margin after that restart: docs/agent.md, the margin.)
    /// </summary>
    private void ArmFence()
    {
        lock (_gate)
        {
            _fenceDeadline ??= (_lastRenewalStart ?? TimeSpan.Zero) + Policy.FenceAfter;
        }
    }

    /// <summary>
    /// The lease names another node (or another cluster): its holder may already accept writes, so this primary is
    /// fenced at once, whatever time its own last renewal left it.
    /// </summary>
    private void FenceNow()
    {
        lock (_gate)
        {
            _fenceDeadline = _clock.Elapsed;
        }
    }

    private async Task WatchdogAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken).ConfigureAwait(false);
            TimeSpan? deadline;
            lock (_gate)
            {
                deadline = _fenceDeadline;
            }

            if (deadline is { } d && _clock.Elapsed >= d)
            {
                await FenceAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Stops the node through its service (immediate) and marks it standby, so nothing brings it back writable; where PgDr
    /// does not control the service, makes it refuse writes by SQL. A node that already is a standby is left alone.
    /// Not cancellable: once started, a fence completes (each step is bounded).
    /// </summary>
    private async Task FenceAsync()
    {
        if (Interlocked.Exchange(ref _fencing, 1) == 1)
        {
            return;
        }

        try
        {
            TimeSpan sinceRenewal;
            lock (_gate)
            {
                if (_fenceDeadline is not { } d || _clock.Elapsed < d)
                {
                    return;
                }

                sinceRenewal = _lastRenewalStart is { } s ? _clock.Elapsed - s : TimeSpan.Zero;
            }

            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var (probe, _) = await NodeProbe.ProbeLocalAsync(_settings.Instance, Policy.LocalProbeTimeout, bound.Token).ConfigureAwait(false);
            string method;
            if (probe?.Node.Role == PgNodeRole.Standby)
            {
                lock (_gate)
                {
                    _fenceDeadline = null;
                }

                return;
            }

            if (probe is not null)
            {
                if (_control is { } control)
                {
                    await Fence.StopAsync(control, bound.Token).ConfigureAwait(false);
                    method = $"stopped (immediate) through {control} and marked standby";
                }
                else
                {
                    await Fence.ApplySqlFenceAsync(_settings.Instance, bound.Token).ConfigureAwait(false);
                    method = "made read-only by default and its sessions ended (PgDr does not control its service here: stop it)";
                }
            }
            else if (_control is { } control)
            {
                if (File.Exists(Path.Combine(control.DataDirectory, "standby.signal")))
                {
                    lock (_gate)
                    {
                        _fenceDeadline = null;
                    }

                    return;
                }

                await control.StopAsync(StopMode.Immediate, bound.Token).ConfigureAwait(false);
                Fence.MarkAsStandby(control.DataDirectory);
                method = "not answering: stopped if it ran, and marked standby so that a restart cannot bring it back writable";
            }
            else
            {
                method = "not answering, and PgDr does not control its service here: it cannot be stopped from this agent";
            }

            lock (_gate)
            {
                _fenceDeadline = null;
                _fenced = true;
                _fences++;
                _held = null;
            }

            Decide(AgentEventKind.Fenced, $"no lease renewal for {Seconds(sinceRenewal)} (TTL {Policy.LeaseTtlSeconds} s, margin {Seconds(Policy.FenceMargin)}): {method}", _lastLease, details: new()
            {
                ["secondsSinceLastRenewal"] = sinceRenewal.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture),
                ["ttlSeconds"] = Policy.LeaseTtlSeconds.ToString(CultureInfo.InvariantCulture),
            });
        }
        catch (Exception ex) when (ex is PgDrException or OperationCanceledException)
        {
            // Tried again on the next watchdog round: the deadline stays.
            Decide(AgentEventKind.FailoverFailed, $"fencing failed, retrying: {ex.Message}", _lastLease, (ex as PgDrException)?.ErrorId);
        }
        finally
        {
            Volatile.Write(ref _fencing, 0);
        }
    }

    private async Task ResolveControlAsync(CancellationToken cancellationToken)
    {
        if (_controlResolved)
        {
            return;
        }

        try
        {
            _control = _settings.DataDirectory is { Length: > 0 } directory
                ? await NodeControl.ForDataDirectoryAsync(directory, cancellationToken, _settings.Service).ConfigureAwait(false)
                : await NodeControl.TryResolveAsync(_settings.Instance, cancellationToken, _settings.Service).ConfigureAwait(false);
            _controlResolved = true;
        }
        catch (PgDrException)
        {
            // Tried again next round; meanwhile a fence falls back to SQL.
        }
    }

    // ---------------------------------------------------------------- the standbys' side: watch, decide, follow

    private void ObserveLease(PgDrLease? lease, PgDrException? failure)
    {
        if (failure is not null)
        {
            if (!_repositoryUnavailable)
            {
                _repositoryUnavailable = true;
                Decide(AgentEventKind.RepositoryUnavailable, $"cannot read the lease in repository '{_lease.Repository}': {failure.Message}", _lastLease, failure.ErrorId);
            }

            return;
        }

        if (_repositoryUnavailable)
        {
            _repositoryUnavailable = false;
            Decide(AgentEventKind.RepositoryReachable, $"the lease repository '{_lease.Repository}' answers again", lease);
        }

        if (lease is not null && _lastLease is not null && lease.Generation != _lastLease.Generation)
        {
            _holderChangedAt = _clock.Elapsed;
            _formerHolders.Add(_lastLease.HolderInstance);
            Decide(AgentEventKind.NewPrimary, $"the lease moved from {_lastLease.Holder} (generation {_lastLease.Generation}) to {lease.Holder} (generation {lease.Generation}): {lease.Reason}", lease);
        }

        // Expiry is judged on this clock only: from the first time this version was read.
        if (lease?.Version != _watchedVersion)
        {
            _watchedVersion = lease?.Version;
            _watchedSince = _clock.Elapsed;
            _expiryReported = false;
        }

        _lastLease = lease;
    }

    private bool LeaseExpired(PgDrLease? lease) =>
        lease?.TtlSeconds is { } ttl && lease.Version == _watchedVersion && _clock.Elapsed - _watchedSince >= TimeSpan.FromSeconds(ttl);

    private async Task WatchPrimaryAsync(NodeProbeResult self, PgDrLease? lease, CancellationToken cancellationToken)
    {
        var holderIsOther = lease is not null && !lease.IsHeldBy(Name);
        var target = holderIsOther
            ? ClusterNodes.WithCredentialsOf(_settings.Instance, lease!.HolderInstance)
            : await ClusterNodes.ConfiguredUpstreamAsync(_settings.Instance, cancellationToken).ConfigureAwait(false);
        if (target is null)
        {
            return;
        }

        if (target.Name != _lastHeartbeatTarget)
        {
            _lastHeartbeatTarget = target.Name;
            _misses = 0;
        }

        var (primary, failure) = await NodeProbe.HeartbeatAsync(target, Policy.ProbeTimeout, cancellationToken).ConfigureAwait(false);
        if (primary is { Role: PgNodeRole.Primary })
        {
            if (_misses >= Policy.MissedHeartbeats)
            {
                Decide(AgentEventKind.PrimaryReachable, $"{target} answers again as the primary after {_misses} missed heartbeats", lease);
            }

            _misses = 0;
            _lastPrimaryLsn = primary.CurrentLsn;
            _lastPrimaryAnswer = _clock.Elapsed;
            _deferringSince = null;
            if (holderIsOther)
            {
                await FollowIfOrphanedAsync(self, lease!, cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        _misses++;
        if (_misses == Policy.MissedHeartbeats)
        {
            Decide(AgentEventKind.PrimaryUnreachable, $"{target} missed {_misses} heartbeats in a row ({failure?.Message ?? (primary is null ? "no answer" : "it is not a primary")})", lease, failure?.ErrorId);
        }

        var expired = LeaseExpired(lease);
        if (expired && !_expiryReported)
        {
            _expiryReported = true;
            Decide(AgentEventKind.LeaseExpired, $"the lease of {lease!.Holder} (generation {lease.Generation}) stayed unchanged for {Seconds(_clock.Elapsed - _watchedSince)} on this node's clock (TTL {lease.TtlSeconds} s)", lease);
        }

        if (_misses >= Policy.MissedHeartbeats && expired && holderIsOther)
        {
            await ConsiderFailoverAsync(self, lease!, target, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task ConsiderFailoverAsync(NodeProbeResult self, PgDrLease lease, PgInstance oldPrimary, CancellationToken cancellationToken)
    {
        var received = self.Node.ReceiveLsn ?? self.Node.ReplayLsn ?? new PgLsn(0);
        // Each refusal names the policy setting that made it (the event's "policy" detail, stable for runbooks and tests).
        var (setting, refusal) =
            !Policy.AutomaticFailover ? ("automaticFailover", "automatic failover is off in this node's policy")
            : !Policy.MayTakeOver(Region) ? ("regions", $"region {Region} may not take over (policy.regions: {string.Join(", ", Policy.Regions)})")
            : _holderChangedAt is { } changed && _clock.Elapsed - changed < Policy.HoldOff ? ("holdOffSeconds", $"the lease changed holder less than the hold-off of {Seconds(Policy.HoldOff)} ago (flapping protection)")
            : _lastPrimaryLsn is not { } last ? ("maxDataLossBytes", "this agent never saw the primary's WAL position, so the data loss cannot be bounded")
            : last.BytesSince(received) > Policy.MaxDataLossBytes ? ("maxDataLossBytes", $"it received up to {received}, {last.BytesSince(received)} bytes behind the primary's last position seen ({last}); policy.maxDataLossBytes is {Policy.MaxDataLossBytes}")
            : (null, null);
        if (refusal is not null)
        {
            Decide(AgentEventKind.FailoverRefused, $"{lease.Holder} is gone and its lease expired, but this node does not take over: {refusal}", lease, details: new() { ["policy"] = setting! });
            return;
        }

        var better = await FindBetterPeerAsync(self, received, cancellationToken).ConfigureAwait(false);
        if (better is not null)
        {
            _deferringSince ??= _clock.Elapsed;
            if (_clock.Elapsed - _deferringSince.Value < lease.TtlSeconds.GetValueOrDefault(Policy.LeaseTtlSeconds) * TimeSpan.FromSeconds(1))
            {
                Decide(AgentEventKind.FailoverDeferred, $"{lease.Holder} is gone and its lease expired; {better} is better placed to take over", lease);
                return;
            }
        }

        var reason = $"{lease.Holder} missed {_misses} heartbeats and its lease (generation {lease.Generation}) stayed unchanged for {Seconds(_clock.Elapsed - _watchedSince)}"
            + (better is null ? string.Empty : $"; {better} did not take over within a TTL");
        Decide(AgentEventKind.FailoverStarted, $"taking over: {reason}", lease, details: new() { ["receivedLsn"] = received.ToString(), ["primaryLastLsn"] = _lastPrimaryLsn?.ToString() ?? "-" });
        var start = _clock.Elapsed;
        (PgDrLease Lease, TimeSpan Start)? kept = null;
        try
        {
            var result = await FailoverService.RunAsync(
                new FailoverRequest
                {
                    Target = _settings.Instance,
                    OldPrimary = oldPrimary,
                    Lease = _lease,
                    ExpiredLease = lease,
                    MaxDataLossBytes = Policy.MaxDataLossBytes,
                    LastKnownOldPrimaryLsn = _lastPrimaryLsn,
                    OldPrimaryTimeout = Policy.ProbeTimeout,
                    CatchUpTimeout = Policy.ProbeTimeout,
                    HolderInstance = _settings.AdvertisedInstance,
                    Reason = $"automated failover by the agent of {Name}: {reason}",
                    LeaseRenewInterval = Policy.RenewInterval,
                    LeaseRenewed = (renewed, startedAt) =>
                    {
                        lock (_gate)
                        {
                            kept = (renewed, _clock.Elapsed - Stopwatch.GetElapsedTime(startedAt));
                            _renewals++;
                        }
                    },
                },
                null,
                cancellationToken).ConfigureAwait(false);

            // The failover took the lease (with the policy's TTL) and kept it renewed until it returned. Renew it at once
            // from here on: the compare-and-swap only succeeds if no one took the lease since, and the fence is then due
            // from this renewal; otherwise from the failover's last renewal (or its start, if it never wrote the lease).
            var renewalStart = _clock.Elapsed;
            var renewed = await RenewTakenLeaseAsync(result.LeaseGeneration, cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                _held = renewed ?? kept?.Lease;
                _lastRenewalStart = renewed is not null ? renewalStart : kept?.Start ?? start;
                _fenceDeadline = _lastRenewalStart + Policy.FenceAfter;
                _failovers++;
                _fenced = false;
            }

            _tickAgainNow = true;
            Decide(AgentEventKind.FailoverSucceeded, $"promoted on timeline {result.NewTimeline} with lease generation {result.LeaseGeneration}; RTO of the promotion {Seconds(result.Rto)}, RPO {result.Rpo}", lease, details: new()
            {
                ["rtoSeconds"] = result.Rto.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture),
                ["timeline"] = result.NewTimeline?.ToString(CultureInfo.InvariantCulture) ?? "-",
                ["generation"] = result.LeaseGeneration?.ToString(CultureInfo.InvariantCulture) ?? "-",
                ["fence"] = result.FenceDetail ?? "-",
            });
        }
        catch (PgDrException ex)
        {
            Decide(AgentEventKind.FailoverFailed, $"the failover did not happen: {ex.Message}", lease, ex.ErrorId);
        }
    }

    /// <summary>The lease this node's failover took (holder and generation), renewed; null when it is not that lease any more or the renewal failed.</summary>
    private async Task<PgDrLease?> RenewTakenLeaseAsync(long? generation, CancellationToken cancellationToken)
    {
        var (current, _) = await LeaseCallAsync(ct => _lease.ReadAsync(ct), cancellationToken).ConfigureAwait(false);
        if (current is null || !current.IsHeldBy(Name) || current.Generation != generation)
        {
            return null;
        }

        var (renewed, _) = await LeaseCallAsync(ct => _lease.RenewAsync(current, ct), cancellationToken).ConfigureAwait(false);
        if (renewed is not null)
        {
            lock (_gate)
            {
                _renewals++;
            }
        }

        return renewed;
    }

    /// <summary>A peer standby that should take over rather than this one (more WAL received, then priority, then name), or null.</summary>
    private async Task<string?> FindBetterPeerAsync(NodeProbeResult self, PgLsn received, CancellationToken cancellationToken)
    {
        var myPriority = Policy.PriorityOf(Region);
        var reads = _settings.Peers.Select(async peer =>
        {
            var instance = peer.Instance.Username is null ? ClusterNodes.WithCredentialsOf(_settings.Instance, peer.Instance.Name) : peer.Instance;
            var (node, _) = await ClusterNodes.TryReadAsync(instance, Policy.ProbeTimeout, cancellationToken).ConfigureAwait(false);
            return (peer, node);
        }).ToList();
        string? best = null;
        (PgLsn Lsn, int Priority, string Name)? bestKey = null;
        foreach (var (peer, node) in await Task.WhenAll(reads).ConfigureAwait(false))
        {
            if (node is not { Role: PgNodeRole.Standby } || node.SystemIdentifier != self.Node.SystemIdentifier || !Policy.MayTakeOver(peer.Region))
            {
                continue;
            }

            var key = (node.ReceiveLsn ?? node.ReplayLsn ?? new PgLsn(0), Policy.PriorityOf(peer.Region), peer.Name);
            var beatsMe = key.Item1 > received || (key.Item1 == received && (key.Item2 > myPriority || (key.Item2 == myPriority && string.CompareOrdinal(key.Item3, Name) < 0)));
            if (beatsMe && (bestKey is null || key.Item1 > bestKey.Value.Lsn || (key.Item1 == bestKey.Value.Lsn && key.Item2 > bestKey.Value.Priority)))
            {
                bestKey = key;
                best = $"{peer.Name} (received {key.Item1}, priority {key.Item2})";
            }
        }

        return best;
    }

    /// <summary>
    /// A standby whose WAL receiver does not stream and whose upstream is not the lease holder follows the holder
    /// (Failover's repointing): the others' side of a failover, wherever the new primary could not reach it. A cascade
    /// that streams from another standby is left as it is.
    /// </summary>
    private async Task FollowIfOrphanedAsync(NodeProbeResult self, PgDrLease lease, CancellationToken cancellationToken)
    {
        if (_followedGeneration == lease.Generation)
        {
            return;
        }

        var upstream = await ClusterNodes.ConfiguredUpstreamAsync(_settings.Instance, cancellationToken).ConfigureAwait(false);
        if (upstream is not null && string.Equals(upstream.Name, lease.HolderInstance, StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        // A receiver across a partition can show "streaming" until wal_receiver_timeout: an upstream that held the lease
        // before is followed at once; any other upstream only when the receiver does not stream (a cascade does).
        var upstreamWasPrimary = upstream is not null && _formerHolders.Contains(upstream.Name);
        if (!upstreamWasPrimary && self.Node.ReceiverStatus == "streaming")
        {
            return;
        }

        var newPrimary = ClusterNodes.WithCredentialsOf(_settings.Instance, lease.HolderInstance);
        try
        {
            var history = await PgConnector.RunAsync(newPrimary, conn => Failover.TimelineHistory.ReadAsync(conn, cancellationToken), cancellationToken).ConfigureAwait(false);
            var repointed = await StandbyRepointer.RepointAsync(_settings.Instance, newPrimary, history, self.Node.SystemIdentifier, cancellationToken).ConfigureAwait(false);

            // Once per generation: a standby that cannot follow (past the fork) needs a rejoin, not another try.
            _followedGeneration = lease.Generation;
            Decide(AgentEventKind.Followed, $"follows the lease holder {lease.Holder} ({lease.HolderInstance}) instead of {upstream?.Name ?? "no upstream"}: {repointed}", lease, details: new()
            {
                ["repointed"] = repointed.Repointed.ToString(CultureInfo.InvariantCulture),
                ["streaming"] = repointed.Streaming.ToString(CultureInfo.InvariantCulture),
            });
        }
        catch (PgDrException ex)
        {
            // Tried again next round (the new primary may still be finishing its promotion); reported once per problem.
            Decide(AgentEventKind.Problem, $"could not follow the lease holder {lease.Holder} ({lease.HolderInstance}) yet: {ex.Message}", lease, ex.ErrorId);
        }
    }

    // ---------------------------------------------------------------- stop, events, status

    private async Task StopAsync()
    {
        PgDrLease? held;
        lock (_gate)
        {
            held = _fenceDeadline is { } d && _clock.Elapsed < d ? _held : null;
        }

        if (held is null)
        {
            Emit(AgentEventKind.AgentStopped, "stopped", _lastLease);
            return;
        }

        // No one will renew the lease: park it (no TTL), so that no standby takes over while this primary still runs;
        // automatic failover resumes when an agent renews it again. If it cannot be parked, the node is fenced.
        using var bound = new CancellationTokenSource(Policy.LeaseCallTimeout);
        try
        {
            var parked = await ParkAsync(held, bound.Token).WaitAsync(Policy.LeaseCallTimeout).ConfigureAwait(false);
            Emit(AgentEventKind.AgentStopped, $"stopped; the lease (generation {parked.Generation}) is parked without a TTL: no automated failover until an agent renews it", parked);
        }
        catch (Exception ex) when (ex is PgDrException or OperationCanceledException or TimeoutException)
        {
            lock (_gate)
            {
                _fenceDeadline = _clock.Elapsed;
            }

            await FenceAsync().ConfigureAwait(false);
            Emit(AgentEventKind.AgentStopped, $"stopped; the lease could not be parked ({ex.Message}), so this primary was fenced", _lastLease, (ex as PgDrException)?.ErrorId);
        }
    }

    /// <summary>
    /// Writes the lease once more without a TTL. A renewal that was in flight when the agent was asked to stop may have
    /// landed after <paramref name="held"/> was recorded: a lease of this holder and generation is only ever written by
    /// this agent, so the park is retried on the version read.
    /// </summary>
    private async Task<PgDrLease> ParkAsync(PgDrLease held, CancellationToken cancellationToken)
    {
        var claim = new LeaseClaim(Name, _settings.AdvertisedInstance, ulong.Parse(held.SystemIdentifier, CultureInfo.InvariantCulture), held.Timeline, $"parked: the agent of {Name} stopped");
        try
        {
            return await _lease.TakeAsync(held, claim, null, cancellationToken).ConfigureAwait(false);
        }
        catch (PgDrException ex) when (ex.ErrorId == ErrorIds.LeaseConflict)
        {
            var current = await _lease.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (current is null || !current.IsHeldBy(Name) || current.Generation != held.Generation)
            {
                throw;
            }

            return await _lease.TakeAsync(current, claim, null, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A lease call bounded by <see cref="AgentPolicy.LeaseCallTimeout"/>; its failure is returned, not thrown.</summary>
    private async Task<(T? Value, PgDrException? Failure)> LeaseCallAsync<T>(Func<CancellationToken, Task<T?>> call, CancellationToken cancellationToken)
        where T : class
    {
        var timeout = Policy.LeaseCallTimeout;
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(timeout);
        try
        {
            return (await call(bounded.Token).WaitAsync(timeout, cancellationToken).ConfigureAwait(false), null);
        }
        catch (PgDrException ex)
        {
            return (null, ex);
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException && !cancellationToken.IsCancellationRequested)
        {
            return (null, new PgDrRepositoryException(ErrorIds.RepositoryUnavailable, PgDrErrorCategory.OperationTimeout, $"repository '{_lease.Repository}' did not answer within {Seconds(timeout)}", _lease.Repository, ex));
        }
    }

    /// <summary>An event for a decision: written once per change of what was decided, not once per heartbeat.</summary>
    private void Decide(AgentEventKind kind, string reason, PgDrLease? lease, string? errorId = null, Dictionary<string, string>? details = null)
    {
        var repeatable = kind is AgentEventKind.FailoverRefused or AgentEventKind.FailoverDeferred or AgentEventKind.Problem;
        var key = $"{kind}|{lease?.Version}|{reason}";
        if (repeatable && key == _lastDecision)
        {
            return;
        }

        _lastDecision = key;
        Emit(kind, reason, lease, errorId, details);
    }

    private void Emit(AgentEventKind kind, string reason, PgDrLease? lease, string? errorId = null, Dictionary<string, string>? details = null)
    {
        var agentEvent = new PgDrAgentEvent
        {
            Time = DateTimeOffset.UtcNow,
            Node = Name,
            Kind = kind,
            Reason = reason,
            LeaseHolder = lease?.Holder,
            LeaseGeneration = lease?.Generation,
            ErrorId = errorId,
            Details = details,
        };
        _events.Enqueue(agentEvent);
        try
        {
            _log?.Append(agentEvent);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The event still goes to the caller's sink (stdout, the pipeline); a full disk must not stop the agent.
        }

        _onEvent?.Invoke(agentEvent);
    }

    private void Publish(NodeProbeResult? probe, PgDrException? probeFailure, PgDrLease? lease, PgDrException? leaseFailure)
    {
        var node = probe?.Node;
        TimeSpan? deadline;
        bool fenced;
        long renewals, failures, failovers, fences;
        lock (_gate)
        {
            deadline = _fenceDeadline;
            fenced = _fenced;
            (renewals, failures, failovers, fences) = (_renewals, _renewalFailures, _failovers, _fences);
        }

        var now = _clock.Elapsed;
        var holds = _held is not null && deadline is { } d && now < d && probe?.Writable == true;

        // The holder shows the lease as this round left it (taken or renewed after the read), not as it read it.
        lease = holds ? _held : lease;
        var primaryLsn = node?.Role == PgNodeRole.Primary ? node.CurrentLsn : _lastPrimaryLsn;
        var peers = probe?.Standbys.ToList() ?? [];
        if (node?.Role == PgNodeRole.Standby && _lastHeartbeatTarget is not null)
        {
            peers.Add(new PgDrAgentPeer
            {
                Name = _lastLease?.Holder ?? _lastHeartbeatTarget,
                Role = "primary",
                State = _misses == 0 ? "answers" : $"missed {_misses} heartbeats",
                LastHeartbeatSecondsAgo = _lastPrimaryAnswer is { } a ? Math.Round((now - a).TotalSeconds, 3) : null,
            });
        }

        Volatile.Write(ref _status, new PgDrAgentStatus
        {
            Node = Name,
            Region = Region,
            Role = node is null ? AgentRole.Down
                : node.Role == PgNodeRole.Standby ? AgentRole.Standby
                : holds ? AgentRole.Primary : AgentRole.PrimaryWithoutLease,
            PostgresAnswers = node is not null,
            Writable = probe?.Writable == true,
            Timeline = node?.Timeline,
            CurrentLsn = PgDrAgentStatus.Lsn(node?.CurrentLsn),
            ReceiveLsn = PgDrAgentStatus.Lsn(node?.ReceiveLsn),
            ReplayLsn = PgDrAgentStatus.Lsn(node?.ReplayLsn),
            ReceiverStatus = node?.ReceiverStatus,
            Upstream = node?.Upstream,
            LagBytes = node?.Role == PgNodeRole.Standby && primaryLsn is { } p && _misses == 0 ? p.BytesSince(node.ReplayLsn ?? new PgLsn(0)) : node?.Role == PgNodeRole.Primary ? 0 : null,
            LagSeconds = node?.Role == PgNodeRole.Standby ? Math.Round((probe!.ReplayAge ?? TimeSpan.Zero).TotalSeconds, 3) : node?.Role == PgNodeRole.Primary ? 0 : null,
            LeaseHolder = lease?.Holder,
            LeaseHolderInstance = lease?.HolderInstance,
            LeaseGeneration = lease?.Generation,
            LeaseTtlSeconds = lease?.TtlSeconds,
            HoldsLease = holds,
            FenceInSeconds = holds ? Math.Round((deadline!.Value - now).TotalSeconds, 3) : null,
            LeaseUnchangedSeconds = lease is null || holds ? null : Math.Round((now - _watchedSince).TotalSeconds, 3),
            LeaseError = leaseFailure?.Message ?? (_renewalFailing ? "renewals are failing" : null),
            MissedHeartbeats = _misses,
            Peers = peers,
            ArchiveReadySegments = probe?.ArchiveReadySegments,
            ArchivedCount = probe?.ArchivedCount,
            ArchiveFailedCount = probe?.ArchiveFailedCount,
            Disks = MeasureDisks(),
            AutomaticFailover = Policy.AutomaticFailover,
            Fenced = fenced,
            LeaseRenewals = renewals,
            LeaseRenewalFailures = failures,
            Failovers = failovers,
            Fences = fences,
            ObservedAt = DateTimeOffset.UtcNow,
            ObservedAtClock = now,
        });
        _ = probeFailure;
    }

    /// <summary>
    /// The node's disks, measured here on its host every round: a check run on another host cannot measure them, and
    /// reads them from GET /status instead.
    /// </summary>
    private List<PgDrAgentDisk> MeasureDisks()
    {
        var directory = _control?.DataDirectory ?? _settings.DataDirectory;
        if (string.IsNullOrEmpty(directory))
        {
            return [];
        }

        var disks = new List<PgDrAgentDisk>();
        foreach (var (label, path) in DiskSpace.NodePaths(directory))
        {
            if (DiskSpace.Measure(path) is { } usage)
            {
                disks.Add(new PgDrAgentDisk { Label = label, Path = path, Mount = usage.Mount, FreeBytes = usage.FreeBytes, TotalBytes = usage.TotalBytes });
            }
        }

        return disks;
    }

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";
}
