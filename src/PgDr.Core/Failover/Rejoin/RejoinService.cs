using System.Globalization;
using System.Text;
using PgDr.Connections;
using PgDr.Errors;
using PgDr.Failover.Measurement;
using PgDr.Failover.Promotion;
using PgDr.Hosting;
using PgDr.Progress;
using PgDr.Topology;

namespace PgDr.Failover.Rejoin;

/// <summary>
/// Turns a failed old primary (or any node of the cluster that is not the lease holder) into a standby of the new
/// primary (Join-PgCluster, pgdr rejoin): it follows directly when its WAL ends at or before the new timeline's fork
/// point, it is rewound (pg_rewind, source = the new primary) when it wrote past it, and it is refused when what it
/// wrote past the fork holds committed transactions, unless data loss is allowed.
/// </summary>
/// <remarks>
/// Detection: the fork point is where the node's timeline history and the new primary's part (TimelineHistory,
/// as pg_rewind finds the common ancestor); pg_waldump lists the node's records from there to its end of WAL; commit
/// records among them are transactions that exist only on this node. A rewind would discard them.
/// </remarks>
public static class RejoinService
{
    private const string Activity = "Rejoin";

    /// <summary>Configuration files pg_rewind copies from the source; the node keeps its own (port, cluster_name, access rules).</summary>
    private static readonly string[] OwnConfigurationFiles = ["postgresql.conf", "postgresql.auto.conf", "pg_hba.conf", "pg_ident.conf"];

    public static async Task<PgRejoinResult> RunAsync(RejoinRequest request, IProgress<PgDrProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var clock = new StepClock();
        var cluster = await NodeControl.ForDataDirectoryAsync(request.DataDirectory, cancellationToken).ConfigureAwait(false);
        var (nodeName, port) = await ReadIdentityAsync(cluster, cancellationToken).ConfigureAwait(false);
        var credentials = request.NewPrimary ?? request.Credentials ?? new PgInstance("127.0.0.1");
        var node = ClusterNodes.WithCredentialsOf(credentials, $"127.0.0.1:{port}");

        progress?.Report(new PgDrProgress(Activity, $"checking {nodeName}"));
        var (newPrimary, newName, newHistory) = await clock.TimeAsync("check", async () =>
        {
            var found = await CheckAsync(request, cluster, nodeName, credentials, cancellationToken).ConfigureAwait(false);
            return (found, $"new primary {found.Name} on timeline {found.History.CurrentTimeline}");
        }).ConfigureAwait(false);

        // First judged while the node may still run (a stray primary): a refusal then changes nothing at all.
        var running = await cluster.IsRunningAsync(cancellationToken).ConfigureAwait(false);
        var divergence = await clock.TimeAsync("divergence", async () =>
        {
            var found = await FindDivergenceAsync(cluster, newHistory, request.AllowDataLoss, nodeName, newName, cancellationToken).ConfigureAwait(false);
            return (found, found.ToString());
        }).ConfigureAwait(false);

        if (running)
        {
            await clock.TimeAsync("stop", async () =>
            {
                await cluster.StopAsync(StopMode.Fast, cancellationToken).ConfigureAwait(false);
                return "stopped (fast)";
            }).ConfigureAwait(false);

            // It may have written more before it stopped: the verdict that counts is the one on the stopped node.
            divergence = await FindDivergenceAsync(cluster, newHistory, request.AllowDataLoss, nodeName, newName, cancellationToken).ConfigureAwait(false);
        }

        var conninfo = await StandbyConversion.ConnInfoForAsync(newPrimary, nodeName, cancellationToken).ConfigureAwait(false);
        var method = RejoinMethod.Follow;
        if (divergence.WalGone)
        {
            return await RebuildAsync(clock, cluster, node, nodeName, port, newPrimary, newName, conninfo, divergence, progress, cancellationToken).ConfigureAwait(false);
        }

        if (divergence.Records.Count > 0)
        {
            method = RejoinMethod.Rewind;
            progress?.Report(new PgDrProgress(Activity, $"pg_rewind {nodeName} from {newName}"));
            try
            {
                await clock.TimeAsync("rewind", async () =>
                {
                    // The slot first: it holds the new primary's WAL from now on, which the rewound node replays and streams.
                    await StandbyRepointer.EnsureSlotAsync(newPrimary, Replication.ReplicationSlotName.FromNodeName(nodeName), cancellationToken).ConfigureAwait(false);
                    await RewindAsync(cluster, newPrimary, cancellationToken).ConfigureAwait(false);
                    return $"discarded {divergence.Records.Count} record(s) past {divergence.ForkPoint}";
                }).ConfigureAwait(false);
            }
            catch (PgDrException ex) when (ex.ErrorId == ErrorIds.RewindFailed)
            {
                // What the node alone had was judged above (none, or its loss allowed): a base backup loses nothing more.
                return await RebuildAsync(clock, cluster, node, nodeName, port, newPrimary, newName, conninfo, divergence, progress, cancellationToken).ConfigureAwait(false);
            }
        }

        progress?.Report(new PgDrProgress(Activity, $"starting {nodeName} as a standby of {newName}"));
        var streaming = await clock.TimeAsync("start as standby", async () =>
        {
            await StandbyConversion.ConfigureAsync(cluster, nodeName, newPrimary, conninfo, cancellationToken).ConfigureAwait(false);
            var ok = await StandbyConversion.StartAndWaitAsync(cluster, node, newPrimary, cancellationToken).ConfigureAwait(false);
            return (ok, ok ? "streaming" : "started, not streaming yet");
        }).ConfigureAwait(false);

        return new PgRejoinResult
        {
            Instance = node,
            Node = nodeName,
            DataDirectory = cluster.DataDirectory,
            NewPrimary = newName,
            Method = method,
            ForkPoint = divergence.ForkPoint,
            DiscardedRecords = divergence.Records.Count,
            DiscardedTransactions = divergence.Records.Count(r => r.IsCommit),
            Streaming = streaming,
            Duration = clock.Elapsed,
            Steps = clock.Steps,
        };
    }

