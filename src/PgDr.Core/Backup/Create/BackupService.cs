using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Npgsql;
using PgDr.Archive;
using PgDr.Archive.Configuration;
using PgDr.Archive.Format;
using PgDr.Archive.Repositories;
using PgDr.Archive.Stanza;
using PgDr.Archive.Wal;
using PgDr.Backup.Catalog;
using PgDr.Backup.Objects;
using PgDr.Connections;
using PgDr.Errors;
using PgDr.Hosting;
using PgDr.Progress;
using PgDr.Topology;

namespace PgDr.Backup.Create;

/// <summary>
/// Backup-PgCluster, pgdr backup create: a base backup of a running cluster, read from its data directory on this
/// host, into every configured repository.
/// </summary>
/// <remarks>
/// <para>The method: pg_backup_start on one session held for the whole backup; the files read straight from the data
/// directory by several streams, each compressing, encrypting and uploading objects as it reads (no local copy);
/// pg_control last (a standby's backup ends at the minimum recovery point it holds); pg_backup_stop; then a wait until
/// every WAL segment from the start to the stop position is in every required repository. Only then are the summary
/// and the manifest written, the manifest last and create-only: a backup exists exactly when its manifest does, so an
/// interrupted backup is never listed, and its leftovers are removed by the next backup on this host.</para>
/// <para>Incremental and differential backups store only the files that changed since the backup they build on, and
/// reference the others' objects (BackupPlanner says how changes are recognised).</para>
/// </remarks>
public static class BackupService
{
    private const string Activity = "Backing up";

