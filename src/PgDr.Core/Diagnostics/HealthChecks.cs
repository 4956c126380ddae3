using Npgsql;
using PgDr.Agent;
using PgDr.Agent.Http;
using PgDr.Archive.Server;
using PgDr.Connections;
using PgDr.Errors;
using PgDr.Hosting;
using PgDr.Replication;

namespace PgDr.Diagnostics;

/// <summary>
/// Judges what runs now, through the services that already measure it: the archiver (WalArchivingHealthService, with its
/// diagnosis from the server log), slots (ReplicationSlotService's rules), streams and replay (ReplicationLagService),
/// and the free space of the data directory and pg_wal: measured here for a node on this host, read from its agent for
/// a node elsewhere.
/// </summary>
internal static class HealthChecks
{
    private const PgDrCheckArea Area = PgDrCheckArea.Health;

    public static async Task<IReadOnlyList<PgDrCheck>> RunAsync(
        NodeFacts facts, LocalNode? local, IReadOnlyList<AgentPeer> agents, ConfigurationCheckOptions options, CheckWriter w, CancellationToken cancellationToken)
    {
        var results = new List<PgDrCheck>();
        results.AddRange(await ArchiverAsync(facts, local, options, w, cancellationToken).ConfigureAwait(false));
        results.AddRange(Slots(facts, w));
        results.AddRange(await StreamingAsync(facts, local is not null, options, w, cancellationToken).ConfigureAwait(false));
        results.AddRange(local is not null ? Disks(local, options, w) : await RemoteDisksAsync(facts, agents, options, w, cancellationToken).ConfigureAwait(false));
        return results;
    }

    private static async Task<IReadOnlyList<PgDrCheck>> ArchiverAsync(NodeFacts facts, LocalNode? local, ConfigurationCheckOptions options, CheckWriter w, CancellationToken cancellationToken)
    {
        // A node that does not archive (archive_mode off, or on while a standby) has nothing for the archiver checks:
        // the ArchiveMode setting check speaks for it.
        var mode = facts.Setting("archive_mode");
        if (mode == "off" || (mode == "on" && !facts.IsPrimary))
        {
            return [];
        }

        // The backlog is judged here, with its own verdict; the service judges the rest (setup, access, last attempt).
        var health = await WalArchivingHealthService.TestAsync(
            facts.Instance, new WalArchivingTestOptions { MaxReadyFiles = int.MaxValue }, probe: null, cancellationToken).ConfigureAwait(false);
        var counts = $"archived {health.ArchivedCount} (last {health.LastArchivedWal ?? "none"}), failed {health.FailedCount}";
        var archiver = health.Healthy
            ? w.Pass(Area, CheckIds.Archiver, counts + (health.AccessCheckedAs is { } user ? $"; pgdr runs as {user}" : string.Empty))
            : w.Fail(Area, CheckIds.Archiver, $"{string.Join("; ", health.Reasons)} ({counts})",
                health.Failure?.Fix ?? "Read the server log for archive_command's message; Test-PgWalArchiving -ForceSwitch shows whether a fix took.");
        var backlog = health.ReadyCount > options.MaxReadyFiles
            ? w.Warn(Area, CheckIds.ArchiveBacklog, $"{health.ReadyCount} segments wait for the archiver (more than {options.MaxReadyFiles}): archiving falls behind and pg_wal grows",
                "Make archiving faster (async push with parallel workers: \"async\" in the configuration) or find why each push is slow.")
            : w.Pass(Area, CheckIds.ArchiveBacklog, $"{health.ReadyCount} segment(s) wait for the archiver");

        // Where the archive goes is judged where its configuration is: on the node's host.
        return local is null
            ? [archiver, backlog]
            : [archiver, backlog, .. await ArchiveTargetChecks.RunAsync(facts, health.ArchiveCommand, options, w, cancellationToken).ConfigureAwait(false)];
    }

    private static IEnumerable<PgDrCheck> Slots(NodeFacts facts, CheckWriter w)
    {
        var limitMb = long.TryParse(facts.Setting("max_slot_wal_keep_size"), out var mb) && mb > 0 ? mb : (long?)null;
        foreach (var slot in facts.Slots)
        {
            var health = ReplicationSlotService.Judge(slot, null);
            var seen = $"{(slot.Active ? "active" : "inactive")}, retains {Bytes.Format(slot.RetainedBytes)}, wal_status {slot.WalStatus ?? "none"}";
            if (!health.Healthy)
            {
                yield return w.Fail(Area, CheckIds.ReplicationSlot, $"{seen}: {string.Join("; ", health.Reasons)}",
                    slot.WalStatus == "lost"
                        ? "Rebuild the standby of this slot (New-PgStandby), then drop the slot."
                        : "Bring its standby back, or drop the slot if the standby is gone for good (Remove-PgReplicationSlot), before WAL fills the disk.",
                    slot.SlotName);
            }
            else if (limitMb is { } limit && slot.SafeWalSize is { } safe && safe < limit * 1024 * 1024 / 5)
            {
                yield return w.Warn(Area, CheckIds.ReplicationSlot, $"{seen}: only {Bytes.Format(safe)} before max_slot_wal_keep_size ({limit} MB) removes its WAL",
                    "Find why its standby falls behind (network, replay), or raise max_slot_wal_keep_size if pg_wal's disk allows.", slot.SlotName);
            }
            else
            {
                yield return w.Pass(Area, CheckIds.ReplicationSlot, seen, slot.SlotName);
            }
        }
    }