    /// <summary>
    /// Builds the node again from the new primary with the standby engine (New-PgStandby -Force: the old data directory
    /// is set aside and deleted only once the new standby streams), same name, port, slot and password file.
    /// </summary>
    private static async Task<PgRejoinResult> RebuildAsync(
        StepClock clock, ControlledNode cluster, PgInstance node, string nodeName, int port, PgInstance newPrimary, string newName, ConnInfo conninfo, Divergence divergence,
        IProgress<PgDrProgress>? progress, CancellationToken cancellationToken)
    {
        progress?.Report(new PgDrProgress(Activity, $"base backup of {nodeName} from {newName}"));
        var slot = Replication.ReplicationSlotName.FromNodeName(nodeName);
        var standby = await clock.TimeAsync("base backup", async () =>
        {
            await StandbyRepointer.EnsureSlotAsync(newPrimary, slot, cancellationToken).ConfigureAwait(false);
            var created = await Replication.Standby.StandbyService.CreateAsync(
                new Replication.Standby.StandbyRequest
                {
                    Upstream = newPrimary,
                    DataDirectory = cluster.DataDirectory,
                    Name = nodeName,
                    SlotName = slot,
                    ReplicationUser = conninfo["user"],
                    PasswordFile = conninfo["passfile"],
                    Port = port,
                    Force = true,
                },
                progress,
                cancellationToken).ConfigureAwait(false);
            return (created, $"built again from {newName}");
        }).ConfigureAwait(false);
        return new PgRejoinResult
        {
            Instance = node,
            Node = nodeName,
            DataDirectory = cluster.DataDirectory,
            NewPrimary = newName,
            Method = RejoinMethod.BaseBackup,
            ForkPoint = divergence.ForkPoint,
            DiscardedRecords = divergence.Records.Count,
            DiscardedTransactions = divergence.Records.Count(r => r.IsCommit),
            Streaming = standby.Node.ReceiverStatus == "streaming",
            Duration = clock.Elapsed,
            Steps = clock.Steps,
        };
    }

    private sealed record NewPrimaryInfo(PgInstance Instance, string Name, TimelineHistory History);

    private sealed record Divergence(PgLsn? ForkPoint, IReadOnlyList<WalRecord> Records, bool WalGone = false)
    {
        public override string ToString() => Records.Count == 0
            ? $"nothing past the fork{(ForkPoint is { } f ? $" at {f}" : string.Empty)}"
            : $"{Records.Count} record(s), {Records.Count(r => r.IsCommit)} commit(s) past the fork at {ForkPoint}";
    }

