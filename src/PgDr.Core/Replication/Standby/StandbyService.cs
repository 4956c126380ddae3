using System.Diagnostics;
using System.Globalization;
using Npgsql;
using PgDr.Archive.Configuration;
using PgDr.Archive.Server;
using PgDr.Connections;
using PgDr.Errors;
using PgDr.Hosting;
using PgDr.Hosting.Services;
using PgDr.Progress;
using PgDr.Topology;

namespace PgDr.Replication.Standby;

/// <summary>
/// Builds a standby on this host (New-PgStandby, pgdr standby create): checks everything it can before changing
/// anything, then slot, base backup, settings, start, and waits until the standby streams. A failure at any step
/// takes back what this call did (the slot it created, the files it wrote, the server it started) and nothing else.
/// </summary>
public static class StandbyService
{
    /// <summary>What <see cref="CreateAsync"/> would do, found by the same checks; changes nothing (-WhatIf).</summary>
    public static async Task<PgStandbyPlan> PlanAsync(StandbyRequest request, CancellationToken cancellationToken) =>
        (await PrepareAsync(request, cancellationToken).ConfigureAwait(false)).Plan;

    public static async Task<PgStandby> CreateAsync(StandbyRequest request, IProgress<PgDrProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var activity = $"Creating standby {request.Name}";
        var steps = new List<PgStandbyStep>();
        var clock = Stopwatch.StartNew();
        void Done(string step)
        {
            steps.Add(new PgStandbyStep(step, clock.Elapsed));
            clock.Restart();
        }

        void Report(string status, int percent = -1) => progress?.Report(new PgDrProgress(activity, status, percent));

        Report($"checking {request.Upstream} and {request.DataDirectory}");
        var prepared = await PrepareAsync(request, cancellationToken).ConfigureAwait(false);
        var plan = prepared.Plan;
        var directory = plan.DataDirectory;
        Done("checks");

        var undo = new UndoLog();
        try
        {
            if (plan.CreatesSlot)
            {
                Report($"creating slot {plan.SlotName} on {request.Upstream}");
                await ReplicationSlotService.CreatePhysicalSlotAsync(request.Upstream, plan.SlotName, allowStandby: true, cancellationToken).ConfigureAwait(false);
                undo.Add($"drop slot {plan.SlotName} on {request.Upstream}", ct => DropSlotWhenReleasedAsync(request.Upstream, plan.SlotName, ct));
                Done("slot");
            }

            string? setAside = null;
            if (plan.StopsRunningServer)
            {
                Report($"stopping the server in {directory}");
                await prepared.Service.StopAsync(StopMode.Fast, cancellationToken).ConfigureAwait(false);
                undo.Add($"start the server in {directory} again", prepared.Service.StartAsync);
            }

            if (plan.ExistingEntries.Count > 0)
            {
                setAside = SetAside(directory);
                undo.Add($"move {setAside} back to {directory}", _ =>
                {
                    Directory.Move(setAside, directory);
                    return Task.CompletedTask;
                });
            }

            // pg_basebackup reads the password from the same file the standby will (PGPASSFILE, then passfile=).
            if (plan.WritesPasswordFile)
            {
                var previous = File.Exists(plan.PasswordFile) ? await File.ReadAllTextAsync(plan.PasswordFile, cancellationToken).ConfigureAwait(false) : null;
                undo.Add($"restore {plan.PasswordFile}", ct => previous is null ? DeleteFileAsync(plan.PasswordFile!) : WritePrivateFileAsync(plan.PasswordFile!, previous, prepared.RunAs, ct));
                await WritePrivateFileAsync(plan.PasswordFile!, PgPassFile.WithReplicationEntry(previous, prepared.ReplicationUser, prepared.ReplicationPassword!), prepared.RunAs, cancellationToken).ConfigureAwait(false);
            }

            // pg_basebackup removes what it wrote when it fails, but not when it is killed (cancellation).
            var keepDirectory = prepared.DirectoryExisted && setAside is null;
            undo.Add($"remove the copy in {directory}", _ => keepDirectory
                ? DirectoryRemoval.RemoveAsync(directory, keepDirectory: true)
                : DirectoryRemoval.RemoveAsync(prepared.TopmostCreatedDirectory ?? directory));
            Report($"pg_basebackup from {request.Upstream}", 0);
            var copied = await BaseBackup.RunAsync(
                prepared.Binaries,
                prepared.RunAs,
                prepared.ConnInfo,
                plan.PasswordFile,
                directory,
                plan.SlotName,
                request.SkipSync,
                prepared.WorkingDirectory,
                (done, total) => Report($"copying from {request.Upstream}: {Bytes.Format(done)} of {Bytes.Format(total)}", total > 0 ? (int)Math.Min(99, 100 * done / total) : -1),
                cancellationToken).ConfigureAwait(false);
            Done("base backup");

            Report("writing the standby's settings");
            PostgresAutoConf.Write(directory, plan.Settings.ToDictionary(s => s.Key, s => (string?)s.Value));
            var signal = Path.Combine(directory, "standby.signal");
            await File.WriteAllTextAsync(signal, string.Empty, cancellationToken).ConfigureAwait(false);
            await prepared.RunAs.TakeOwnershipAsync(signal, cancellationToken).ConfigureAwait(false);
            Done("configure");

            Report($"starting it ({plan.Service})");
            undo.Add($"stop the new standby ({plan.Service})", ct => prepared.Service.StopAsync(StopMode.Immediate, ct));
            await prepared.Service.StartAsync(cancellationToken).ConfigureAwait(false);
            Done("start");

            Report($"waiting until it streams from {request.Upstream}");
            var instance = StandbyInstance(request.Upstream, directory, request.Port);
            var node = await WaitUntilStreamingAsync(instance, request.StreamingTimeout, cancellationToken).ConfigureAwait(false);
            Done("streaming");

            var warnings = new List<string>();
            if (setAside is not null)
            {
                try
                {
                    Directory.Delete(setAside, recursive: true);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    warnings.Add($"The replaced data directory was kept in {setAside}: {ex.Message}");
                }
            }

            return new PgStandby
            {
                Instance = instance,
                Name = request.Name,
                Node = node,
                Upstream = request.Upstream,
                SlotName = plan.SlotName,
                SlotCreated = plan.CreatesSlot,
                DataDirectory = directory,
                Service = plan.Service,
                CopiedBytes = copied,
                Settings = plan.Settings,
                Steps = steps,
                Warnings = warnings,
            };
        }
        catch (Exception ex)
        {
            Report("taking back what was done");
            var problems = await undo.RunAsync().ConfigureAwait(false);
            if (problems.Count > 0 && ex is PgDrException failure)
            {
                throw new PgDrException(failure.ErrorId, failure.Category, $"{failure.Message} Clean-up incomplete: {string.Join("; ", problems)}.", failure.Target, failure);
            }

            throw;
        }
    }