    private static async Task<IReadOnlyList<PgDrCheck>> StreamingAsync(NodeFacts facts, bool local, ConfigurationCheckOptions options, CheckWriter w, CancellationToken cancellationToken)
    {
        var results = new List<PgDrCheck>();
        var lags = await ReplicationLagService.GetLagAsync(facts.Instance, new LagThresholds(), cancellationToken).ConfigureAwait(false);
        foreach (var lag in lags)
        {
            if (lag.Source == LagSource.Sender)
            {
                // A slot with nobody streaming through it is the slot check's finding; here the standbys that are connected.
                if (lag.State == "disconnected")
                {
                    continue;
                }

                results.Add(lag.State == "streaming"
                    ? w.Pass(Area, CheckIds.Streaming, $"streaming, {Bytes.Format(lag.ByteLag)} behind, {lag.SyncState}", lag.StandbyName)
                    : w.Warn(Area, CheckIds.Streaming, $"connected but {lag.State}, {Bytes.Format(lag.ByteLag)} behind",
                        "Wait for it to catch up; if it stays in catchup, its link or replay is slower than the primary's WAL rate.", lag.StandbyName));
                continue;
            }

            // The standby's own view: is its receiver streaming, and is replay keeping up with what it received?
            results.Add(lag.State == "streaming" && !lag.Reasons.Any(r => r.Contains("paused", StringComparison.Ordinal))
                ? w.Pass(Area, CheckIds.Streaming, $"streaming from {facts.Node.Upstream}", "upstream")
                : w.Fail(Area, CheckIds.Streaming, string.Join("; ", lag.Reasons),
                    "Read the standby's log (the Log checks below name the cause): the upstream down or unreachable, a refused login, or a TLS failure.", "upstream"));
            results.Add(JudgeReplay(lag.ByteLag, lag.LastReplayedTransactionTime, options.MaxReplayLagBytes, local ? IoPressure.ReadThisHost() : null, w));
        }

        return results;
    }

    /// <summary>
    /// A standby whose replay falls behind what its receiver already has is replay-bound, not network-bound. Where the
    /// standby is on this host, the kernel's I/O pressure says whether its disk is the cause (replay applies what the
    /// primary wrote, single-threaded, and waits for every page it reads) or something else holds replay back.
    /// </summary>
    internal static PgDrCheck JudgeReplay(long receivedNotReplayed, DateTimeOffset? lastReplayed, long maxBytes, IoPressure? io, CheckWriter w)
    {
        var pressure = io is { } measured ? $"; {measured}" : string.Empty;
        if (receivedNotReplayed <= maxBytes)
        {
            return w.Pass(Area, CheckIds.ReplayLag, $"{Bytes.Format(receivedNotReplayed)} received but not replayed{pressure}");
        }

        var fix = io switch
        {
            { IsSaturated: true } => "Replay waits for the standby's disk: give it storage as fast as the primary's (replay is single-threaded and reads every page it changes), and keep other I/O (backups, reports) off it.",
            not null => "The disk is not what holds replay back: look for queries conflicting with replay (max_standby_streaming_delay, pg_stat_database_conflicts) and for one CPU core saturated by the startup process.",
            null => "Replay is slower than the stream: look at the standby's disk I/O (iostat: it must apply what the primary writes, single-threaded) and at queries holding replay back (max_standby_streaming_delay).",
        };
        return w.Warn(Area, CheckIds.ReplayLag,
            $"{Bytes.Format(receivedNotReplayed)} received but not replayed (more than {Bytes.Format(maxBytes)}: replay-bound, not the network), last replayed transaction {lastReplayed:u}{pressure}", fix);
    }

    private static IEnumerable<PgDrCheck> Disks(LocalNode local, ConfigurationCheckOptions options, CheckWriter w)
    {
        foreach (var (label, path) in DiskSpace.NodePaths(local.DataDirectory))
        {
            if (JudgeDisk(path, options.MinFreeDiskShare, w, label) is { } check)
            {
                yield return check;
            }
        }
    }