    private static async Task<NewPrimaryInfo> CheckAsync(RejoinRequest request, ControlledNode cluster, string nodeName, PgInstance credentials, CancellationToken cancellationToken)
    {
        var lease = request.Lease is null ? null : await request.Lease.ReadAsync(cancellationToken).ConfigureAwait(false);
        if (lease is not null && lease.IsHeldBy(nodeName))
        {
            throw new PgDrInvalidOperationException(
                ErrorIds.RejoinNodeHoldsLease,
                $"{nodeName} holds the lease (generation {lease.Generation}): it is the primary, not a node to rejoin. Nothing was changed.",
                nodeName);
        }

        var newPrimary = request.NewPrimary
            ?? (lease is not null ? ClusterNodes.WithCredentialsOf(credentials, lease.HolderInstance) : null)
            ?? throw new PgDrArgumentException(ErrorIds.InvalidInstance, "Name the new primary (-Primary), or a configuration whose lease names it.", request.DataDirectory);
        var primary = await NodeInspector.GetNodeAsync(newPrimary, cancellationToken).ConfigureAwait(false);
        if (primary.Role != PgNodeRole.Primary)
        {
            throw new PgDrInvalidOperationException(ErrorIds.NodeIsStandby, $"{newPrimary} is a standby; rejoin follows the primary. Nothing was changed.", newPrimary);
        }

        var control = await ControlData.ReadAsync(cluster, cancellationToken).ConfigureAwait(false);
        ClusterNodes.RequireSameCluster(primary, control.SystemIdentifier, $"the data directory {cluster.DataDirectory}");
        var history = await PgConnector.RunAsync(newPrimary, conn => TimelineHistory.ReadAsync(conn, cancellationToken), cancellationToken).ConfigureAwait(false);
        return new NewPrimaryInfo(newPrimary, ClusterNodes.NameOf(primary), history);
    }

    /// <summary>The node's records past the fork point; refuses (RejoinWouldDiscardData) when they hold commits, unless allowed.</summary>
    private static async Task<Divergence> FindDivergenceAsync(ControlledNode cluster, TimelineHistory newHistory, bool allowDataLoss, string nodeName, string newName, CancellationToken cancellationToken)
    {
        var control = await ControlData.ReadAsync(cluster, cancellationToken).ConfigureAwait(false);
        var timeline = LatestTimeline(cluster.DataDirectory, control.CheckpointTimeline);
        var nodeHistory = TimelineHistory.ReadFromDataDirectory(cluster.DataDirectory, timeline);
        var fork = TimelineHistory.ForkPoint(nodeHistory, newHistory);
        if (fork is null)
        {
            // Same timeline: the node is behind the new primary on it and simply follows.
            return new Divergence(null, []);
        }

        // Read from the fork, or from the last checkpoint when that is later (the fork's segment may be gone then,
        // and everything up to a checkpoint after the fork is past it anyway... except records before the checkpoint).
        var from = fork.Value < control.LatestCheckpoint ? fork.Value : control.LatestCheckpoint;
        var records = await WalDump.ReadFromAsync(cluster, timeline, from, cancellationToken).ConfigureAwait(false);
        if (records is null)
        {
            // What it holds past the fork cannot be judged, and pg_rewind cannot work: only a base backup brings it back,
            // and only when losing whatever it alone has is accepted.
            return allowDataLoss
                ? new Divergence(fork, [], WalGone: true)
                : throw new PgDrInvalidOperationException(
                    ErrorIds.RejoinNeedsBaseBackup,
                    $"The WAL of {nodeName} from {from} on timeline {timeline} is gone, so what it holds past the fork at {fork} cannot be judged and pg_rewind cannot work. Nothing was changed; -Force builds it again from {newName} (a base backup), discarding whatever only it has.",
                    nodeName);
        }

        var past = records.Where(r => r.Lsn >= fork.Value).ToList();
        var commits = past.Count(r => r.IsCommit);
        if (commits > 0 && !allowDataLoss)
        {
            throw new PgDrInvalidOperationException(
                ErrorIds.RejoinWouldDiscardData,
                $"{nodeName} holds {commits} committed transaction(s) that {newName} does not have ({past.Count} WAL record(s) from {past[0].Lsn} to {past[^1].Lsn}, past the fork at {fork}); a rewind would discard them. Nothing was changed; save what you need from it, then -Force (AllowDataLoss).",
                nodeName);
        }

        return new Divergence(fork, past);
    }

    /// <summary>The node's newest timeline: the checkpoint's, or a later one it was promoted to (its newest history file).</summary>
    private static uint LatestTimeline(string dataDirectory, uint checkpointTimeline)
    {
        var newest = checkpointTimeline;
        foreach (var file in Directory.EnumerateFiles(Path.Combine(dataDirectory, "pg_wal"), "*.history"))
        {
            if (uint.TryParse(Path.GetFileNameWithoutExtension(file), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var tli) && tli > newest)
            {
                newest = tli;
            }
        }

        return newest;
    }