    public static async Task<PgBackupResult> CreateAsync(
        PgDrConfig config,
        BackupRequest request,
        IProgress<PgDrProgress>? progress,
        CancellationToken cancellationToken,
        Func<RepositoryConfig, IArchiveRepository>? repositoryFactory = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(request);
        request.Validate();
        var factory = repositoryFactory ?? (c => ArchiveRepositoryFactory.Create(c));
        using var keys = BackupKeys.Load(config);

        // Before any connection or write: a key service that refuses stops the backup here.
        var encoding = await keys.EncodingAsync(cancellationToken).ConfigureAwait(false);
        var targets = new List<UploadTarget>();
        try
        {
            foreach (var entry in config.Repositories)
            {
                targets.Add(new UploadTarget(factory(entry.ToRepositoryConfig()), entry.Required));
            }

            var run = new BackupRun(config, request, encoding, targets, progress);
            return await PgConnector.RunAsync(request.Instance, connection => run.RunAsync(connection, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            foreach (var target in targets)
            {
                await target.Repository.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>The steps of one backup, with what they learned along the way.</summary>
    private sealed class BackupRun(PgDrConfig config, BackupRequest request, DocumentEncoding encoding, List<UploadTarget> targets, IProgress<PgDrProgress>? progress)
    {
        private readonly string _stanza = config.Stanza;
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly List<string> _leftoversRemoved = [];
        private long _bytesDone;
        private long _bytesTotal;

        private IEnumerable<UploadTarget> Live => targets.Where(t => t.Live);

        public async Task<PgBackupResult> RunAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
        {
            Report("checking the cluster and the repositories");
            var source = await ServerBackupSession.ReadSourceAsync(connection, cancellationToken).ConfigureAwait(false);
            CheckSource(source);
            var dataDirectory = Path.GetFullPath(request.DataDirectory ?? source.DataDirectory);
            CheckDataDirectory(dataDirectory, source);
            await ForEachTargetAsync(t => RepositoryIdentity.EnsureAsync(
                t.Repository, _stanza, new ClusterIdentity(source.SystemIdentifier, source.MajorVersion, source.WalSegmentSize), $"the cluster at {request.Instance} is", cancellationToken), rethrow: ex => ex.ErrorId == ErrorIds.StanzaMismatch).ConfigureAwait(false);

            // Held from before the catalogs are read (which removes this host's leftovers) to the end.
            using var hostLock = BackupLock.Acquire(_stanza, source.SystemIdentifier);
            var catalogs = await ReadCatalogsAsync(cancellationToken).ConfigureAwait(false);
            var prior = await ChoosePriorAsync(catalogs, source, cancellationToken).ConfigureAwait(false);
            var type = prior is null ? BackupType.Full : request.Type;
            var label = await ClaimLabelAsync(type, cancellationToken).ConfigureAwait(false);
            try
            {
                return await TakeAsync(connection, source, dataDirectory, label, type, prior, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is PgDrException or IOException or OperationCanceledException)
            {
                // The process lives on: clean up now rather than at the next backup. The manifest was not written, so
                // nothing of this label is listed either way.
                await RemoveQuietlyAsync(label).ConfigureAwait(false);
                throw;
            }
        }

        private async Task<PgBackupResult> TakeAsync(
            NpgsqlConnection connection, BackupSource source, string dataDirectory, string label, BackupType type, BackupManifest? prior, CancellationToken cancellationToken)
        {
            if (source.InRecovery && request.Primary is { } primary)
            {
                Report("checkpoint on the primary");
                await ServerBackupSession.CheckpointAsync(primary, cancellationToken).ConfigureAwait(false);
            }

            Report(request.FastCheckpoint ? "pg_backup_start (fast checkpoint)" : "pg_backup_start (waiting for a spread checkpoint)");
            var startLsn = await ServerBackupSession.StartAsync(connection, label, request.FastCheckpoint, cancellationToken).ConfigureAwait(false);
            var startTime = DateTimeOffset.UtcNow;

            // Taken before any file is looked at: a later incremental trusts only timestamps older than this.
            var copyStart = DateTimeOffset.UtcNow;
            var copyClock = Stopwatch.StartNew();
            var scan = DataDirectoryScanner.Scan(dataDirectory, source.MajorVersion);
            foreach (var tablespace in scan.Tablespaces)
            {
                tablespace.Name = source.Tablespaces.GetValueOrDefault(tablespace.Oid, string.Empty);
            }

            var plan = BackupPlanner.Plan(scan.Files, prior, request.CompareChecksums, copyStart);
            var files = new ConcurrentBag<BackupFile>(plan.References);
            var objects = new ConcurrentBag<BackupObject>();
            var toStore = plan.Store;
            toStore.AddRange(await VerifyUnchangedAsync(plan.Verify, files, cancellationToken).ConfigureAwait(false));

            var items = BackupPlanner.Group(toStore, firstNumber: 1);
            _bytesTotal = items.Sum(i => i.Bytes) + scan.PgControl.Size;
            var parallel = request.Parallel ?? config.Backup?.EffectiveParallel ?? new BackupConfig().EffectiveParallel;
            await Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = parallel, CancellationToken = cancellationToken }, async (item, ct) =>
                await StoreItemAsync(label, item, files, objects, parallel, ct).ConfigureAwait(false)).ConfigureAwait(false);

            // pg_control last, after every other file: a standby's backup is consistent at the minimum recovery point
            // recorded in the pg_control it holds (PostgreSQL's rule for backups taken during recovery).
            await StoreItemAsync(label, new WorkItem(BackupLayout.ObjectId(items.Count + 1), false, [scan.PgControl]), files, objects, parallel: 1, cancellationToken).ConfigureAwait(false);
            copyClock.Stop();

            Report("pg_backup_stop");
            var stop = await ServerBackupSession.StopAsync(connection, source.InRecovery, cancellationToken).ConfigureAwait(false);
            var stopTime = DateTimeOffset.UtcNow;
            if (source.InRecovery && request.Primary is { } upstream)
            {
                await ServerBackupSession.SwitchWalAsync(upstream, cancellationToken).ConfigureAwait(false);
            }

            var (startWal, timeline) = ServerBackupSession.ParseLabel(stop.BackupLabel);
            var stopWal = WalFileName.ForSegment(stop.StopTimeline, (stop.StopLsn.Value - 1) / (ulong)source.WalSegmentSize, source.WalSegmentSize).Name;
            var walClock = Stopwatch.StartNew();
            await WaitForWalAsync(startWal, stop, source.WalSegmentSize, cancellationToken).ConfigureAwait(false);
            walClock.Stop();

            var fileList = files.OrderBy(f => f.Path, StringComparer.Ordinal).ToList();
            var objectList = objects.OrderBy(o => o.Id, StringComparer.Ordinal).ToList();
            var info = new BackupInfo
            {
                Label = label,
                Type = type,
                Prior = prior?.Info.Label,
                References = [.. fileList.Select(f => f.Backup).Append(label).Distinct().Order(StringComparer.Ordinal)],
                Stanza = _stanza,
                SystemIdentifier = source.SystemIdentifier.ToString(CultureInfo.InvariantCulture),
                PgVersionNum = source.VersionNum,
                WalSegmentSize = source.WalSegmentSize,
                Timeline = timeline,
                StopTimeline = stop.StopTimeline,
                StartLsn = startLsn,
                StopLsn = stop.StopLsn,
                StartWal = startWal,
                StopWal = stopWal,
                StartTime = startTime,
                CopyStartTime = copyStart,
                StopTime = stopTime,
                CompletedTime = DateTimeOffset.UtcNow,
                FromStandby = source.InRecovery,
                Host = Environment.MachineName,
                DataDirectory = dataDirectory,
                Superuser = source.Superuser,
                Compression = encoding.Compression.ToString(),
                Checksum = ContentChecksum.Name(encoding.Checksum),
                Encrypted = encoding.Encrypts,
                FileCount = fileList.Count,
                OriginalBytes = fileList.Sum(f => f.Size),
                NewBytes = fileList.Where(f => f.Backup == label).Sum(f => f.Size),
                StoredBytes = objectList.Sum(o => o.StoredBytes),
                ObjectCount = objectList.Count,
                PgDrVersion = typeof(BackupService).Assembly.GetName().Version?.ToString(3) ?? string.Empty,
            };
            var manifest = new BackupManifest
            {
                Info = info,
                BackupLabel = stop.BackupLabel,
                TablespaceMap = stop.TablespaceMap,
                Tablespaces = scan.Tablespaces,
                Directories = scan.Directories,
                Files = fileList,
                Objects = objectList,
            };

            Report("writing the manifest");
            await ForEachTargetAsync(async t =>
            {
                await Put(t, BackupLayout.InfoKey(_stanza, label), info, BackupJsonContext.Default.BackupInfo, cancellationToken).ConfigureAwait(false);
                await Put(t, BackupLayout.ManifestKey(_stanza, label), manifest, BackupJsonContext.Default.BackupManifest, cancellationToken).ConfigureAwait(false);
            }).ConfigureAwait(false);

            // Complete: the start marker has done its job. Losing this delete costs nothing (the catalog ignores it).
            foreach (var target in Live)
            {
                await Quietly(() => target.Repository.DeleteAsync(BackupLayout.StartedKey(_stanza, label), CancellationToken.None)).ConfigureAwait(false);
            }

            return new PgBackupResult
            {
                Instance = request.Instance,
                Stanza = _stanza,
                Label = label,
                Type = type,
                RequestedType = request.Type,
                Prior = info.Prior,
                Repositories = [.. Live.Select(t => t.Name)],
                FailedRepositories = [.. targets.Where(t => !t.Live).Select(t => $"{t.Name}: {t.Failure!.Message} [{t.Failure.ErrorId}]")],
                FromStandby = source.InRecovery,
                Timeline = timeline,
                StartLsn = startLsn,
                StopLsn = stop.StopLsn,
                StartWal = startWal,
                StopWal = stopWal,
                StartTime = startTime,
                StopTime = stopTime,
                FileCount = info.FileCount,
                StoredFileCount = fileList.Count(f => f.Backup == label),
                ObjectCount = info.ObjectCount,
                OriginalBytes = info.OriginalBytes,
                NewBytes = info.NewBytes,
                StoredBytes = info.StoredBytes,
                Duration = _clock.Elapsed,
                CopyDuration = copyClock.Elapsed,
                WalWaitDuration = walClock.Elapsed,
                LeftoversRemoved = _leftoversRemoved,
            };
        }

        private void CheckSource(BackupSource source)
        {
            if (source.VersionNum < 150000)
            {
                throw new PgDrException(
                    ErrorIds.BackupUnsupportedVersion, PgDrErrorCategory.NotInstalled, $"{request.Instance} runs PostgreSQL {PgBackup.FormatVersion(source.VersionNum)}; PgDr backs up PostgreSQL 15 and later (pg_backup_start).", request.Instance);
            }

            // On a standby the setting says nothing: its primary archives the WAL (the wait for it tells).
            if (!source.InRecovery && source.ArchiveMode == "off")
            {
                throw new PgDrException(
                    ErrorIds.BackupWalNotArchived,
                    PgDrErrorCategory.InvalidOperation,
                    $"{request.Instance} has archive_mode = off: a base backup needs its WAL in the archive to be restorable. Set up archiving first (Set-PgWalArchiving).",
                    request.Instance);
            }
        }

        /// <summary>The data directory must be the connected server's, on this host: same system identifier in its pg_control.</summary>
        private void CheckDataDirectory(string dataDirectory, BackupSource source)
        {
            var pgControl = Path.Combine(dataDirectory, "global", "pg_control");
            Span<byte> identifier = stackalloc byte[8];
            try
            {
                using var file = File.OpenHandle(pgControl);
                if (RandomAccess.Read(file, identifier, 0) != identifier.Length)
                {
                    throw new IOException("pg_control is truncated");
                }
            }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
            {
                throw new PgDrException(
                    ErrorIds.BackupSourceMismatch,
                    PgDrErrorCategory.ObjectNotFound,
                    $"{dataDirectory} holds no PostgreSQL cluster: a backup reads the data directory of {request.Instance} on this host (run it there, or name the directory with -DataDirectory).",
                    dataDirectory,
                    ex);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new PgDrException(
                    ErrorIds.BackupSourceUnreadable,
                    PgDrErrorCategory.PermissionDenied,
                    $"Cannot read {pgControl}: {ex.Message} (run the backup as the postgres OS account or root).",
                    dataDirectory,
                    ex);
            }

            var found = BinaryPrimitives.ReadUInt64LittleEndian(identifier);
            if (found != source.SystemIdentifier)
            {
                throw new PgDrException(
                    ErrorIds.BackupSourceMismatch,
                    PgDrErrorCategory.InvalidOperation,
                    $"{dataDirectory} belongs to cluster {found}, but {request.Instance} is cluster {source.SystemIdentifier}: refusing to back up another cluster's files.",
                    dataDirectory);
            }
        }

        private async Task<Dictionary<UploadTarget, RepositoryCatalog>> ReadCatalogsAsync(CancellationToken cancellationToken)
        {
            var catalogs = new Dictionary<UploadTarget, RepositoryCatalog>();
            await ForEachTargetAsync(async t =>
            {
                var catalog = await BackupCatalog.ReadAsync(t.Repository, _stanza, encoding.Read, cancellationToken).ConfigureAwait(false);

                // This host holds the stanza's backup lock, so no backup of it is running here: what one from here left is leftovers.
                var leftovers = await BackupDeletion.FindLeftoversAsync(t.Repository, _stanza, catalog, encoding.Read, thisHostIsIdle: true, cancellationToken).ConfigureAwait(false);
                foreach (var label in leftovers)
                {
                    Report($"removing the leftovers of the interrupted backup {label} from {t.Name}");
                    await BackupDeletion.DeleteAsync(t.Repository, _stanza, label, cancellationToken).ConfigureAwait(false);
                    lock (_leftoversRemoved)
                    {
                        if (!_leftoversRemoved.Contains(label))
                        {
                            _leftoversRemoved.Add(label);
                        }
                    }
                }

                lock (catalogs)
                {
                    catalogs[t] = catalog;
                }
            }).ConfigureAwait(false);
            return catalogs;
        }

        /// <summary>
        /// The backup an incremental (the latest) or differential (the latest full) builds on: one every live repository
        /// holds, of this cluster and major version, so references are valid everywhere the new backup goes.
        /// </summary>
        private async Task<BackupManifest?> ChoosePriorAsync(Dictionary<UploadTarget, RepositoryCatalog> catalogs, BackupSource source, CancellationToken cancellationToken)
        {
            if (request.Type == BackupType.Full || catalogs.Count == 0)
            {
                return null;
            }

            var sysid = source.SystemIdentifier.ToString(CultureInfo.InvariantCulture);
            var common = catalogs.Values
                .Select(c => c.Backups.Where(b => b.SystemIdentifier == sysid && b.PgVersionNum / 10000 == source.MajorVersion).Select(b => b.Label).ToHashSet(StringComparer.Ordinal))
                .Aggregate((a, b) => { a.IntersectWith(b); return a; });
            var candidates = catalogs.Values.First().Backups.Where(b => common.Contains(b.Label));
            var prior = request.Type == BackupType.Differential
                ? candidates.LastOrDefault(b => b.Type == BackupType.Full)
                : candidates.LastOrDefault();
            if (prior is null)
            {
                return null;
            }

            var first = catalogs.Keys.First();
            return await BackupCatalog.ReadManifestAsync(first.Repository, _stanza, prior.Label, encoding.Read, cancellationToken).ConfigureAwait(false);
        }

        /// <summary>
        /// A new label, claimed by creating its start marker (create-only) in every live repository. A backup that
        /// completed in the same second has removed its start marker but left its manifest: that label is taken too.
        /// </summary>
        private async Task<string> ClaimLabelAsync(BackupType type, CancellationToken cancellationToken)
        {
            for (var attempt = 1; ; attempt++)
            {
                var now = DateTimeOffset.UtcNow;
                var label = BackupLabel.Create(now, type);
                var taken = false;
                await ForEachTargetAsync(async t =>
                {
                    if (await t.Repository.StatAsync(BackupLayout.ManifestKey(_stanza, label), cancellationToken).ConfigureAwait(false) is not null)
                    {
                        taken = true;
                        return;
                    }

                    var started = new BackupStarted { Label = label, Host = Environment.MachineName, ProcessId = Environment.ProcessId, StartedAt = now };
                    if (await CatalogDocument.PutAsync(t.Repository, BackupLayout.StartedKey(_stanza, label), started, BackupJsonContext.Default.BackupStarted, encoding, cancellationToken).ConfigureAwait(false) == PutOutcome.AlreadyExists)
                    {
                        taken = true;
                    }
                }).ConfigureAwait(false);
                if (!taken)
                {
                    return label;
                }

                if (attempt == 3)
                {
                    throw new PgDrException(ErrorIds.BackupInProgress, PgDrErrorCategory.ResourceBusy, $"Another backup of stanza '{_stanza}' started in the same second ({label}); try again.", label);
                }

                // Labels have a resolution of one second.
                await Task.Delay(TimeSpan.FromMilliseconds(1000 - now.Millisecond + 10), cancellationToken).ConfigureAwait(false);
            }
        }

        /// <summary>Files that look unchanged but whose timestamps cannot be trusted: equal checksums make them references after all.</summary>
        private async Task<List<ScannedFile>> VerifyUnchangedAsync(List<(ScannedFile File, BackupFile Prior)> candidates, ConcurrentBag<BackupFile> files, CancellationToken cancellationToken)
        {
            var changed = new ConcurrentBag<ScannedFile>();
            if (candidates.Count > 0)
            {
                Report($"comparing {candidates.Count} recently modified files with the prior backup");
            }

            await Parallel.ForEachAsync(candidates, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = cancellationToken }, async (candidate, ct) =>
            {
                var (file, prior) = candidate;
                string checksum;
                try
                {
                    var algorithm = ContentChecksum.TryParse(prior.Checksum.Split(':')[0], out var recorded) ? recorded : encoding.Checksum;
                    checksum = await ContentChecksum.ComputeFileAsync(file.FullPath, algorithm, ct).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
                {
                    return; // dropped meanwhile: not in the backup
                }

                if (string.Equals(checksum, prior.Checksum, StringComparison.Ordinal))
                {
                    files.Add(BackupPlanner.Reference(file, prior));
                }
                else
                {
                    changed.Add(file);
                }
            }).ConfigureAwait(false);
            return [.. changed];
        }

        private async Task StoreItemAsync(string label, WorkItem item, ConcurrentBag<BackupFile> files, ConcurrentBag<BackupObject> objects, int parallel, CancellationToken cancellationToken)
        {
            // A big file is compressed on several threads: a table of hundreds of MB would otherwise keep one core busy
            // long after the others ran out of files (items start biggest first, so this overlaps the small ones).
            var threads = !item.Pack && item.Bytes >= BackupPlanner.MultiThreadedMinimum ? parallel : 1;
            var key = BackupLayout.ObjectKey(_stanza, label, item.ObjectId);
            var reader = new FileSetReader([.. item.Files.Select(f => new SourceFile(f.FullPath, f.RelativePath))], encoding.Checksum, checksumEachFile: item.Pack);
            ArchiveObjectSummary summary;
            await using (reader.ConfigureAwait(false))
            {
                try
                {
                    summary = await ObjectUpload.StoreAsync(
                        targets,
                        key,
                        (destination, ct) => ArchiveObjectWriter.WriteAsync(reader, destination, encoding.OptionsFor(BackupLayout.ObjectName(label, item.ObjectId), threads), ct),
                        cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException && ex is not PgDrException && !cancellationToken.IsCancellationRequested)
                {
                    var file = reader.Reads.Count > 0 ? reader.Reads[^1].Source.FullPath : item.Files[0].FullPath;
                    throw new PgDrException(
                        ErrorIds.BackupSourceUnreadable,
                        ex is UnauthorizedAccessException ? PgDrErrorCategory.PermissionDenied : PgDrErrorCategory.ReadError,
                        $"Cannot read {file}: {ex.Message}",
                        file,
                        ex);
                }
            }

            var scanned = item.Files.ToDictionary(f => f.RelativePath, StringComparer.Ordinal);
            foreach (var read in reader.Reads.Where(r => r.Found))
            {
                var file = scanned[read.Source.RelativePath];
                files.Add(new BackupFile
                {
                    Path = file.RelativePath,
                    Size = read.Length,
                    ModifiedTicks = file.ModifiedTicks,
                    Mode = file.Mode,

                    // A single file's checksum is its object's own content checksum: no need to hash it twice.
                    Checksum = read.Checksum ?? summary.PlaintextChecksum,
                    Crc32C = read.Crc32C,
                    Backup = label,
                    Object = item.ObjectId,
                    Offset = read.Offset,
                });
            }

            objects.Add(new BackupObject { Id = item.ObjectId, Pack = item.Pack, PlaintextBytes = summary.PlaintextLength, StoredBytes = summary.StoredLength, Checksum = summary.PlaintextChecksum });
            var done = Interlocked.Add(ref _bytesDone, item.Bytes);
            Report($"{Bytes.Format(done)} of {Bytes.Format(_bytesTotal)}", _bytesTotal > 0 ? (int)Math.Min(99, 100 * done / _bytesTotal) : -1);
        }

        /// <summary>Waits until every segment from the start to the stop position is in every live repository (required ones must hold it).</summary>
        private async Task WaitForWalAsync(string startWal, BackupStop stop, long segmentSize, CancellationToken cancellationToken)
        {
            var start = WalFileName.Parse(startWal);
            var first = start.SegmentNumber(segmentSize);
            var last = (stop.StopLsn.Value - 1) / (ulong)segmentSize;
            var timeout = request.ArchiveTimeout ?? TimeSpan.FromSeconds(config.Backup?.ArchiveTimeoutSeconds ?? new BackupConfig().ArchiveTimeoutSeconds);
            var missing = new Dictionary<UploadTarget, List<ulong>>();
            foreach (var target in Live)
            {
                missing[target] = [.. Enumerable.Range(0, (int)(last - first + 1)).Select(i => first + (ulong)i)];
            }

            Report($"waiting for WAL {startWal} .. {WalFileName.ForSegment(stop.StopTimeline, last, segmentSize).Name} to be archived");
            try
            {
                await Wait.UntilAsync(
                    async ct =>
                    {
                        foreach (var (target, segments) in missing)
                        {
                            while (segments.Count > 0 && await HoldsAsync(target, segments[0], start.Timeline, stop.StopTimeline, segmentSize, ct).ConfigureAwait(false))
                            {
                                segments.RemoveAt(0);
                            }
                        }

                        return missing.Where(m => m.Key.Required).All(m => m.Value.Count == 0);
                    },
                    timeout,
                    "the backup's WAL to be archived",
                    cancellationToken).ConfigureAwait(false);
            }
            catch (PgDrException ex) when (ex.ErrorId == ErrorIds.Timeout)
            {
                var (target, segments) = missing.First(m => m.Key.Required && m.Value.Count > 0);
                throw new PgDrException(
                    ErrorIds.BackupWalNotArchived,
                    PgDrErrorCategory.OperationTimeout,
                    $"WAL segment {WalFileName.ForSegment(start.Timeline, segments[0], segmentSize).Name} (needed to make the backup consistent) did not reach repository '{target.Name}' within {timeout.TotalSeconds:0} s; "
                    + "check the archiver (Test-PgWalArchiving), or from a standby give its primary (-Primary) or wait for archive_timeout. The backup is not kept.",
                    target.Name,
                    ex);
            }

            // A repository that is not required and lacks the WAL cannot restore this backup: it does not get it.
            foreach (var (target, segments) in missing.Where(m => !m.Key.Required && m.Value.Count > 0))
            {
                target.Failure = new PgDrException(ErrorIds.BackupWalNotArchived, PgDrErrorCategory.OperationTimeout, $"Repository '{target.Name}' lacks WAL segment {WalFileName.ForSegment(start.Timeline, segments[0], segmentSize).Name}.", target.Name);
            }
        }

        private async Task<bool> HoldsAsync(UploadTarget target, ulong segment, uint startTimeline, uint stopTimeline, long segmentSize, CancellationToken cancellationToken)
        {
            for (var timeline = stopTimeline; timeline >= startTimeline && timeline > 0; timeline--)
            {
                var key = ArchiveLayout.WalKey(_stanza, WalFileName.ForSegment(timeline, segment, segmentSize));
                if (await target.Repository.StatAsync(key, cancellationToken).ConfigureAwait(false) is not null)
                {
                    return true;
                }
            }

            return false;
        }

        private async Task Put<T>(UploadTarget target, string key, T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
        {
            if (await CatalogDocument.PutAsync(target.Repository, key, value, typeInfo, encoding, cancellationToken).ConfigureAwait(false) == PutOutcome.AlreadyExists)
            {
                throw new PgDrRepositoryException(ErrorIds.RepositoryOperationFailed, PgDrErrorCategory.ResourceExists, $"Repository '{target.Name}' already holds {key}.", target.Name);
            }
        }

        /// <summary>
        /// Runs <paramref name="action"/> on every live repository at once. A repository that is not required and fails
        /// is dropped from the backup; a required one's failure ends it, and so does any failure <paramref name="rethrow"/> picks.
        /// </summary>
        private async Task ForEachTargetAsync(Func<UploadTarget, Task> action, Func<PgDrException, bool>? rethrow = null)
        {
            var live = Live.ToList();
            await Task.WhenAll(live.Select(async t =>
            {
                try
                {
                    await action(t).ConfigureAwait(false);
                }
                catch (PgDrException ex) when (!t.Required && rethrow?.Invoke(ex) != true)
                {
                    t.Failure = ex;
                }
            })).ConfigureAwait(false);
            if (!Live.Any(t => t.Required))
            {
                throw new PgDrException(ErrorIds.RepositoryOperationFailed, PgDrErrorCategory.WriteError, "No required repository is left to back up into.", _stanza);
            }
        }

        private async Task RemoveQuietlyAsync(string label)
        {
            foreach (var target in targets)
            {
                await Quietly(() => BackupDeletion.DeleteAsync(target.Repository, _stanza, label, CancellationToken.None)).ConfigureAwait(false);
            }
        }

        private static async Task Quietly(Func<Task> action)
        {
            try
            {
                await action().ConfigureAwait(false);
            }
            catch (PgDrException)
            {
                // Best effort: what remains is removed by the next backup on this host.
            }
        }

        private void Report(string status, int percent = -1) => progress?.Report(new PgDrProgress(Activity, status, percent));
    }
}
