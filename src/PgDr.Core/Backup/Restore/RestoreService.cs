using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using PgDr.Archive;
using PgDr.Archive.Configuration;
using PgDr.Archive.Encryption;
using PgDr.Archive.Format;
using PgDr.Archive.Repositories;
using PgDr.Archive.Server;
using PgDr.Archive.Transfer;
using PgDr.Backup.Catalog;
using PgDr.Errors;
using PgDr.Hosting;
using PgDr.Progress;

namespace PgDr.Backup.Restore;

/// <summary>
/// Restore-PgCluster, pgdr restore: a backup into a data directory on this host, set up to recover from the archive
/// (restore_command = pgdr wal fetch) to a target, to the end of the archive, or as a standby.
/// </summary>
/// <remarks>
/// <para>Objects are downloaded, verified and decoded by several streams at once, each file written where it belongs
/// (an incremental backup's files come from the objects of the backups it references). Everything is made durable with
/// one syncfs, and global/pg_control is put in place last, by a rename: until then PostgreSQL refuses to start in the
/// directory, so an interrupted or failed restore can never be started as if it were whole.</para>
/// <para>A delta restore (-Delta) hashes what is there, rewrites only files that differ from the backup, removes
/// what the backup does not hold, and removes pg_control first, for the same reason.</para>
/// </remarks>
public static class RestoreService
{
    private const string Activity = "Restoring";
    private const string PgControl = "global/pg_control";
    private const string PgControlTemporary = "global/pg_control.pgdr-restore";