    /// <summary>
    /// pg_rewind with the new primary as source. Before: signal files go (pg_rewind recovers a node that did not shut
    /// down cleanly in single-user mode, which refuses standby mode) and the node's own configuration files are kept
    /// aside; after: they are put back, because pg_rewind copies the source's. The password reaches pg_rewind in a
    /// temporary 0600 password file, never on its command line.
    /// </summary>
    private static async Task RewindAsync(ControlledNode cluster, PgInstance source, CancellationToken cancellationToken)
    {
        var restoreCommand = await PostgresSettingAsync(cluster, "restore_command", cancellationToken).ConfigureAwait(false);
        foreach (var signal in new[] { "standby.signal", "recovery.signal" })
        {
            File.Delete(Path.Combine(cluster.DataDirectory, signal));
        }

        var kept = OwnConfigurationFiles
            .Select(name => Path.Combine(cluster.DataDirectory, name))
            .Where(File.Exists)
            .ToDictionary(path => path, File.ReadAllBytes);
        var work = Path.Combine(Path.GetTempPath(), "pgdr-rewind-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(work);
        try
        {
            var conninfo = new ConnInfo
            {
                ["host"] = source.Host,
                ["port"] = source.Port.ToString(CultureInfo.InvariantCulture),
                ["dbname"] = source.Database,
            };
            if (source.Username is not null)
            {
                conninfo["user"] = source.Username;
            }

            if (source.Password is not null)
            {
                var passfile = Path.Combine(work, "pgpass");
                WritePrivate(passfile, $"{Escape(source.Host)}:{source.Port}:*:{Escape(source.Username ?? "*")}:{Escape(source.Password)}\n");
                conninfo["passfile"] = passfile;
            }

            if (source.SslMode is { } ssl)
            {
                conninfo["sslmode"] = Replication.PrimaryConnInfo.LibpqSslMode(ssl);
            }

            await cluster.RunAs.TakeOwnershipAsync(work, cancellationToken).ConfigureAwait(false);

            // A freshly promoted source's pg_control still names the old timeline until its first checkpoint, and
            // pg_rewind would then find "no rewind required".
            await PgConnector.RunAsync(source, async conn =>
            {
                using var checkpoint = new Npgsql.NpgsqlCommand("CHECKPOINT", conn);
                return await checkpoint.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);

            // WAL the node recycled since the fork comes from the archive, where it has a restore_command (pgdr wal fetch).
            var arguments = new List<string> { "--target-pgdata", cluster.DataDirectory, "--source-server", conninfo.ToString() };
            if (restoreCommand.Length > 0)
            {
                arguments.Add("--restore-target-wal");
            }

            var result = await ProcessRunner.RunAsync(
                cluster.Binaries.Tool("pg_rewind"),
                arguments,
                cancellationToken,
                cluster.RunAs,
                new Dictionary<string, string> { ["LC_ALL"] = "C" },
                work).ConfigureAwait(false);
            if (result.ExitCode != 0 || (result.StandardOutput + result.StandardError).Contains("no rewind required", StringComparison.Ordinal))
            {
                var why = result.StandardError.Trim().Split('\n').LastOrDefault() ?? $"exit code {result.ExitCode}";
                throw new PgDrException(
                    ErrorIds.RewindFailed,
                    PgDrErrorCategory.InvalidOperation,
                    $"pg_rewind of {cluster.DataDirectory} from {source} failed: {why}. Build the node again from the new primary (New-PgStandby -Force).",
                    cluster.DataDirectory);
            }
        }
        finally
        {
            foreach (var (path, content) in kept)
            {
                File.WriteAllBytes(path, content);
            }

            await cluster.RunAs.TakeOwnershipAsync(cluster.DataDirectory, CancellationToken.None).ConfigureAwait(false);
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>The node's name (cluster_name, else its directory's name) and port, as its configuration sets them.</summary>
    private static async Task<(string Name, int Port)> ReadIdentityAsync(ControlledNode cluster, CancellationToken cancellationToken)
    {
        var clusterName = await PostgresSettingAsync(cluster, "cluster_name", cancellationToken).ConfigureAwait(false);
        var port = int.Parse(await PostgresSettingAsync(cluster, "port", cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        return (clusterName.Length > 0 ? clusterName : Path.GetFileName(cluster.DataDirectory), port);
    }

    /// <summary>A setting as the node's configuration files give it (postgres -C), running or not.</summary>
    private static async Task<string> PostgresSettingAsync(ControlledNode cluster, string name, CancellationToken cancellationToken)
    {
        var result = await ProcessRunner.RunCheckedAsync(cluster.Binaries.Tool("postgres"), ["-D", cluster.DataDirectory, "-C", name], cancellationToken, cluster.RunAs)
            .ConfigureAwait(false);
        return result.StandardOutput.Trim();
    }

    private static void WritePrivate(string path, string content)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var stream = new FileStream(path, options);
        stream.Write(Encoding.UTF8.GetBytes(content));
    }

    private static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace(":", "\\:", StringComparison.Ordinal);
}