    private const string DiskFix = "Free space or grow the disk; pg_wal filling up stops the server (PANIC), and a full data directory stops writes.";

    private const string RemoteDiskFix =
        "Run the node's agent (pgdr agent) and name it in this host's configuration (agent.peers[].agent: its host:port), then check with -ConfigPath / --config; or run the check on the node's own host.";

    /// <summary>How long a node's agent may take to answer: it answers from its latest view, never from a query.</summary>
    private static readonly TimeSpan AgentTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A node on another host: its disks as its agent measured them there, judged by the same rules. Without an agent, or
    /// with one that does not answer, they cannot be measured, and DiskSpace says so instead of saying nothing.
    /// </summary>
    private static async Task<IReadOnlyList<PgDrCheck>> RemoteDisksAsync(
        NodeFacts facts, IReadOnlyList<AgentPeer> agents, ConfigurationCheckOptions options, CheckWriter w, CancellationToken cancellationToken)
    {
        var name = facts.Node.ClusterName;
        if (agents.FirstOrDefault(a => a.Agent is not null && a.Is(facts.Instance, name)) is not { Agent: { } endpoint })
        {
            return [w.Warn(Area, CheckIds.DiskSpace, "not measured: PgDr finds no data directory of this node on this host, and the disks of a remote node cannot be measured without its agent", RemoteDiskFix)];
        }

        PgDrAgentStatus status;
        try
        {
            status = await AgentStatusClient.GetAsync(endpoint, AgentTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (PgDrException ex)
        {
            return [w.Warn(Area, CheckIds.DiskSpace, $"not measured: {ex.Message} [{ex.ErrorId}]", "Start the node's agent (pgdr agent), or open its HTTP port to this host; or run the check on the node's own host.")];
        }

        if (name is not null && status.Node is not null && !string.Equals(status.Node, name, StringComparison.Ordinal))
        {
            return [w.Warn(Area, CheckIds.DiskSpace, $"not measured: the agent at {endpoint} keeps {status.Node}, not {name}", "Correct agent.peers[].agent in the configuration: it names another node's agent.")];
        }

        if (status.Disks.Count == 0)
        {
            return [w.Warn(Area, CheckIds.DiskSpace, $"not measured: the agent at {endpoint} reports no disk (it has not found the data directory)", "Give the agent its data directory (agent.dataDirectory) and make sure it can read it.")];
        }

        return status.Disks.Select(d => JudgeDisk(new DiskUsage(d.FreeBytes, d.TotalBytes, d.Mount), options.MinFreeDiskShare, w, d.Label, $" (measured by its agent at {endpoint})")).ToList();
    }

    /// <summary>
    /// The free space of the file system holding <paramref name="path"/>, judged as <paramref name="checkId"/> (DiskSpace
    /// unless given); null when it cannot be measured.
    /// </summary>
    internal static PgDrCheck? JudgeDisk(string path, double minFreeShare, CheckWriter w, string subject, string checkId = CheckIds.DiskSpace, string fix = DiskFix) =>
        DiskSpace.Measure(path) is { } usage ? JudgeDisk(usage, minFreeShare, w, subject, string.Empty, checkId, fix) : null;

    /// <summary>Below <paramref name="minFreeShare"/> free Warns, below a third of it Fails; <paramref name="where"/> ends the evidence.</summary>
    internal static PgDrCheck JudgeDisk(DiskUsage space, double minFreeShare, CheckWriter w, string subject, string where, string checkId = CheckIds.DiskSpace, string fix = DiskFix)
    {
        var share = space.FreeShare;
        var evidence = $"{Bytes.Format(space.FreeBytes)} free of {Bytes.Format(space.TotalBytes)} ({share:P0}) on {space.Mount}{where}";
        return share < minFreeShare / 3 ? w.Fail(Area, checkId, evidence, fix, subject)
            : share < minFreeShare ? w.Warn(Area, checkId, evidence, fix, subject)
            : w.Pass(Area, checkId, evidence, subject);
    }

    /// <summary>Reads a node's clock a few times through SQL and keeps the most precise reading.</summary>
    public static async Task<ClockSample> SampleClockAsync(PgInstance instance, CancellationToken cancellationToken) =>
        await PgConnector.RunAsync(instance, async conn =>
        {
            var samples = new List<ClockSample>();
            using var cmd = new NpgsqlCommand("SELECT clock_timestamp()", conn);
            for (var i = 0; i < 3; i++)
            {
                var sent = DateTimeOffset.UtcNow;
                var server = (DateTime)(await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
                samples.Add(new ClockSample(sent, new DateTimeOffset(server, TimeSpan.Zero), DateTimeOffset.UtcNow));
            }

            return ClockSkew.Best(samples);
        }, cancellationToken).ConfigureAwait(false);
}
