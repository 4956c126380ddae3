using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Npgsql;
using PgDr.Connections;
using PgDr.Errors;
using PgDr.Progress;
using PgDr.Hosting.Services;
using PgDr.Replication;
using PgDr.Replication.Standby;
using PgDr.Topology;

namespace PgDr.Hosting.Sandbox;

/// <summary>Builds, inspects and removes sandboxes.</summary>
public static class SandboxService
{
    public const int MaxStandbys = 8;

    /// <summary>Where pgdr and the cmdlets put a sandbox when no directory is named: $PGDR_SANDBOX, else a folder in the temp directory.</summary>
    public static string DefaultDirectory =>
        Environment.GetEnvironmentVariable("PGDR_SANDBOX") is { Length: > 0 } fromEnv
            ? fromEnv
            : Path.Combine(Path.GetTempPath(), "pgdr-sandbox");

    /// <summary>Node names by position: region-a, region-b, ...</summary>
    public static string RegionName(int index) => "region-" + (char)('a' + index);

    public static async Task<PgSandbox> CreateAsync(SandboxSpec spec, IProgress<PgDrProgress>? progress, CancellationToken cancellationToken)
    {
        if (spec.Standbys is < 0 or > MaxStandbys)
        {
            throw new PgDrArgumentException(ErrorIds.InvalidSandboxSpec, $"A sandbox has 0 to {MaxStandbys} standbys (asked for {spec.Standbys}).", spec.Standbys);
        }

        if (spec.Cascading && spec.Standbys < 1)
        {
            throw new PgDrArgumentException(ErrorIds.InvalidSandboxSpec, "A cascading standby needs at least one standby to stream from.", spec.Standbys);
        }

        var directory = Path.GetFullPath(spec.Directory);
        if (File.Exists(SandboxState.PathIn(directory)))
        {
            throw new PgDrException(ErrorIds.SandboxExists, PgDrErrorCategory.ResourceExists, $"A sandbox already exists in {directory}; remove it first (pgdr sandbox down).", directory);
        }

        var existed = System.IO.Directory.Exists(directory);
        if (existed && System.IO.Directory.EnumerateFileSystemEntries(directory).Any())
        {
            throw new PgDrException(ErrorIds.SandboxExists, PgDrErrorCategory.ResourceExists, $"{directory} is not empty; a sandbox needs a new or empty directory.", directory);
        }

        var binaries = await PostgresBinaries.LocateAsync(spec.BinDirectory, cancellationToken).ConfigureAwait(false);
        var runAs = OsUser.ForPostgres(spec.ServiceAccount);
        System.IO.Directory.CreateDirectory(directory);
        var state = new SandboxState
        {
            BinDirectory = binaries.Directory,
            PgMajorVersion = binaries.MajorVersion,
            ServiceAccount = runAs.Name,
            CreatedAt = DateTimeOffset.UtcNow,
            Tls = spec.Tls,
        };
        var builder = new Builder(directory, state, binaries, runAs, progress);
        try
        {
            await builder.BuildAsync(spec, cancellationToken).ConfigureAwait(false);
            return builder.Sandbox;
        }
        catch
        {
            // Nothing half-built stays behind: stop what started, then remove the directory (or empty it, if it was the caller's).
            await builder.TearDownAsync().ConfigureAwait(false);
            await DirectoryRemoval.RemoveAsync(directory, keepDirectory: existed).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Opens an existing sandbox from its directory.</summary>
    public static async Task<PgSandbox> OpenAsync(string directory, CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(directory);
        var state = SandboxState.Load(full);
        var binaries = await PostgresBinaries.LocateAsync(state.BinDirectory, cancellationToken).ConfigureAwait(false);
        var runAs = OsUser.ForPostgres(state.ServiceAccount);
        return new PgSandbox(full, state, binaries, runAs, ReadSuperuserPassword(full));
    }

    /// <summary>Every node's role, timeline, WAL positions and lag; a node that is down is reported, not thrown.</summary>
    public static async Task<IReadOnlyList<PgSandboxNodeStatus>> GetStatusAsync(PgSandbox sandbox, CancellationToken cancellationToken)
    {
        var nodes = new Dictionary<string, PgNode?>();
        var errors = new Dictionary<string, string>();
        foreach (var node in sandbox.Nodes)
        {
            try
            {
                nodes[node.Name] = await NodeInspector.GetNodeAsync(node.Instance, cancellationToken).ConfigureAwait(false);
            }
            catch (PgDrException ex)
            {
                nodes[node.Name] = null;
                errors[node.Name] = ex.Message;
            }
        }

        // Each running sender is asked once for its downstream standbys.
        var lagBySender = new Dictionary<string, IReadOnlyList<PgReplicationLag>>();
        foreach (var node in sandbox.Nodes.Where(n => nodes[n.Name] is not null))
        {
            try
            {
                lagBySender[node.Name] = await ReplicationLagService.GetLagAsync(node.Instance, new LagThresholds(), cancellationToken).ConfigureAwait(false);
            }
            catch (PgDrException)
            {
                lagBySender[node.Name] = [];
            }
        }

        var result = new List<PgSandboxNodeStatus>();
        foreach (var node in sandbox.Nodes)
        {
            var seen = nodes[node.Name];
            var upstream = seen?.Upstream is { } up ? sandbox.Nodes.FirstOrDefault(n => n.Instance.Name == up)?.Name ?? up : null;
            PgReplicationLag? lag = null;
            if (seen?.Role == PgNodeRole.Standby)
            {
                var sender = upstream ?? node.UpstreamName;
                if (sender is not null && lagBySender.TryGetValue(sender, out var lags))
                {
                    lag = lags.FirstOrDefault(l => l.Source == LagSource.Sender && (l.StandbyName == node.Name || (node.SlotName is not null && l.SlotName == node.SlotName)));
                }
            }

            result.Add(new PgSandboxNodeStatus
            {
                Name = node.Name,
                Instance = node.Instance,
                Running = seen is not null,
                Role = seen?.Role,
                Timeline = seen?.Timeline,
                CurrentLsn = seen?.CurrentLsn,
                ReceiveLsn = seen?.ReceiveLsn,
                ReplayLsn = seen?.ReplayLsn,
                Upstream = upstream,
                Lag = lag,
                Error = errors.GetValueOrDefault(node.Name),
            });
        }

        return result;
    }

    /// <summary>Stops every node and deletes the sandbox directory. Refuses a directory that holds no sandbox.</summary>
    public static async Task RemoveAsync(string directory, IProgress<PgDrProgress>? progress, CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(directory);
        var state = SandboxState.Load(full);
        PostgresBinaries? binaries = null;
        try
        {
            binaries = await PostgresBinaries.LocateAsync(state.BinDirectory, cancellationToken).ConfigureAwait(false);
        }
        catch (PgDrException)
        {
            // The programs are gone; servers cannot be running from them either. Delete the files.
        }

        if (binaries is not null)
        {
            var runAs = OsUser.ForPostgres(state.ServiceAccount);
            foreach (var node in Enumerable.Reverse(state.Nodes))
            {
                progress?.Report(new PgDrProgress("Removing sandbox", $"stopping {node.Name}"));
                await new LocalCluster(binaries, Path.Combine(full, node.DataDirectory), runAs).ForceStopAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        progress?.Report(new PgDrProgress("Removing sandbox", $"deleting {full}"));
        await DirectoryRemoval.RemoveAsync(full).ConfigureAwait(false);
    }

    private static string ReadSuperuserPassword(string directory)
    {
        var path = Path.Combine(directory, SandboxState.PasswordFileName);
        foreach (var line in File.ReadLines(path))
        {
            var fields = line.Split(':');
            if (fields.Length == 5 && fields[3] == PgSandbox.Superuser && fields[2] == "*")
            {
                return fields[4];
            }
        }

        throw new PgDrException(ErrorIds.SandboxNotFound, PgDrErrorCategory.InvalidData, $"{path} holds no password for {PgSandbox.Superuser}.", directory);
    }

    /// <summary>A file only its owner may read (a password file, a TLS key): created 0600, never readable by others even for a moment.</summary>
    internal static void WritePrivateFile(string path, string content)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(path, options))
        {
            stream.Write(Encoding.UTF8.GetBytes(content));
        }
    }

    /// <summary>The steps of one CreateAsync, with what they started remembered for the clean-up.</summary>
    private sealed class Builder(string directory, SandboxState state, PostgresBinaries binaries, OsUser runAs, IProgress<PgDrProgress>? progress)
    {
        private readonly List<LocalCluster> _started = [];
        private readonly HashSet<int> _usedPorts = [];
        private readonly string _superuserPassword = NewPassword();
        private readonly string _replicationPassword = NewPassword();
        private int _step;
        private int _steps;

        public PgSandbox Sandbox => new(directory, state, binaries, runAs, _superuserPassword);

        private string PasswordFile => Path.Combine(directory, SandboxState.PasswordFileName);

        public async Task BuildAsync(SandboxSpec spec, CancellationToken cancellationToken)
        {
            _steps = 2 + spec.Standbys + (spec.Cascading ? 1 : 0);
            WritePrivateFile(PasswordFile,
                $"127.0.0.1:*:*:{PgSandbox.Superuser}:{_superuserPassword}\n127.0.0.1:*:replication:{PgSandbox.ReplicationUser}:{_replicationPassword}\n127.0.0.1:*:*:{PgSandbox.ReplicationUser}:{_replicationPassword}\n");
            await runAs.TakeOwnershipAsync(directory, cancellationToken).ConfigureAwait(false);
            if (!await runAs.CanWriteAsync(directory, cancellationToken).ConfigureAwait(false))
            {
                throw new PgDrException(
                    ErrorIds.SandboxDirectoryNotAccessible,
                    PgDrErrorCategory.PermissionDenied,
                    $"The OS account '{runAs.Name}' that runs PostgreSQL cannot reach {directory} (a parent directory is closed to it); choose a directory under {Path.GetTempPath()} or /var/lib.",
                    directory);
            }

            await WriteConfigurationAsync(cancellationToken).ConfigureAwait(false);
            var primaryName = RegionName(0);
            await CreatePrimaryAsync(primaryName, cancellationToken).ConfigureAwait(false);
            for (var i = 1; i <= spec.Standbys; i++)
            {
                await CreateStandbyAsync(RegionName(i), primaryName, cancellationToken).ConfigureAwait(false);
            }

            if (spec.Cascading)
            {
                var upstream = RegionName(1);
                await CreateStandbyAsync(upstream + "2", upstream, cancellationToken).ConfigureAwait(false);
            }

            Report("waiting for every standby to stream");
            var sandbox = Sandbox;
            foreach (var node in sandbox.Nodes.Where(n => n.UpstreamName is not null))
            {
                var upstream = sandbox.Node(node.UpstreamName!).Instance;
                await Wait.UntilAsync(
                    async ct => (await ReplicationLagService.GetLagAsync(upstream, new LagThresholds(), ct).ConfigureAwait(false))
                        .Any(l => l.StandbyName == node.Name && l.State == "streaming"),
                    TimeSpan.FromSeconds(60),
                    $"{node.Name} to stream from {node.UpstreamName}",
                    cancellationToken).ConfigureAwait(false);
            }

            state.Complete = true;
            state.Save(directory);
        }

        /// <summary>
        /// pgdr.json and its filesystem repository, owned by the servers' account: the lease failover takes lives there,
        /// and archiving can be pointed at it (Set-PgWalArchiving -ConfigPath).
        /// </summary>
        private async Task WriteConfigurationAsync(CancellationToken cancellationToken)
        {
            var repository = Path.Combine(directory, SandboxState.RepositoryDirectoryName);
            System.IO.Directory.CreateDirectory(repository);
            var json = System.Text.Json.Nodes.JsonValue.Create(repository)!.ToJsonString();
            File.WriteAllText(
                Path.Combine(directory, SandboxState.ConfigFileName),
                $$"""{ "stanza": "sandbox", "repositories": [ { "name": "sandbox", "type": "filesystem", "path": {{json}} } ], "compression": "zstd" }""" + "\n");
            await runAs.TakeOwnershipAsync(repository, cancellationToken).ConfigureAwait(false);
        }

        public async Task TearDownAsync()
        {
            foreach (var cluster in Enumerable.Reverse(_started))
            {
                try
                {
                    await cluster.ForceStopAsync(CancellationToken.None).ConfigureAwait(false);
                }
                catch (PgDrException)
                {
                    // Keep stopping the others; the directory removal follows regardless.
                }
            }
        }

        private async Task CreatePrimaryAsync(string name, CancellationToken cancellationToken)
        {
            Report($"initdb {name}");
            var dataDirectory = Path.Combine(directory, name);
            var passwordFile = Path.Combine(directory, ".initdb-password");
            WritePrivateFile(passwordFile, _superuserPassword + "\n");
            await runAs.TakeOwnershipAsync(passwordFile, cancellationToken).ConfigureAwait(false);
            try
            {
                await ProcessRunner.RunCheckedAsync(
                    binaries.Tool("initdb"),
                    ["-D", dataDirectory, "-U", PgSandbox.Superuser, "--pwfile", passwordFile, "--auth-host=scram-sha-256", "--auth-local=scram-sha-256",
                     "-E", "UTF8", "--locale=C", "--no-sync"],
                    cancellationToken,
                    runAs,
                    workingDirectory: directory).ConfigureAwait(false);
            }
            finally
            {
                File.Delete(passwordFile);
            }

            AppendSettings(dataDirectory, new Dictionary<string, string>
            {
                ["listen_addresses"] = "'127.0.0.1'",
                ["unix_socket_directories"] = "''",
                ["wal_level"] = "replica",
                ["max_wal_senders"] = "10",
                ["max_replication_slots"] = "10",
                ["hot_standby"] = "on",
                // pg_rewind needs hint bits in WAL to turn a failed primary back into a standby (rejoin), and the
                // node's WAL back to the last checkpoint before the fork: without an archive (restore_command) to fetch
                // it from, the checkpoints of a rejoined node would otherwise have recycled it.
                ["wal_log_hints"] = "on",
                ["wal_keep_size"] = "'256MB'",
                // Standbys report their positions every second, so lag is fresh when asked for.
                ["wal_receiver_status_interval"] = "1s",
                ["shared_buffers"] = "32MB",
                ["max_connections"] = "50",
                ["logging_collector"] = "off",
            });
            if (state.Tls)
            {
                await EnableTlsAsync(dataDirectory, cancellationToken).ConfigureAwait(false);
            }

            await StartPrimaryOnFreePortAsync(name, dataDirectory, cancellationToken).ConfigureAwait(false);

            var instance = Sandbox.Node(name).Instance;
            await PgConnector.RunAsync(instance, async conn =>
            {
                // CREATE ROLE takes no parameters; the password is generated from [A-Za-z0-9_-] only, so it needs no escaping.
                using var cmd = new NpgsqlCommand($"CREATE ROLE {PgSandbox.ReplicationUser} WITH LOGIN REPLICATION PASSWORD '{_replicationPassword}'", conn);
                await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);

                // Lets a failover count the transactions it loses, from the old primary's WAL (docs/failover.md).
                using var walinspect = new NpgsqlCommand("CREATE EXTENSION IF NOT EXISTS pg_walinspect", conn);
                return await walinspect.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
        }

        /// <summary>
        /// Builds a standby with New-PgStandby's engine, the path users take: its own slot on the upstream, the sandbox's
        /// password file in primary_conninfo, on a free port. A port taken between the probe and the start fails the
        /// start; the engine then takes back everything and the standby is built again on another port.
        /// </summary>
        private async Task CreateStandbyAsync(string name, string upstreamName, CancellationToken cancellationToken)
        {
            Report($"pg_basebackup {name} from {upstreamName}");
            var upstream = Sandbox.Node(upstreamName);
            var slotName = ReplicationSlotName.FromNodeName(name);
            var dataDirectory = Path.Combine(directory, name);
            for (var attempt = 1; ; attempt++)
            {
                var port = FreePort();
                state.Nodes.RemoveAll(n => n.Name == name);
                state.Nodes.Add(new SandboxNodeState { Name = name, Port = port, DataDirectory = name, UpstreamName = upstreamName, SlotName = slotName });
                state.Save(directory);
                try
                {
                    await StandbyService.CreateAsync(
                        new StandbyRequest
                        {
                            Upstream = upstream.Instance,
                            DataDirectory = dataDirectory,
                            Name = name,
                            SlotName = slotName,
                            CreateSlot = true,
                            ReplicationUser = PgSandbox.ReplicationUser,
                            PasswordFile = PasswordFile,
                            Port = port,
                            Service = new PgServiceSpec { Kind = PgServiceKind.PgCtl, BinDirectory = binaries.Directory, ServiceAccount = runAs.Name },
                            SkipSync = true,
                        },
                        progress is null ? null : new NestedProgress(progress, step => new PgDrProgress(Activity, $"{name}: {step.Status}", Percent)),
                        cancellationToken).ConfigureAwait(false);
                    _started.Add(new LocalCluster(binaries, dataDirectory, runAs));
                    return;
                }
                catch (PgDrException ex) when (IsPortTaken(ex) && attempt < 3)
                {
                    // Most likely "could not bind": the port was taken between our probe and the start.
                }
            }
        }

        /// <summary>
        /// The sandbox CA and the server certificate every node serves (standbys copy these settings with the primary's
        /// postgresql.conf), TLS 1.2 at least, the CA for client certificates, and pg_hba.conf's host rules turned into
        /// hostssl rules, so a connection without TLS is refused rather than sent in plain text.
        /// </summary>
        private async Task EnableTlsAsync(string dataDirectory, CancellationToken cancellationToken)
        {
            var tls = Path.Combine(directory, SandboxTls.DirectoryName);
            SandboxTls.CreateAuthority(tls);
            await runAs.TakeOwnershipAsync(tls, cancellationToken).ConfigureAwait(false);
            AppendSettings(dataDirectory, new Dictionary<string, string>
            {
                ["ssl"] = "on",
                ["ssl_cert_file"] = PostgresAutoConf.Quote(Path.Combine(tls, SandboxTls.ServerCertificateFile)),
                ["ssl_key_file"] = PostgresAutoConf.Quote(Path.Combine(tls, SandboxTls.ServerKeyFile)),
                ["ssl_ca_file"] = PostgresAutoConf.Quote(Path.Combine(tls, SandboxTls.CaCertificateFile)),
                ["ssl_min_protocol_version"] = "'TLSv1.2'",
            });
            var hba = Path.Combine(dataDirectory, "pg_hba.conf");
            var lines = File.ReadAllLines(hba).Select(l => l.StartsWith("host ", StringComparison.Ordinal) ? "hostssl " + l[5..] : l);
            File.WriteAllLines(hba, lines);
        }

        /// <summary>Picks a free loopback port and starts the primary; another process may take the port first, so a failed start is tried on a new one.</summary>
        private async Task StartPrimaryOnFreePortAsync(string name, string dataDirectory, CancellationToken cancellationToken)
        {
            var cluster = new LocalCluster(binaries, dataDirectory, runAs);
            for (var attempt = 1; ; attempt++)
            {
                var port = FreePort();
                AppendSettings(dataDirectory, new Dictionary<string, string> { ["port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture), ["cluster_name"] = PostgresAutoConf.Quote(name) });
                state.Nodes.RemoveAll(n => n.Name == name);
                state.Nodes.Add(new SandboxNodeState { Name = name, Port = port, DataDirectory = name });
                state.Save(directory);
                try
                {
                    _started.Add(cluster);
                    await cluster.StartAsync(cancellationToken).ConfigureAwait(false);
                    return;
                }
                catch (PgDrException ex) when (IsPortTaken(ex) && attempt < 3)
                {
                    // Most likely "could not bind": the port was taken between our probe and the start.
                }
            }
        }

        private static bool IsPortTaken(PgDrException ex) =>
            ex.ErrorId == ErrorIds.ClusterStartFailed && ex.Message.Contains("could not", StringComparison.OrdinalIgnoreCase);

        private int FreePort()
        {
            while (true)
            {
                using var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                listener.Stop();
                if (_usedPorts.Add(port))
                {
                    return port;
                }
            }
        }

        private const string Activity = "Creating sandbox";

        private int Percent => Math.Min(99, 100 * _step / Math.Max(1, _steps));

        private void Report(string status)
        {
            progress?.Report(new PgDrProgress(Activity, status, Percent));
            _step++;
        }

        private static void AppendSettings(string dataDirectory, IDictionary<string, string> settings)
        {
            // Appended to postgresql.conf: later lines win, and ALTER SYSTEM (postgresql.auto.conf) still overrides them.
            var sb = new StringBuilder("\n# PgDr sandbox\n");
            foreach (var (key, value) in settings)
            {
                sb.Append(key).Append(" = ").Append(value).Append('\n');
            }

            File.AppendAllText(Path.Combine(dataDirectory, "postgresql.conf"), sb.ToString());
        }

        private static string NewPassword() =>
            Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_').TrimEnd('=');
    }
}
