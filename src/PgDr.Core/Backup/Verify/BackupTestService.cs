using System.Diagnostics;
using System.Globalization;
using Npgsql;
using PgDr.Archive.Configuration;
using PgDr.Archive.Repositories;
using PgDr.Archive.Transfer;
using PgDr.Archive.Wal;
using PgDr.Backup.Catalog;
using PgDr.Backup.Restore;
using PgDr.Connections;
using PgDr.Errors;
using PgDr.Hosting;
using PgDr.Progress;

namespace PgDr.Backup.Verify;

/// <summary>
/// Test-PgBackup, pgdr backup test: proves a backup by restoring it. Into a scratch directory: restore (every object
/// verified), pg_verifybackup over the restored files with the checksums taken at backup time and the WAL range,
/// start on a private socket as the postgres account, replay to consistency or a target and promote, then pg_amcheck,
/// row counts and the caller's queries. Each step's result and time is reported; the scratch cluster is stopped and
/// removed whatever happened. A failed step that leaves nothing sound to build on ends the test (a damaged object
/// means nothing is started).
/// </summary>
public static class BackupTestService
{
    private const string Activity = "Testing a backup";

    public static async Task<IReadOnlyList<PgBackupTest>> TestAsync(
        PgDrConfig config, BackupTestRequest request, IProgress<PgDrProgress>? progress, CancellationToken cancellationToken, Func<RepositoryConfig, IArchiveRepository>? repositoryFactory = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(request);
        request.Validate();
        var backups = await BackupCatalog.ListAsync(config, request.Repository, cancellationToken, repositoryFactory).ConfigureAwait(false);
        var repository = request.Repository ?? (backups.Count > 0 ? backups[0].Repository : null);
        var candidates = backups.Where(b => b.Repository == repository).ToList();
        List<PgBackup> chosen = request.Label is { } label
            ? [candidates.FirstOrDefault(b => b.Label == BackupLabel.Validate(label)) ?? throw new PgDrNotFoundException(ErrorIds.BackupNotFound, $"Repository '{repository}' holds no complete backup '{label}'.", label)]
            : request.Since is { } since
                ? [.. candidates.Where(b => b.StopTime >= since)]
                : candidates.Count > 0 ? [candidates[^1]] : [];
        if (chosen.Count == 0)
        {
            throw new PgDrNotFoundException(ErrorIds.BackupNotFound, $"No backup of stanza '{config.Stanza}' to test{(request.Since is null ? string.Empty : " since " + request.Since.Value.ToString("u", CultureInfo.InvariantCulture))}.", config.Stanza);
        }

        var results = new List<PgBackupTest>();
        foreach (var backup in chosen)
        {
            results.Add(await new TestRun(config, request, backup, progress, repositoryFactory).RunAsync(cancellationToken).ConfigureAwait(false));
        }

        return results;
    }

    private sealed class TestRun(PgDrConfig config, BackupTestRequest request, PgBackup backup, IProgress<PgDrProgress>? progress, Func<RepositoryConfig, IArchiveRepository>? repositoryFactory)
    {
        private readonly List<PgBackupTestStep> _steps = [];
        private readonly Dictionary<string, long?> _rowCounts = new(StringComparer.Ordinal);

        private LocalCluster? _cluster;
        private PgRestoreResult? _restored;
        private TimeSpan _recovery;
        private (uint Timeline, Topology.PgLsn Lsn)? _recoveredAt;