    /// <summary>Everything checked and worked out before the first change; <see cref="PlanAsync"/> stops here.</summary>
    private static async Task<Prepared> PrepareAsync(StandbyRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        Validate(request);
        var directory = Path.TrimEndingDirectorySeparator(Path.GetFullPath(request.DataDirectory));
        var slotName = ReplicationSlotName.Validate(request.SlotName ?? ReplicationSlotName.FromNodeName(request.Name));
        var replicationUser = request.ReplicationUser ?? request.Upstream.Username ?? Environment.GetEnvironmentVariable("PGUSER") ?? Environment.UserName;
        var replicationPassword = request.ReplicationPassword
            ?? (string.Equals(replicationUser, request.Upstream.Username, StringComparison.Ordinal) ? request.Upstream.Password : null);

        // The upstream, over SQL with its own credentials, then over the replication protocol as the standby will stream.
        var upstream = await NodeInspector.GetNodeAsync(request.Upstream, cancellationToken).ConfigureAwait(false);
        if (request.SystemIdentifier is { } expected && expected != upstream.SystemIdentifier)
        {
            throw OtherCluster(request.Upstream, upstream.SystemIdentifier, $"the expected system identifier {expected}");
        }

        var (upstreamDataDirectory, upstreamBytes) = await ReadUpstreamFactsAsync(request.Upstream, cancellationToken).ConfigureAwait(false);
        var runAs = OsUser.ForPostgres(request.Service.ServiceAccount);
        var passwordFile = await CheckPasswordFileAsync(request, directory, replicationPassword, runAs, cancellationToken).ConfigureAwait(false);
        var probe = await ReplicationProbe.RunAsync(request.Upstream, replicationUser, replicationPassword, replicationPassword is null ? passwordFile : null, cancellationToken).ConfigureAwait(false);

        var major = upstream.ServerVersionNumber / 10000;
        var binaries = await PostgresBinaries.LocateAsync(request.Service.BinDirectory, major, cancellationToken).ConfigureAwait(false);
        var service = await PostgresServices.ForDataDirectoryAsync(directory, request.Service, major, cancellationToken).ConfigureAwait(false);

        // The data directory: new, empty, or (with -Force) replaceable; never the upstream's own, never another cluster's.
        var existed = Directory.Exists(directory);
        var entries = existed ? Directory.EnumerateFileSystemEntries(directory).Select(e => Path.GetFileName(e)).Order(StringComparer.Ordinal).ToList() : [];
        if (entries.Count > 0)
        {
            if (upstreamDataDirectory is not null && SamePath(upstreamDataDirectory, directory)
                && await PostgresServices.IsThisHostAsync(request.Upstream.Host, cancellationToken).ConfigureAwait(false))
            {
                throw new PgDrInvalidOperationException(ErrorIds.DataDirectoryIsUpstream, $"{directory} is the data directory of the upstream {request.Upstream} itself.", directory);
            }

            if (!request.Force)
            {
                throw new PgDrException(
                    ErrorIds.DataDirectoryNotEmpty,
                    PgDrErrorCategory.ResourceExists,
                    $"{directory} is not empty: it holds {Describe(entries)}{(entries.Contains("PG_VERSION") ? " (a PostgreSQL data directory)" : string.Empty)}; choose an empty directory, or -Force to replace it.",
                    directory);
            }

            if (ReadSystemIdentifier(directory) is { } existing && existing != upstream.SystemIdentifier)
            {
                throw OtherCluster(request.Upstream, upstream.SystemIdentifier, $"the cluster in {directory} ({existing}), which -Force would replace; remove that directory yourself if that is meant");
            }
        }

        var topmostCreated = existed ? null : TopmostMissing(directory);
        var workingDirectory = await CheckDirectoryAccessAsync(directory, existed, runAs, cancellationToken).ConfigureAwait(false);
        var stopsRunningServer = entries.Count > 0 && await service.IsRunningAsync(cancellationToken).ConfigureAwait(false);
        var createsSlot = await CheckSlotAsync(request, slotName, stopsRunningServer, cancellationToken).ConfigureAwait(false);
        var restoreCommand = await RestoreCommandAsync(request, runAs, cancellationToken).ConfigureAwait(false);
        if (request.Upstream.RootCertificate is { } rootCertificate && !await runAs.HasAccessAsync(rootCertificate, ["-r"], cancellationToken).ConfigureAwait(false))
        {
            // pg_basebackup and the WAL receiver verify the upstream with it, as the service account.
            throw AccessDenied(runAs, rootCertificate, "read the root certificate that verifies the upstream (sslrootcert)");
        }

        foreach (var (file, what) in new[] { (request.Upstream.ClientCertificate, "client certificate (sslcert)"), (request.Upstream.ClientKey, "client certificate's key (sslkey)") })
        {
            // The WAL receiver presents them as the service account; libpq also wants the key to be that account's own, 0600.
            if (file is not null && !await runAs.HasAccessAsync(file, ["-r"], cancellationToken).ConfigureAwait(false))
            {
                throw AccessDenied(runAs, file, $"read the {what} the standby logs in to the upstream with");
            }
        }


        var conninfo = PrimaryConnInfo.Build(request.Upstream.WithCredential(replicationUser, null), replicationUser, passwordFile, request.Name);
        var settings = new Dictionary<string, string>
        {
            ["primary_conninfo"] = conninfo.ToString(),
            ["primary_slot_name"] = slotName,
            ["hot_standby"] = "on",
            ["cluster_name"] = request.Name,
        };

        // pg_rewind, which turns a failed primary back into a standby, needs data checksums or hint bits in WAL.
        if (!probe.DataChecksums)
        {
            settings["wal_log_hints"] = "on";
        }

        if (restoreCommand is not null)
        {
            settings["restore_command"] = restoreCommand;
        }

        if (request.Port is { } port)
        {
            settings["port"] = port.ToString(CultureInfo.InvariantCulture);
        }

        var plan = new PgStandbyPlan
        {
            Upstream = upstream,
            DataDirectory = directory,
            SlotName = slotName,
            CreatesSlot = createsSlot,
            ExistingEntries = entries.Count == 0 ? [] : entries.Take(5).Append(entries.Count > 5 ? $"... {entries.Count} entries" : null).OfType<string>().ToList(),
            StopsRunningServer = stopsRunningServer,
            Service = service.Description,
            PasswordFile = passwordFile,
            WritesPasswordFile = replicationPassword is not null,
            UpstreamBytes = upstreamBytes,
            Settings = settings,
        };
        return new Prepared(plan, binaries, runAs, service, conninfo, replicationUser, replicationPassword, existed, topmostCreated, workingDirectory);
    }

