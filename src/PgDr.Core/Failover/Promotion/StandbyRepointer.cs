using PgDr.Connections;
using PgDr.Errors;
using PgDr.Hosting;
using PgDr.Replication;
using PgDr.Settings;
using PgDr.Topology;

namespace PgDr.Failover.Promotion;

/// <summary>What happened to one standby that was to follow the new primary.</summary>
public sealed class PgStandbyRepoint
{
    public required PgInstance Instance { get; init; }

    public string? Name { get; init; }

    /// <summary>Its primary_conninfo now names the new primary.</summary>
    public bool Repointed { get; init; }

    /// <summary>It streams from the new primary (waited for after the change).</summary>
    public bool Streaming { get; init; }

    /// <summary>The slot it streams through on the new primary.</summary>
    public string? SlotName { get; init; }

    public string? Detail { get; init; }

    public override string ToString() => $"{Name ?? Instance.Name}: {(Repointed ? "repointed" : "not repointed")}{(Detail is null ? string.Empty : $" ({Detail})")}";
}

/// <summary>
/// Points running standbys at a new primary without restarting them: on PostgreSQL 13 and later primary_conninfo and
/// primary_slot_name are reloadable, so ALTER SYSTEM and pg_reload_conf() make the WAL receiver reconnect, and the
/// standby follows the new timeline (recovery_target_timeline = latest). Each gets a slot of its own on the new primary.
/// </summary>
public static class StandbyRepointer
{
    /// <summary>How long a repointed standby is given to stream from the new primary before that is reported as not (yet) so.</summary>
    public static readonly TimeSpan StreamingWait = TimeSpan.FromSeconds(30);

    public static async Task<PgStandbyRepoint> RepointAsync(PgInstance standby, PgInstance newPrimary, TimelineHistory newHistory, ulong systemIdentifier, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(standby);
        ArgumentNullException.ThrowIfNull(newHistory);
        var (node, failure) = await ClusterNodes.TryReadAsync(standby, cancellationToken).ConfigureAwait(false);
        if (node is null)
        {
            return new PgStandbyRepoint { Instance = standby, Detail = $"unreachable: {failure!.Message}" };
        }

        var name = ClusterNodes.NameOf(node);
        ClusterNodes.RequireSameCluster(node, systemIdentifier, newPrimary.Name);
        if (node.Role != PgNodeRole.Standby)
        {
            return new PgStandbyRepoint { Instance = standby, Name = name, Detail = "it is a primary, not a standby" };
        }

        if (string.Equals(node.Upstream, newPrimary.Name, StringComparison.OrdinalIgnoreCase))
        {
            return new PgStandbyRepoint { Instance = standby, Name = name, Streaming = true, SlotName = node.UpstreamSlot, Detail = "already streams from the new primary" };
        }

        // A standby that received WAL past the fork holds changes the new timeline does not: it cannot follow it.
        var fork = Promoter.SwitchPoint(newHistory);
        var received = node.ReceiveLsn ?? node.ReplayLsn;
        if (fork is { } f && received is { } r && r > f && node.Timeline < newHistory.CurrentTimeline)
        {
            return new PgStandbyRepoint { Instance = standby, Name = name, Detail = $"received {r}, past the new timeline's fork at {f}: rejoin it (Join-PgCluster)" };
        }

        var (conninfo, slot) = await PgConnector.RunAsync(standby, async conn =>
            (await ClusterNodes.SettingAsync(conn, "primary_conninfo", cancellationToken).ConfigureAwait(false),
             await ClusterNodes.SettingAsync(conn, "primary_slot_name", cancellationToken).ConfigureAwait(false)), cancellationToken).ConfigureAwait(false);
        var slotName = string.IsNullOrEmpty(slot) ? ReplicationSlotName.FromNodeName(name) : slot;
        await EnsureSlotAsync(newPrimary, slotName, cancellationToken).ConfigureAwait(false);
        var repointed = PrimaryConnInfo.Repoint(conninfo, newPrimary);
        await PgConnector.RunAsync(standby, async conn =>
        {
            await ServerSettings.AlterSystemAsync(conn, new Dictionary<string, string?>
            {
                ["primary_conninfo"] = repointed.ToString(),
                ["primary_slot_name"] = slotName,
            }, cancellationToken).ConfigureAwait(false);
            return true;
        }, cancellationToken).ConfigureAwait(false);

        var streaming = await WaitForStreamingAsync(standby, newPrimary, StreamingWait, cancellationToken).ConfigureAwait(false);
        return new PgStandbyRepoint
        {
            Instance = standby,
            Name = name,
            Repointed = true,
            Streaming = streaming,
            SlotName = slotName,
            Detail = streaming ? null : $"not streaming from {newPrimary} after {StreamingWait.TotalSeconds:0} s",
        };
    }

    /// <summary>Repoints each standby in turn, each timed on <paramref name="clock"/> (after the RTO: it does not delay the first write).</summary>
    public static async Task<IReadOnlyList<PgStandbyRepoint>> RepointAllAsync(
        Measurement.StepClock clock, IEnumerable<PgInstance> standbys, PgInstance newPrimary, TimelineHistory newHistory, ulong systemIdentifier, IProgress<Progress.PgDrProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(standbys);
        var repointed = new List<PgStandbyRepoint>();
        foreach (var standby in standbys)
        {
            progress?.Report(new Progress.PgDrProgress("Repoint", $"repointing {standby}"));
            repointed.Add(await clock.TimeAsync($"repoint {standby}", async () =>
            {
                var done = await RepointAsync(standby, newPrimary, newHistory, systemIdentifier, cancellationToken).ConfigureAwait(false);
                return (done, done.ToString());
            }).ConfigureAwait(false));
        }

        return repointed;
    }

    /// <summary>Creates the physical slot on the new primary unless it exists there (a switchover back finds it).</summary>
    public static async Task EnsureSlotAsync(PgInstance primary, string slotName, CancellationToken cancellationToken)
    {
        try
        {
            await ReplicationSlotService.CreatePhysicalSlotAsync(primary, slotName, allowStandby: false, cancellationToken).ConfigureAwait(false);
        }
        catch (PgDrException ex) when (ex.ErrorId == ErrorIds.ReplicationSlotExists)
        {
            // Kept from an earlier turn as primary: it is the slot we want.
        }
    }

    /// <summary>
    /// Whether <paramref name="standby"/> streams from <paramref name="upstream"/> within <paramref name="timeout"/>:
    /// its WAL receiver streams from it and it replayed the upstream's position as of the start of the wait. A receiver
    /// that connects but cannot follow (a standby ahead of the fork) never gets that far.
    /// </summary>
    public static async Task<bool> WaitForStreamingAsync(PgInstance standby, PgInstance upstream, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var source = await NodeInspector.GetNodeAsync(upstream, cancellationToken).ConfigureAwait(false);
        var target = source.CurrentLsn ?? source.ReplayLsn ?? new PgLsn(0);
        try
        {
            await Wait.UntilAsync(
                async ct =>
                {
                    var (node, _) = await ClusterNodes.TryReadAsync(standby, ct).ConfigureAwait(false);
                    return node is { ReceiverStatus: "streaming", ReplayLsn: { } replayed } && replayed >= target && node.Timeline == source.Timeline
                        && string.Equals(node.Upstream, upstream.Name, StringComparison.OrdinalIgnoreCase);
                },
                timeout,
                $"{standby} to stream from {upstream}",
                cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (PgDrException ex) when (ex.ErrorId == ErrorIds.Timeout)
        {
            return false;
        }
    }
}