    /// <summary>Checks everything a restore needs (-WhatIf stops here): the backup, the target, the archive, the directory, restore_command.</summary>
    public static async Task<RestorePlan> PlanAsync(
        PgDrConfig config, RestoreRequest request, CancellationToken cancellationToken, Func<RepositoryConfig, IArchiveRepository>? repositoryFactory = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(request);
        request.Validate();
        var factory = repositoryFactory ?? (c => ArchiveRepositoryFactory.Create(c));
        var dataDirectory = Path.GetFullPath(request.DataDirectory);
        if (Directory.Exists(dataDirectory))
        {
            TargetDirectory.RefuseIfRunning(dataDirectory);
        }

        using var keys = BackupKeys.Load(config);
        PgDrException? firstError = null;
        foreach (var entry in WalArchiveCatalog.SelectRepositories(config, request.Repository))
        {
            try
            {
                var repository = factory(entry.ToRepositoryConfig());
                await using (repository.ConfigureAwait(false))
                {
                    return await PlanFromAsync(config, request, entry, repository, keys.Read, dataDirectory, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (PgDrRepositoryException ex) when (firstError is null || firstError is PgDrRepositoryException)
            {
                // Unreachable: another repository may serve.
                firstError ??= ex;
            }
            catch (PgDrException ex) when (ex.ErrorId == ErrorIds.BackupNotFound)
            {
                firstError = firstError is null or PgDrRepositoryException ? ex : firstError;
            }
        }

        throw firstError ?? new PgDrNotFoundException(ErrorIds.BackupNotFound, $"No repository holds a backup of stanza '{config.Stanza}'.", config.Stanza);
    }

    /// <summary>Plans and restores in one call.</summary>
    public static async Task<PgRestoreResult> RunAsync(
        PgDrConfig config, RestoreRequest request, IProgress<PgDrProgress>? progress, CancellationToken cancellationToken, Func<RepositoryConfig, IArchiveRepository>? repositoryFactory = null)
    {
        var plan = await PlanAsync(config, request, cancellationToken, repositoryFactory).ConfigureAwait(false);
        return await RestoreAsync(plan, progress, cancellationToken, repositoryFactory).ConfigureAwait(false);
    }

    public static async Task<PgRestoreResult> RestoreAsync(
        RestorePlan plan, IProgress<PgDrProgress>? progress, CancellationToken cancellationToken, Func<RepositoryConfig, IArchiveRepository>? repositoryFactory = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var factory = repositoryFactory ?? (c => ArchiveRepositoryFactory.Create(c));
        using var keys = BackupKeys.Load(plan.Config);
        var repository = factory(plan.Repository.ToRepositoryConfig());
        await using (repository.ConfigureAwait(false))
        {
            return await new RestoreRun(plan, repository, keys.Read, progress).RunAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<RestorePlan> PlanFromAsync(
        PgDrConfig config, RestoreRequest request, RepositoryEntry entry, IArchiveRepository repository, ArchiveReadOptions keys, string dataDirectory, CancellationToken cancellationToken)
    {
        var catalog = await BackupCatalog.ReadAsync(repository, config.Stanza, keys, cancellationToken).ConfigureAwait(false);
        var backup = ChooseBackup(catalog.Backups, request, repository.Name, config.Stanza);
        var missing = backup.References.Where(r => catalog.Backups.All(b => b.Label != r)).ToList();
        if (missing.Count > 0)
        {
            throw new PgDrException(
                ErrorIds.BackupChainBroken, PgDrErrorCategory.InvalidData, $"Backup {backup.Label} needs the files of {string.Join(", ", missing)}, which repository '{repository.Name}' no longer holds.", backup.Label);
        }

        var manifest = await BackupCatalog.ReadManifestAsync(repository, config.Stanza, backup.Label, keys, cancellationToken).ConfigureAwait(false);
        var wal = await WalArchiveIndex.LoadAsync(repository, config.Stanza, backup.WalSegmentSize, keys, cancellationToken).ConfigureAwait(false);
        var reach = CheckArchive(backup, wal, request, repository.Name);

        var locations = TablespaceLocations(manifest, request);
        var nonEmpty = TargetDirectory.IsNonEmpty(dataDirectory);
        var nonEmptyLocations = locations.Values.Where(l => Directory.Exists(l) && Directory.EnumerateDirectories(l, $"PG_{backup.PgVersionNum / 10000}_*").Any()).ToList();
        if (!request.Delta && !request.Force && (nonEmpty || nonEmptyLocations.Count > 0))
        {
            var where = nonEmpty ? dataDirectory : nonEmptyLocations[0];
            throw new PgDrException(
                ErrorIds.RestoreTargetNotEmpty,
                PgDrErrorCategory.ResourceExists,
                $"{where} is not empty: restore into a new or empty directory, or use -Delta (rewrite what differs) or -Force (empty it first).",
                where);
        }

        var account = OsUser.ForPostgres(request.OsUser);
        var pgdr = await PgDrExecutable.LocateAsync(request.PgDrPath, account, cancellationToken).ConfigureAwait(false);
        var configPath = Path.GetFullPath(request.ConfigPath ?? config.SourcePath);
        await RestoreCommandCheck.EnsureUsableAsync(account, pgdr, configPath, config, request.PasswordFile, cancellationToken).ConfigureAwait(false);
        var settings = RecoveryConfiguration.Settings(request, WalArchivingService.RestoreCommand(pgdr, configPath));
        return new RestorePlan
        {
            Preview = new PgRestoreResult
            {
                DataDirectory = dataDirectory,
                Repository = repository.Name,
                Stanza = config.Stanza,
                Label = backup.Label,
                Type = backup.Type,
                Target = request.DescribeTarget(),
                ConsistentAt = backup.StopTime,
                ArchiveReachesTime = reach.UntilTime,
                Settings = [.. settings.Select(s => $"{s.Name} = {PostgresAutoConf.Quote(s.Value)}")],
                SignalFile = request.AsStandby ? "standby.signal" : "recovery.signal",
                Delta = request.Delta,
                FileCount = manifest.Info.FileCount,
            },
            FilesToRemove = request.Force && !request.Delta && nonEmpty ? CountFiles(dataDirectory) : 0,
            TablespaceLocations = locations,
            Config = config,
            Request = request,
            Repository = entry,
            Manifest = manifest,
            Settings = settings,
            Account = account,
            DataDirectory = dataDirectory,
        };
    }

    /// <summary>The backup named, or the latest one whose consistency point lies before the target.</summary>
    private static BackupInfo ChooseBackup(IReadOnlyList<BackupInfo> backups, RestoreRequest request, string repository, string stanza)
    {
        if (backups.Count == 0)
        {
            throw new PgDrNotFoundException(ErrorIds.BackupNotFound, $"Repository '{repository}' holds no complete backup of stanza '{stanza}'.", stanza);
        }

        BackupInfo? chosen;
        if (request.Label is { } label)
        {
            chosen = backups.FirstOrDefault(b => b.Label == BackupLabel.Validate(label))
                ?? throw new PgDrNotFoundException(ErrorIds.BackupNotFound, $"Repository '{repository}' holds no complete backup '{label}' of stanza '{stanza}'.", label);
        }
        else
        {
            chosen = backups.LastOrDefault(b => ReachesTarget(b, request)) ?? backups[0];
        }

        if (!ReachesTarget(chosen, request))
        {
            var target = request.DescribeTarget();
            throw new PgDrException(
                ErrorIds.RestoreTargetBeforeConsistency,
                PgDrErrorCategory.InvalidArgument,
                $"The target ({target}) lies before the consistency point of backup {chosen.Label} ({chosen.StopTime.UtcDateTime:yyyy-MM-dd HH:mm:ss.fff} UTC, LSN {chosen.StopLsn})"
                + (request.Label is null ? ", the oldest backup in repository '" + repository + "': no backup can restore to it." : ": choose an older backup."),
                target);
        }

        return chosen;
    }

    private static bool ReachesTarget(BackupInfo backup, RestoreRequest request) =>
        (request.TargetTime is not { } time || time >= backup.StopTime) && (request.TargetLsn is not { } lsn || lsn >= backup.StopLsn);

    /// <summary>The archive must hold the WAL to consistency, the timeline asked for, and the target's WAL.</summary>
    private static WalReach CheckArchive(BackupInfo backup, WalArchiveIndex wal, RestoreRequest request, string repository)
    {
        uint targetTimeline;
        var descendants = wal.DescendantsOf(backup.Timeline, backup.StopLsn);
        switch (request.TargetTimeline)
        {
            case null or "latest":
                targetTimeline = descendants.Max();
                break;
            case "current":
                targetTimeline = backup.Timeline;
                break;
            default:
                targetTimeline = uint.Parse(request.TargetTimeline, NumberStyles.None, CultureInfo.InvariantCulture);
                if (!descendants.Contains(targetTimeline))
                {
                    throw new PgDrException(
                        ErrorIds.RestoreTimelineNotInArchive,
                        PgDrErrorCategory.ObjectNotFound,
                        wal.HasTimeline(targetTimeline)
                            ? $"Timeline {targetTimeline} does not descend from timeline {backup.Timeline} after backup {backup.Label}'s consistency point ({backup.StopLsn}): it cannot be reached from this backup."
                            : $"Repository '{repository}' holds no timeline {targetTimeline} (no history file, no WAL); it has {string.Join(", ", wal.Timelines.Select(t => t.ToString(CultureInfo.InvariantCulture)))}.",
                        targetTimeline);
                }

                break;
        }

        var reach = BackupCatalog.ReachOf(backup, wal, targetTimeline);
        if (!reach.Consistent)
        {
            var gap = reach.Gaps.Count > 0 ? reach.Gaps[0].FirstMissing : backup.StartWal;
            throw new PgDrException(
                ErrorIds.RestoreWalGap,
                PgDrErrorCategory.ObjectNotFound,
                $"Repository '{repository}' lacks WAL segment {gap}, needed to make backup {backup.Label} consistent ({backup.StartWal} .. {backup.StopWal}).",
                gap);
        }

        // S3 keeps modification times to the second: a segment archived at 12.9 s reads as 12.000, and a target at 12.1 s
        // in it is reachable. A whole-second time is taken as the end of its second; PostgreSQL still refuses a target
        // the WAL does not reach ("recovery ended before configured recovery target was reached").
        var archivedUntil = reach.UntilTime is { } u && u.Ticks % TimeSpan.TicksPerSecond == 0 ? u.AddSeconds(1) : reach.UntilTime;
        var beyond = (request.TargetTime is { } time && (archivedUntil is not { } until || time >= until))
            || (request.TargetLsn is { } lsn && (reach.UntilLsn is not { } end || lsn >= end));
        if (beyond)
        {
            var gapNote = reach.Gaps.Count > 0 ? $"; WAL is missing from {reach.Gaps[0].FirstMissing} to {reach.Gaps[0].LastMissing}" : string.Empty;
            throw new PgDrException(
                reach.Gaps.Count > 0 ? ErrorIds.RestoreWalGap : ErrorIds.RestoreTargetAfterArchive,
                PgDrErrorCategory.InvalidArgument,
                $"The target ({request.DescribeTarget()}) lies after the last WAL repository '{repository}' holds on the way from backup {backup.Label} "
                + $"(segment {reach.LastSegment}, archived {reach.UntilTime?.UtcDateTime:yyyy-MM-dd HH:mm:ss.fff} UTC, ending at LSN {reach.UntilLsn}){gapNote}: recovery could not reach it.",
                request.DescribeTarget());
        }

        return reach;
    }

    private static Dictionary<uint, string> TablespaceLocations(BackupManifest manifest, RestoreRequest request)
    {
        var result = new Dictionary<uint, string>();
        foreach (var tablespace in manifest.Tablespaces)
        {
            var mapping = request.TablespaceMapping;
            var location = mapping is not null && (mapping.TryGetValue(tablespace.Oid.ToString(CultureInfo.InvariantCulture), out var byOid) ? byOid
                : tablespace.Name.Length > 0 && mapping.TryGetValue(tablespace.Name, out var byName) ? byName
                : null) is { } mapped
                ? mapped
                : request.TablespaceRoot is { } root ? Path.Combine(root, tablespace.Oid.ToString(CultureInfo.InvariantCulture))
                : tablespace.Location;
            result[tablespace.Oid] = Path.GetFullPath(location);
        }

        return result;
    }

    private static int CountFiles(string directory) =>
        Directory.EnumerateFiles(directory, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = 0 }).Count();

    /// <summary>One restore: the file-system work, in the order that keeps a failure harmless.</summary>
    private sealed class RestoreRun(RestorePlan plan, IArchiveRepository repository, ArchiveReadOptions keys, IProgress<PgDrProgress>? progress)
    {
        private readonly BackupManifest _manifest = plan.Manifest;
        private readonly string _root = plan.DataDirectory;
        private long _bytesDone;
        private long _bytesTotal;

        public async Task<PgRestoreResult> RunAsync(CancellationToken cancellationToken)
        {
            var clock = Stopwatch.StartNew();
            var request = plan.Request;
            var info = _manifest.Info;
            var removed = 0;
            CreateDirectory(_root, 0b111_000_000);
            if (request.Force && !request.Delta)
            {
                Report("emptying the target directory");
                removed += TargetDirectory.Empty(_root);
                foreach (var location in plan.TablespaceLocations.Values)
                {
                    removed += RemoveVersionDirectories(location, info.PgVersionNum / 10000);
                }
            }

            // Before anything is rewritten: without pg_control no server starts here until the restore is complete.
            RemoveIfExists(Path.Combine(_root, "global", "pg_control"));
            RemoveIfExists(Path.Combine(_root, PgControlTemporary));

            var toWrite = _manifest.Files;
            var kept = 0;
            if (request.Delta)
            {
                Report("comparing the data directory with the backup");
                (toWrite, kept, var deleted) = await CompareAsync(cancellationToken).ConfigureAwait(false);
                removed += deleted;
            }

            CreateDirectories();
            var groups = toWrite
                .GroupBy(f => (f.Backup, f.Object))
                .Select(g => (g.Key.Backup, g.Key.Object, Files: g.ToList(), Bytes: g.Sum(f => f.Size)))
                .OrderByDescending(g => g.Bytes)
                .ToList();
            _bytesTotal = groups.Sum(g => g.Bytes);
            var parallel = request.Parallel ?? plan.Config.Backup?.EffectiveParallel ?? new BackupConfig().EffectiveParallel;
            await Parallel.ForEachAsync(groups, new ParallelOptions { MaxDegreeOfParallelism = parallel, CancellationToken = cancellationToken }, async (group, ct) =>
                await RestoreObjectAsync(group.Backup, group.Object, group.Files, ct).ConfigureAwait(false)).ConfigureAwait(false);

            Report("writing backup_label and the recovery settings");
            await WriteRecoveryFilesAsync(cancellationToken).ConfigureAwait(false);
            await plan.Account.TakeOwnershipAsync(_root, cancellationToken).ConfigureAwait(false);
            foreach (var location in plan.TablespaceLocations.Values.Distinct(StringComparer.Ordinal))
            {
                await plan.Account.TakeOwnershipAsync(location, cancellationToken).ConfigureAwait(false);
            }

            Report("making the restored files durable");
            SyncFileSystems();
            if (File.Exists(Path.Combine(_root, PgControlTemporary)))
            {
                File.Move(Path.Combine(_root, PgControlTemporary), Path.Combine(_root, PgControl), overwrite: true);
                SyncDirectory(Path.Combine(_root, "global"));
            }

            return new PgRestoreResult
            {
                DataDirectory = _root,
                Repository = plan.Preview.Repository,
                Stanza = plan.Preview.Stanza,
                Label = info.Label,
                Type = info.Type,
                Target = plan.Preview.Target,
                ConsistentAt = plan.Preview.ConsistentAt,
                ArchiveReachesTime = plan.Preview.ArchiveReachesTime,
                Settings = plan.Preview.Settings,
                SignalFile = plan.Preview.SignalFile,
                Delta = request.Delta,
                Applied = true,
                FileCount = _manifest.Files.Count,
                FilesWritten = toWrite.Count,
                FilesKept = kept,
                FilesRemoved = removed,
                BytesWritten = _bytesDone,
                ObjectsRead = groups.Count,
                Duration = clock.Elapsed,
            };
        }

        /// <summary>Delta: which files must be written (those that differ or are missing); removes what the backup does not hold.</summary>
        private async Task<(List<BackupFile> ToWrite, int Kept, int Removed)> CompareAsync(CancellationToken cancellationToken)
        {
            var (existing, directories) = TargetDirectory.Enumerate(_root, _manifest.Info.PgVersionNum / 10000);
            var wanted = _manifest.Files.ToDictionary(f => f.Path, StringComparer.Ordinal);
            var wantedDirectories = _manifest.Directories.Select(d => d.Path).ToHashSet(StringComparer.Ordinal);
            var removed = 0;
            foreach (var (path, file) in existing)
            {
                if (!wanted.ContainsKey(path))
                {
                    file.Delete();
                    removed++;
                }
            }

            // Deepest first, so a directory is empty when its turn comes.
            foreach (var (path, directory) in directories.OrderByDescending(d => d.Path.Length))
            {
                if (!wantedDirectories.Contains(path) && !path.StartsWith("pg_tblspc/", StringComparison.Ordinal) || (path.StartsWith("pg_tblspc/", StringComparison.Ordinal) && path.Count(c => c == '/') > 1 && !wantedDirectories.Contains(path)))
                {
                    removed += TargetDirectory.Remove(directory.LinkTarget is null ? directory : new FileInfo(Path.Combine(_root, path)));
                }
            }

            var toWrite = new ConcurrentBag<BackupFile>();
            var kept = 0;
            await Parallel.ForEachAsync(_manifest.Files, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = cancellationToken }, async (file, ct) =>
            {
                if (file.Path != PgControl && existing.TryGetValue(file.Path, out var current) && current.Exists && current.Length == file.Size
                    && await SameContentAsync(current.FullName, file.Checksum, ct).ConfigureAwait(false))
                {
                    if (!OperatingSystem.IsWindows())
                    {
                        File.SetUnixFileMode(current.FullName, (UnixFileMode)file.Mode);
                    }

                    File.SetLastWriteTimeUtc(current.FullName, new DateTime(file.ModifiedTicks, DateTimeKind.Utc));
                    Interlocked.Increment(ref kept);
                    return;
                }

                toWrite.Add(file);
            }).ConfigureAwait(false);
            return ([.. toWrite], kept, removed);
        }

        private static async Task<bool> SameContentAsync(string path, string checksum, CancellationToken cancellationToken)
        {
            if (!ContentChecksum.TryParse(checksum.Split(':')[0], out var algorithm))
            {
                return false;
            }

            try
            {
                return string.Equals(await ContentChecksum.ComputeFileAsync(path, algorithm, cancellationToken).ConfigureAwait(false), checksum, StringComparison.Ordinal);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return false;
            }
        }

        private void CreateDirectories()
        {
            foreach (var tablespace in _manifest.Tablespaces)
            {
                var location = plan.TablespaceLocations[tablespace.Oid];
                CreateDirectory(location, 0b111_000_000);
                var link = Path.Combine(_root, "pg_tblspc", tablespace.Oid.ToString(CultureInfo.InvariantCulture));
                Directory.CreateDirectory(Path.GetDirectoryName(link)!);
                if (new FileInfo(link) is { LinkTarget: { } existingTarget } && existingTarget == location)
                {
                    continue;
                }

                if (Directory.Exists(link) || File.Exists(link) || new FileInfo(link).LinkTarget is not null)
                {
                    TargetDirectory.Remove(new FileInfo(link).LinkTarget is not null ? new FileInfo(link) : new DirectoryInfo(link));
                }

                File.CreateSymbolicLink(link, location);
            }

            foreach (var directory in _manifest.Directories)
            {
                CreateDirectory(Path.Combine(_root, directory.Path), directory.Mode);
            }
        }

        private async Task RestoreObjectAsync(string backup, string objectId, List<BackupFile> files, CancellationToken cancellationToken)
        {
            var objectKey = BackupLayout.ObjectKey(_manifest.Info.Stanza, backup, objectId);
            var algorithm = ContentChecksum.TryParse(files[0].Checksum.Split(':')[0], out var parsed) ? parsed : ContentChecksum.Default;

            // A file alone in its object is covered by the object's own checksum, which the reader verifies; files of a
            // pack, and of objects of earlier backups (whose manifests say whether they are packs are not read), are each
            // hashed against the manifest.
            var single = backup == _manifest.Info.Label && _manifest.Objects.FirstOrDefault(o => o.Id == objectId) is { Pack: false };
            var splitter = new ObjectSplitter(
                files.Select(f => new SplitTarget(Path.Combine(_root, f.Path == PgControl ? PgControlTemporary : f.Path), f.Offset, f.Size, f.Mode, f.ModifiedTicks, f.Checksum, f.Path)),
                hashEach: !single,
                algorithm,
                objectKey);
            await using (splitter.ConfigureAwait(false))
            {
                var stored = await repository.OpenReadAsync(objectKey, cancellationToken).ConfigureAwait(false)
                    ?? throw new PgDrException(ErrorIds.BackupChainBroken, PgDrErrorCategory.ObjectNotFound, $"Repository '{repository.Name}' has lost {objectKey}, which backup {_manifest.Info.Label} needs.", objectKey);
                await using (stored.ConfigureAwait(false))
                {
                    ArchiveObjectSummary summary;
                    try
                    {
                        summary = await ArchiveObjectReader.ReadAsync(stored, splitter, keys, cancellationToken).ConfigureAwait(false);
                    }
                    catch (PgDrArchiveException ex) when (ex.ErrorId == ErrorIds.ArchiveObjectCorrupt && ex.Target as string != objectKey)
                    {
                        throw new PgDrArchiveException(ex.ErrorId, ex.Category, $"Backup object {objectKey} in repository '{repository.Name}' is damaged: {ex.Message} Nothing restored from it can be used.", objectKey, ex);
                    }

                    if (!string.Equals(summary.Header.OriginalName, BackupLayout.ObjectName(backup, objectId), StringComparison.Ordinal))
                    {
                        throw new PgDrArchiveException(ErrorIds.ArchiveObjectCorrupt, PgDrErrorCategory.InvalidData, $"Backup object {objectKey} in repository '{repository.Name}' holds {summary.Header.OriginalName}.", objectKey);
                    }

                    if (single && !string.Equals(summary.PlaintextChecksum, files[0].Checksum, StringComparison.Ordinal))
                    {
                        throw new PgDrArchiveException(ErrorIds.ArchiveObjectCorrupt, PgDrErrorCategory.InvalidData, $"Backup object {objectKey} does not hold {files[0].Path} as the manifest records it.", objectKey);
                    }
                }

                splitter.Complete();
            }

            var done = Interlocked.Add(ref _bytesDone, splitter.BytesWritten);
            Report($"{Bytes.Format(done)} of {Bytes.Format(_bytesTotal)}", _bytesTotal > 0 ? (int)Math.Min(99, 100 * done / _bytesTotal) : -1);
        }

        private async Task WriteRecoveryFilesAsync(CancellationToken cancellationToken)
        {
            var request = plan.Request;
            await WriteFileAsync("backup_label", _manifest.BackupLabel, cancellationToken).ConfigureAwait(false);
            var map = TablespaceMap();
            if (map.Length > 0)
            {
                await WriteFileAsync("tablespace_map", map, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                RemoveIfExists(Path.Combine(_root, "tablespace_map"));
            }

            PostgresAutoConf.Write(_root, RecoveryConfiguration.Changes(plan.Settings));
            RemoveIfExists(Path.Combine(_root, request.AsStandby ? "recovery.signal" : "standby.signal"));
            await WriteFileAsync(request.AsStandby ? "standby.signal" : "recovery.signal", string.Empty, cancellationToken).ConfigureAwait(false);
        }

        /// <summary>PostgreSQL's tablespace_map with the locations this restore uses (escaped as PostgreSQL escapes them).</summary>
        private string TablespaceMap()
        {
            var text = new StringBuilder();
            foreach (var tablespace in _manifest.Tablespaces.OrderBy(t => t.Oid))
            {
                var escaped = new StringBuilder();
                foreach (var c in plan.TablespaceLocations[tablespace.Oid])
                {
                    if (c is '\n' or '\r' or '\\')
                    {
                        escaped.Append('\\');
                    }

                    escaped.Append(c);
                }

                text.Append(CultureInfo.InvariantCulture, $"{tablespace.Oid} {escaped}\n");
            }

            return text.ToString();
        }

        private async Task WriteFileAsync(string relative, string content, CancellationToken cancellationToken)
        {
            var path = Path.Combine(_root, relative);
            var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            var stream = new FileStream(path, options);
            await using (stream.ConfigureAwait(false))
            {
                await stream.WriteAsync(Encoding.UTF8.GetBytes(content), cancellationToken).ConfigureAwait(false);
            }
        }

        private void SyncFileSystems()
        {
            if (!OperatingSystem.IsLinux())
            {
                return;
            }

            foreach (var path in plan.TablespaceLocations.Values.Prepend(_root).Distinct(StringComparer.Ordinal))
            {
                var errno = LinuxFileSystem.SyncFileSystem(path);
                if (errno != 0)
                {
                    throw new PgDrException(ErrorIds.ExternalCommandFailed, PgDrErrorCategory.WriteError, $"Making the restored files under {path} durable failed: {LinuxFileSystem.Describe(errno)}.", path);
                }
            }
        }

        private static void SyncDirectory(string directory)
        {
            if (OperatingSystem.IsLinux())
            {
                LinuxFileSystem.SyncDirectory(directory);
            }
        }

        private static void CreateDirectory(string path, int mode)
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(path);
                return;
            }

            var unixMode = (UnixFileMode)(mode & 0b111_111_111);
            if (!Directory.Exists(path))
            {
                Directory.CreateDirectory(path, unixMode == 0 ? UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute : unixMode);
            }

            if (unixMode != 0)
            {
                File.SetUnixFileMode(path, unixMode);
            }
        }

        private static int RemoveVersionDirectories(string location, int pgMajorVersion)
        {
            if (!Directory.Exists(location))
            {
                return 0;
            }

            return new DirectoryInfo(location).EnumerateDirectories($"PG_{pgMajorVersion}_*").Sum(TargetDirectory.Remove);
        }

        private static void RemoveIfExists(string path)
        {
            if (File.Exists(path))
            {
                File.Delete(path);
            }
        }

        private void Report(string status, int percent = -1) => progress?.Report(new PgDrProgress(Activity, status, percent));
    }
}