    private static void Validate(StandbyRequest request)
    {
        ArgumentNullException.ThrowIfNull(request.Upstream);
        string? problem = null;
        if (string.IsNullOrWhiteSpace(request.Name) || request.Name.Length > 63 || request.Name.Any(char.IsControl))
        {
            problem = $"the name '{request.Name}' must be 1 to 63 printable characters (it becomes application_name and cluster_name)";
        }
        else if (string.IsNullOrWhiteSpace(request.DataDirectory))
        {
            problem = "a data directory is needed";
        }
        else if (request.Port is < 1 or > 65535)
        {
            problem = $"the port {request.Port} is not between 1 and 65535";
        }
        else if (request.StreamingTimeout <= TimeSpan.Zero)
        {
            problem = "the streaming timeout must be positive";
        }
        else if (request.PgDrPath is not null && request.ConfigPath is null)
        {
            problem = "a pgdr path only matters with a configuration file (restore_command)";
        }

        if (problem is not null)
        {
            throw new PgDrArgumentException(ErrorIds.InvalidStandbyRequest, $"Cannot create {request}: {problem}.", request.Name);
        }
    }

    /// <summary>The upstream's data_directory (superusers and pg_read_all_settings only) and the size of its databases, where readable.</summary>
    private static Task<(string? DataDirectory, long? Bytes)> ReadUpstreamFactsAsync(PgInstance upstream, CancellationToken cancellationToken) =>
        PgConnector.RunAsync(upstream, async conn =>
        {
            using var cmd = new NpgsqlCommand(
                """
                SELECT CASE WHEN pg_has_role('pg_read_all_settings', 'MEMBER') THEN current_setting('data_directory') END,
                       (SELECT sum(pg_database_size(oid)) FROM pg_database WHERE datallowconn AND has_database_privilege(oid, 'CONNECT'))::bigint
                """,
                conn);
            using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            return (reader.IsDBNull(0) ? null : reader.GetString(0), reader.IsDBNull(1) ? (long?)null : reader.GetInt64(1));
        }, cancellationToken);