        public async Task<PgBackupTest> RunAsync(CancellationToken cancellationToken)
        {
            var total = Stopwatch.StartNew();
            var parent = Path.GetFullPath(request.ScratchDirectory ?? Path.GetTempPath());
            var scratch = Path.Combine(parent, $"pgdr-test-{backup.Label}-{Guid.NewGuid().ToString("N")[..8]}");
            try
            {
                await RunStepsAsync(scratch, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                await CleanUpAsync(_cluster, scratch).ConfigureAwait(false);
            }

            return Result(total, scratch);
        }

        /// <summary>The steps in order; each returns early when what follows would have nothing sound to work on.</summary>
        private async Task RunStepsAsync(string scratch, CancellationToken cancellationToken)
        {
            var account = OsUser.ForPostgres(request.OsUser);
            var dataDirectory = Path.Combine(scratch, "data");
            var socketDirectory = Path.Combine(scratch, "socket");
            var port = FreePort();
            CreatePrivateDirectory(scratch);
            CreatePrivateDirectory(socketDirectory);
            var hbaFile = Path.Combine(scratch, "pg_hba.conf");

            // Only this account (and root) can reach the socket directory: trust there lets PgDr in without a
            // password while nobody else on the host can connect, and the scratch cluster listens on no TCP port.
            await File.WriteAllTextAsync(hbaFile, "local all all trust\n", cancellationToken).ConfigureAwait(false);
            await account.TakeOwnershipAsync(scratch, cancellationToken).ConfigureAwait(false);
            var binaries = await PostgresBinaries.LocateAsync(request.BinDirectory, int.Parse(backup.PgVersion.Split('.')[0], CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false);

            _restored = await StepAsync("restore", async ct =>
            {
                var result = await RestoreService.RunAsync(config, RestoreRequestFor(dataDirectory, scratch, socketDirectory, hbaFile, port), progress, ct, repositoryFactory).ConfigureAwait(false);
                return (result, $"{result.FilesWritten} files, {Bytes.Format(result.BytesWritten)} from {result.Repository} at {result.ThroughputMBps:0} MB/s");
            }, cancellationToken).ConfigureAwait(false);
            if (_restored is null)
            {
                return; // nothing is started from a restore that did not verify
            }

            if (request.VerifyFiles)
            {
                await StepAsync("pg_verifybackup", ct => VerifyFilesAsync(binaries, account, scratch, dataDirectory, ct), cancellationToken).ConfigureAwait(false);
            }

            _cluster = new LocalCluster(binaries, dataDirectory, account);
            var cluster = _cluster;
            var instance = new PgInstance(socketDirectory, port, request.Database, username: backup.Superuser);
            var recoveryClock = Stopwatch.StartNew();
            var started = await StepAsync("start", async ct =>
            {
                await cluster.StartAsync(ct).ConfigureAwait(false);
                return (true, $"as {account.Name} on socket {socketDirectory}, port {port}");
            }, cancellationToken).ConfigureAwait(false);
            if (!started)
            {
                return;
            }

            _recoveredAt = await StepAsync<(uint, Topology.PgLsn)?>("recovery", ct => WaitForPromotionAsync(cluster, instance.WithDatabase("postgres"), ct), cancellationToken).ConfigureAwait(false);
            _recovery = recoveryClock.Elapsed;
            if (_recoveredAt is null)
            {
                return;
            }

            if (!request.Amcheck)
            {
                _steps.Add(new PgBackupTestStep { Name = "pg_amcheck", Success = null, Detail = "not asked for" });
            }
            else if (!File.Exists(binaries.Tool("pg_amcheck")))
            {
                _steps.Add(new PgBackupTestStep { Name = "pg_amcheck", Success = null, Detail = $"not installed in {binaries.Directory}" });
            }
            else
            {
                await StepAsync("pg_amcheck", ct => AmcheckAsync(binaries, account, socketDirectory, port, ct), cancellationToken).ConfigureAwait(false);
            }

            foreach (var table in request.Tables)
            {
                await StepAsync($"count {table}", async ct =>
                {
                    var count = await CountAsync(instance, table, ct).ConfigureAwait(false);
                    _rowCounts[table] = count;
                    return (true, count.ToString(CultureInfo.InvariantCulture) + " rows");
                }, cancellationToken).ConfigureAwait(false);
            }

            for (var i = 0; i < request.Queries.Count; i++)
            {
                var query = request.Queries[i];
                await StepAsync($"query {i + 1}", ct => QueryAsync(instance, query, ct), cancellationToken).ConfigureAwait(false);
            }
        }

        private RestoreRequest RestoreRequestFor(string dataDirectory, string scratch, string socketDirectory, string hbaFile, int port)
        {
            var settings = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["port"] = port.ToString(CultureInfo.InvariantCulture),
                ["listen_addresses"] = string.Empty,
                ["unix_socket_directories"] = socketDirectory,
                ["hba_file"] = hbaFile,
                ["ssl"] = "off",
                ["cluster_name"] = "pgdr-test",
                ["logging_collector"] = "off",
                ["log_destination"] = "stderr",
                ["hot_standby"] = "on",
                ["synchronous_standby_names"] = string.Empty,
                ["shared_buffers"] = "128MB",
            };
            foreach (var (name, value) in request.Settings ?? new Dictionary<string, string>())
            {
                settings[name] = value;
            }

            var immediate = request.TargetTime is null && request.TargetLsn is null && request.TargetXid is null && request.TargetName is null;
            return new RestoreRequest
            {
                DataDirectory = dataDirectory,
                Label = backup.Label,
                Repository = backup.Repository,
                TargetTime = request.TargetTime,
                TargetLsn = request.TargetLsn,
                TargetXid = request.TargetXid,
                TargetName = request.TargetName,
                Immediate = immediate,
                TargetAction = RecoveryTargetAction.Promote,
                ArchiveMode = RestoreArchiveMode.Off,

                // Tablespaces go into the scratch directory, never back where the live cluster keeps them.
                TablespaceRoot = Path.Combine(scratch, "tablespaces"),
                PgDrPath = request.PgDrPath,
                OsUser = request.OsUser,
                Parallel = request.Parallel,
                Settings = settings,
            };
        }

        private async Task<(bool, string)> VerifyFilesAsync(PostgresBinaries binaries, OsUser account, string scratch, string dataDirectory, CancellationToken cancellationToken)
        {
            using var keys = BackupKeys.Load(config);
            var manifest = await ReadManifestAsync(keys.Read, cancellationToken).ConfigureAwait(false);
            var manifestPath = Path.Combine(scratch, "backup_manifest");
            await File.WriteAllTextAsync(manifestPath, PostgresBackupManifest.Build(manifest), cancellationToken).ConfigureAwait(false);
            var arguments = new List<string> { "--manifest-path", manifestPath, "--ignore", "tablespace_map", "--quiet" };
            var walNote = "files only";
            if (manifest.Info.Timeline == manifest.Info.StopTimeline)
            {
                var walDirectory = Path.Combine(scratch, "wal");
                Directory.CreateDirectory(walDirectory);
                var segmentSize = manifest.Info.WalSegmentSize;
                var first = WalFileName.Parse(manifest.Info.StartWal);
                var last = WalFileName.Parse(manifest.Info.StopWal).SegmentNumber(segmentSize);
                for (var segment = first; ; segment = segment.Next(segmentSize))
                {
                    await WalFetchService.FetchAsync(config, segment.Name, Path.Combine(walDirectory, segment.Name), cancellationToken, repositoryFactory).ConfigureAwait(false);
                    if (segment.SegmentNumber(segmentSize) >= last)
                    {
                        break;
                    }
                }

                arguments.AddRange(["--wal-directory", walDirectory]);
                walNote = $"files and WAL {manifest.Info.StartWal}..{manifest.Info.StopWal}";
            }
            else
            {
                arguments.Add("--no-parse-wal");
            }

            arguments.Add(dataDirectory);
            await account.TakeOwnershipAsync(scratch, cancellationToken).ConfigureAwait(false);
            var run = await ProcessRunner.RunAsync(binaries.Tool("pg_verifybackup"), arguments, cancellationToken, account, workingDirectory: scratch).ConfigureAwait(false);
            if (run.ExitCode != 0)
            {
                throw new PgDrException(ErrorIds.BackupTestFailed, PgDrErrorCategory.InvalidData, $"pg_verifybackup: {Tail(run.StandardError + run.StandardOutput, 5)}", dataDirectory);
            }

            return (true, $"{manifest.Files.Count + 1} {walNote} match the backup-time checksums");
        }

        private async Task<BackupManifest> ReadManifestAsync(Archive.Format.ArchiveReadOptions keys, CancellationToken cancellationToken)
        {
            var entry = config.Repositories.First(r => r.Name == backup.Repository);
            var repository = (repositoryFactory ?? (c => ArchiveRepositoryFactory.Create(c)))(entry.ToRepositoryConfig());
            await using (repository.ConfigureAwait(false))
            {
                return await BackupCatalog.ReadManifestAsync(repository, config.Stanza, backup.Label, keys, cancellationToken).ConfigureAwait(false);
            }
        }

        /// <summary>Waits until recovery has promoted the cluster; a server that stops instead (a FATAL in recovery) fails at once.</summary>
        private async Task<((uint, Topology.PgLsn)?, string)> WaitForPromotionAsync(LocalCluster cluster, PgInstance instance, CancellationToken cancellationToken)
        {
            await Wait.UntilAsync(
                async ct =>
                {
                    if (!await cluster.IsRunningAsync(ct).ConfigureAwait(false))
                    {
                        throw new PgDrException(ErrorIds.BackupTestFailed, PgDrErrorCategory.InvalidOperation, $"the restored cluster stopped during recovery: {LogTail(cluster)}", cluster.DataDirectory);
                    }

                    try
                    {
                        return !await PgConnector.RunAsync(instance, async conn =>
                        {
                            using var cmd = new NpgsqlCommand("SELECT pg_is_in_recovery()", conn);
                            return (bool)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
                        }, ct).ConfigureAwait(false);
                    }
                    catch (PgDrConnectionException)
                    {
                        return false; // still starting up or replaying to consistency
                    }
                },
                request.RecoveryTimeout,
                "the restored cluster to recover and promote",
                cancellationToken).ConfigureAwait(false);
            var (timeline, lsn) = await PgConnector.RunAsync(instance, async conn =>
            {
                using var cmd = new NpgsqlCommand("SELECT timeline_id::bigint, redo_lsn FROM pg_control_checkpoint()", conn);
                using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                return ((uint)reader.GetInt64(0), Topology.PgLsn.From(reader.GetFieldValue<NpgsqlTypes.NpgsqlLogSequenceNumber>(1)));
            }, cancellationToken).ConfigureAwait(false);
            return ((timeline, lsn), $"promoted on timeline {timeline} (redo at {lsn})");
        }

        private async Task<(bool, string)> AmcheckAsync(PostgresBinaries binaries, OsUser account, string socketDirectory, int port, CancellationToken cancellationToken)
        {
            var run = await ProcessRunner.RunAsync(
                binaries.Tool("pg_amcheck"),
                ["--host", socketDirectory, "--port", port.ToString(CultureInfo.InvariantCulture), "--username", backup.Superuser, "--no-password",
                 "--all", "--install-missing", "--jobs", Math.Max(1, Math.Min(4, Environment.ProcessorCount)).ToString(CultureInfo.InvariantCulture)],
                cancellationToken,
                account,
                workingDirectory: socketDirectory).ConfigureAwait(false);
            if (run.ExitCode != 0)
            {
                throw new PgDrException(ErrorIds.BackupTestFailed, PgDrErrorCategory.InvalidData, $"pg_amcheck found problems: {Tail(run.StandardOutput + run.StandardError, 5)}", backup.Label);
            }

            return (true, "heap and B-tree indexes of every database");
        }

        private static Task<long> CountAsync(PgInstance instance, string table, CancellationToken cancellationToken) =>
            PgConnector.RunAsync(instance, async conn =>
            {
                // to_regclass resolves the name and gives it back quoted as PostgreSQL would: nothing of the caller's
                // text is ever pasted into SQL.
                string? relation;
                using (var resolve = new NpgsqlCommand("SELECT to_regclass($1)::text", conn))
                {
                    resolve.Parameters.AddWithValue(table);
                    relation = await resolve.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
                }

                if (relation is null)
                {
                    throw new PgDrException(ErrorIds.BackupTestFailed, PgDrErrorCategory.ObjectNotFound, $"there is no table {table} in database {instance.Database}", table);
                }

                using var count = new NpgsqlCommand($"SELECT count(*) FROM {relation}", conn) { CommandTimeout = 0 };
                return (long)(await count.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            }, cancellationToken);

        private static Task<(bool, string)> QueryAsync(PgInstance instance, string query, CancellationToken cancellationToken) =>
            PgConnector.RunAsync(instance, async conn =>
            {
                using var cmd = new NpgsqlCommand(query, conn) { CommandTimeout = 0 };
                var value = await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
                if (value is false)
                {
                    throw new PgDrException(ErrorIds.BackupTestFailed, PgDrErrorCategory.InvalidData, "the query returned false", query);
                }

                return (true, value is null or DBNull ? "ran" : $"returned {Convert.ToString(value, CultureInfo.InvariantCulture)}");
            }, cancellationToken);

        /// <summary>Runs one step, records its outcome and time; returns its value, or default when it failed.</summary>
        private async Task<T?> StepAsync<T>(string name, Func<CancellationToken, Task<(T Value, string Detail)>> step, CancellationToken cancellationToken)
        {
            progress?.Report(new PgDrProgress(Activity, $"{backup.Label}: {name}"));
            var clock = Stopwatch.StartNew();
            try
            {
                var (value, detail) = await step(cancellationToken).ConfigureAwait(false);
                _steps.Add(new PgBackupTestStep { Name = name, Success = true, Duration = clock.Elapsed, Detail = detail });
                return value;
            }
            catch (PgDrException ex)
            {
                _steps.Add(new PgBackupTestStep { Name = name, Success = false, Duration = clock.Elapsed, Detail = $"{ex.Message} [{ex.ErrorId}]", ErrorId = ex.ErrorId });
                return default;
            }
        }

        private PgBackupTest Result(Stopwatch total, string scratch)
        {
            var ran = _steps.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
            return new PgBackupTest
            {
                Repository = backup.Repository,
                Stanza = backup.Stanza,
                Label = backup.Label,
                Type = backup.Type,
                BackupStopTime = backup.StopTime,
                Target = TargetDescription(),
                Steps = [.. _steps],
                Success = _steps.All(s => s.Success != false) && ran.Contains("restore") && ran.Contains("recovery"),
                RestoreDuration = _steps.FirstOrDefault(s => s.Name == "restore")?.Duration ?? TimeSpan.Zero,
                RecoveryDuration = _recovery,
                TotalDuration = total.Elapsed,
                RestoredBytes = _restored?.BytesWritten ?? 0,
                RecoveredTimeline = _recoveredAt?.Timeline,
                RecoveredLsn = _recoveredAt?.Lsn,
                RowCounts = new Dictionary<string, long?>(request.Tables.ToDictionary(t => t, t => _rowCounts.GetValueOrDefault(t)), StringComparer.Ordinal),
                ScratchDirectory = scratch,
            };
        }

        private string TargetDescription() =>
            request.TargetTime is { } time ? $"time {time.UtcDateTime:yyyy-MM-dd HH:mm:ss.ffffff} UTC"
            : request.TargetLsn is { } lsn ? $"LSN {lsn}"
            : request.TargetXid is { } xid ? $"xid {xid}"
            : request.TargetName is { } name ? $"restore point '{name}'"
            : "consistency";

        /// <summary>Stops the scratch cluster however it can and removes the scratch directory; a failure here is reported, never thrown.</summary>
        private async Task CleanUpAsync(LocalCluster? cluster, string scratch)
        {
            var clock = Stopwatch.StartNew();
            var problems = new List<string>();
            if (cluster is not null)
            {
                try
                {
                    await cluster.ForceStopAsync(CancellationToken.None).ConfigureAwait(false);
                }
                catch (PgDrException ex)
                {
                    problems.Add(ex.Message);
                }
            }

            try
            {
                if (Directory.Exists(scratch))
                {
                    Directory.Delete(scratch, recursive: true);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                problems.Add($"{scratch} could not be removed: {ex.Message}");
            }

            _steps.Add(new PgBackupTestStep
            {
                Name = "clean up",
                Success = problems.Count == 0,
                Duration = clock.Elapsed,
                Detail = problems.Count == 0 ? "scratch cluster stopped and removed" : string.Join("; ", problems),
            });
        }

        private static string LogTail(LocalCluster cluster)
        {
            try
            {
                return Tail(File.ReadAllText(cluster.LogFile), 3);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return "(no server log)";
            }
        }

        private static string Tail(string text, int lines) =>
            string.Join(" | ", text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(lines));

        private static void CreatePrivateDirectory(string path)
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(path);
            }
            else
            {
                Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }

        private static int FreePort()
        {
            // The scratch cluster listens on no TCP port; the number only names its socket file in a private directory.
            using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
            listener.Start();
            return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        }
    }
}