    /// <summary>
    /// Where the replication password goes (a password was given) or is read from (an existing file was named); null
    /// when neither (certificates, trust, or the service account's own ~/.pgpass).
    /// </summary>
    private static async Task<string?> CheckPasswordFileAsync(StandbyRequest request, string directory, string? password, OsUser runAs, CancellationToken cancellationToken)
    {
        if (password is not null)
        {
            return Path.GetFullPath(request.PasswordFile ?? directory + ".pgpass");
        }

        if (request.PasswordFile is null)
        {
            return null;
        }

        var path = Path.GetFullPath(request.PasswordFile);
        if (!File.Exists(path))
        {
            throw new PgDrNotFoundException(ErrorIds.PasswordFileNotFound, $"There is no password file {path}; give the replication password instead and PgDr writes one.", path);
        }

        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & (UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute)) != 0)
        {
            // libpq ignores such a file, so the standby would not authenticate.
            throw new PgDrException(ErrorIds.PasswordFileInsecure, PgDrErrorCategory.SecurityError, $"{path} can be read by others; libpq ignores a password file unless it is 0600 (chmod 600 {path}).", path);
        }

        if (!await runAs.HasAccessAsync(path, ["-r"], cancellationToken).ConfigureAwait(false))
        {
            throw AccessDenied(runAs, path, "read the password file");
        }

        return path;
    }

    /// <summary>
    /// The service account creates the data directory (pg_basebackup runs as it) and pg_ctl writes its log and PgDr the
    /// password file beside it, so it needs to write there. Returns the directory the tools start in.
    /// </summary>
    private static async Task<string> CheckDirectoryAccessAsync(string directory, bool exists, OsUser runAs, CancellationToken cancellationToken)
    {
        var parent = Path.GetDirectoryName(directory) ?? directory;
        while (!Directory.Exists(parent) && Path.GetDirectoryName(parent) is { } up)
        {
            parent = up;
        }

        foreach (var path in exists ? [directory, parent] : new[] { parent })
        {
            if (!await runAs.HasAccessAsync(path, ["-w", "-x"], cancellationToken).ConfigureAwait(false))
            {
                throw new PgDrException(
                    ErrorIds.DataDirectoryNotWritable,
                    PgDrErrorCategory.PermissionDenied,
                    $"The OS account '{runAs.Name}' that runs PostgreSQL cannot write {path} (it creates {directory}, and the server log and password file go beside it); give it to that account (chown {runAs.Name} {path}) or choose another directory.",
                    path);
            }
        }

        return parent;
    }

    /// <summary>Whether this call creates the slot; refuses a slot that exists when asked to create it, or one missing or in use otherwise.</summary>
    private static async Task<bool> CheckSlotAsync(StandbyRequest request, string slotName, bool stopsRunningServer, CancellationToken cancellationToken)
    {
        PgReplicationSlot? slot;
        try
        {
            slot = (await ReplicationSlotService.GetSlotsAsync(request.Upstream, [slotName], cancellationToken).ConfigureAwait(false)).Single();
        }
        catch (PgDrNotFoundException ex) when (ex.ErrorId == ErrorIds.ReplicationSlotNotFound)
        {
            slot = null;
        }

        if (request.CreateSlot && slot is not null)
        {
            throw new PgDrException(ErrorIds.ReplicationSlotExists, PgDrErrorCategory.ResourceExists, $"Replication slot '{slotName}' already exists on {request.Upstream}; use it (without -CreateSlot) or name another.", slotName);
        }

        if (!request.CreateSlot && slot is null)
        {
            throw new PgDrNotFoundException(ErrorIds.ReplicationSlotNotFound, $"There is no replication slot '{slotName}' on {request.Upstream}; -CreateSlot creates it.", slotName);
        }

        // A slot in use belongs to a running standby; the one exception is the server this call replaces (-Force), whose
        // slot is released when it stops. If another standby holds it, pg_basebackup says so and everything is undone.
        if (slot is { Active: true } && !stopsRunningServer)
        {
            throw new PgDrException(ErrorIds.ReplicationSlotActive, PgDrErrorCategory.ResourceBusy, $"Replication slot '{slotName}' on {request.Upstream} is in use by another standby (pid {slot.ActivePid}).", slotName);
        }

        return request.CreateSlot;
    }

    /// <summary>restore_command = pgdr wal fetch, when a configuration is named; the service account must be able to run pgdr and read the file.</summary>
    private static async Task<string?> RestoreCommandAsync(StandbyRequest request, OsUser runAs, CancellationToken cancellationToken)
    {
        if (request.ConfigPath is null)
        {
            return null;
        }

        // The same pgdr Set-PgWalArchiving would pick, checked to be runnable by the service account.
        var pgdr = await PgDrExecutable.LocateAsync(request.PgDrPath, runAs, cancellationToken).ConfigureAwait(false);
        var config = Path.GetFullPath(request.ConfigPath);
        PgDrConfig.Load(config);
        if (!await runAs.HasAccessAsync(config, ["-r"], cancellationToken).ConfigureAwait(false))
        {
            throw AccessDenied(runAs, config, "read the PgDr configuration (restore_command)");
        }

        return WalArchivingService.RestoreCommand(pgdr, config);
    }

    /// <summary>How to reach the new standby: the address and port its postmaster.pid names, with the upstream's credentials.</summary>
    private static PgInstance StandbyInstance(PgInstance upstream, string directory, int? port)
    {
        try
        {
            // postmaster.pid: line 4 the port, 5 the socket directory, 6 the first listen address ("*" for all).
            var lines = File.ReadLines(Path.Combine(directory, "postmaster.pid")).Take(6).ToList();
            if (lines.Count == 6 && int.TryParse(lines[3], NumberStyles.None, CultureInfo.InvariantCulture, out var listening))
            {
                var host = lines[5].Trim() switch
                {
                    "" => lines[4].Trim(),
                    "*" or "0.0.0.0" => "127.0.0.1",
                    "::" => "::1",
                    var address => address,
                };
                return upstream.WithAddress(host, listening);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Fall back to what was asked.
        }

        return upstream.WithAddress("127.0.0.1", port ?? PgInstance.DefaultPort);
    }

    private static async Task<PgNode> WaitUntilStreamingAsync(PgInstance standby, TimeSpan timeout, CancellationToken cancellationToken)
    {
        PgNode? node = null;
        try
        {
            await Wait.UntilAsync(
                async ct => (node = await NodeInspector.GetNodeAsync(standby, ct).ConfigureAwait(false)).ReceiverStatus == "streaming",
                timeout,
                $"{standby} to stream",
                cancellationToken).ConfigureAwait(false);
        }
        catch (PgDrException ex) when (ex.ErrorId == ErrorIds.Timeout)
        {
            throw new PgDrException(
                ErrorIds.StandbyNotStreaming,
                PgDrErrorCategory.OperationTimeout,
                $"The new standby {standby} did not stream within {timeout.TotalSeconds:0} s (its WAL receiver is {node?.ReceiverStatus ?? "not running"}); see its server log.",
                standby,
                ex);
        }

        return node!;
    }

    /// <summary>Drops a slot this call created; the stopped standby's walsender may hold it for a moment.</summary>
    private static Task DropSlotWhenReleasedAsync(PgInstance upstream, string slotName, CancellationToken cancellationToken) =>
        Wait.UntilAsync(
            async ct =>
            {
                try
                {
                    await ReplicationSlotService.DropSlotAsync(upstream, slotName, ct).ConfigureAwait(false);
                    return true;
                }
                catch (PgDrException ex) when (ex.ErrorId == ErrorIds.ReplicationSlotActive)
                {
                    return false;
                }
                catch (PgDrNotFoundException)
                {
                    return true;
                }
            },
            TimeSpan.FromSeconds(30),
            $"slot {slotName} to be released",
            cancellationToken);

    /// <summary>Renames a directory that -Force replaces, so a failure can put it back; it is deleted only once the new standby streams.</summary>
    private static string SetAside(string directory)
    {
        var aside = $"{directory}.pgdr-replaced-{DateTime.UtcNow:yyyyMMdd'T'HHmmss'Z'}";
        try
        {
            Directory.Move(directory, aside);
            return aside;
        }
        catch (IOException ex)
        {
            throw new PgDrException(
                ErrorIds.DataDirectoryNotEmpty,
                PgDrErrorCategory.ResourceExists,
                $"{directory} cannot be set aside to be replaced ({ex.Message}); a mount point cannot be renamed: empty it yourself first.",
                directory,
                ex);
        }
    }

    /// <summary>The highest directory on the way to <paramref name="directory"/> that does not exist yet: what pg_basebackup creates.</summary>
    private static string TopmostMissing(string directory)
    {
        var topmost = directory;
        while (Path.GetDirectoryName(topmost) is { } parent && !Directory.Exists(parent))
        {
            topmost = parent;
        }

        return topmost;
    }

    /// <summary>The system identifier in global/pg_control (its first 8 bytes); null when there is none or it cannot be read.</summary>
    private static ulong? ReadSystemIdentifier(string directory)
    {
        try
        {
            var bytes = new byte[8];
            using var control = File.OpenRead(Path.Combine(directory, "global", "pg_control"));
            return control.Read(bytes) == 8 ? BitConverter.ToUInt64(bytes) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Written aside, handed to the service account and renamed into place: readers see the old file or the new one.</summary>
    private static async Task WritePrivateFileAsync(string path, string content, OsUser owner, CancellationToken cancellationToken)
    {
        var temporary = path + ".pgdr-tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        var stream = new FileStream(temporary, options);
        await using (stream.ConfigureAwait(false))
        {
            await stream.WriteAsync(System.Text.Encoding.UTF8.GetBytes(content), cancellationToken).ConfigureAwait(false);
            stream.Flush(flushToDisk: true);
        }

        await owner.TakeOwnershipAsync(temporary, cancellationToken).ConfigureAwait(false);
        File.Move(temporary, path, overwrite: true);
    }

    private static Task DeleteFileAsync(string path)
    {
        File.Delete(path);
        return Task.CompletedTask;
    }

    private static string Describe(List<string> entries) =>
        string.Join(", ", entries.Take(5)) + (entries.Count > 5 ? $" and {entries.Count - 5} more" : string.Empty);

    private static bool SamePath(string a, string b) =>
        string.Equals(Path.TrimEndingDirectorySeparator(Path.GetFullPath(a)), Path.TrimEndingDirectorySeparator(Path.GetFullPath(b)), StringComparison.Ordinal);

    private static PgDrInvalidOperationException OtherCluster(PgInstance upstream, ulong actual, string expected) =>
        new PgDrInvalidOperationException(
            ErrorIds.SystemIdentifierMismatch,
            $"{upstream} belongs to another cluster: its system identifier {actual} is not that of {expected}.",
            upstream);

    private static PgDrException AccessDenied(OsUser runAs, string path, string what) =>
        new(ErrorIds.ServiceAccountAccessDenied, PgDrErrorCategory.PermissionDenied, $"The OS account '{runAs.Name}' that runs PostgreSQL cannot {what}: {path}.", path);

    private sealed record Prepared(
        PgStandbyPlan Plan,
        PostgresBinaries Binaries,
        OsUser RunAs,
        IPostgresService Service,
        ConnInfo ConnInfo,
        string ReplicationUser,
        string? ReplicationPassword,
        bool DirectoryExisted,
        string? TopmostCreatedDirectory,
        string WorkingDirectory);
}
