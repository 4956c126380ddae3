using PgDr.Archive.Configuration;
using PgDr.Archive.Format;
using PgDr.Archive.Repositories;
using PgDr.Archive.Stanza;
using PgDr.Archive.Transfer;
using PgDr.Archive.Wal;
using PgDr.Errors;

namespace PgDr.Backup.Catalog;

/// <summary>A label in the catalog that has no manifest: a backup running, interrupted, or half expired.</summary>
internal sealed record IncompleteBackup(string Label, bool HasStarted, bool HasInfo);

/// <summary>What one repository's catalog holds for a stanza.</summary>
internal sealed class RepositoryCatalog
{
    /// <summary>Complete backups (their manifest exists), oldest first.</summary>
    public required IReadOnlyList<BackupInfo> Backups { get; init; }

    public required IReadOnlyList<IncompleteBackup> Incomplete { get; init; }
}

/// <summary>Reads the backup catalog (Get-PgBackup, pgdr backup list) and the manifests restore and retention work from.</summary>
public static class BackupCatalog
{
    /// <summary>Every complete backup of the stanza in each repository (or the one named), with the WAL window each can reach.</summary>
    public static async Task<IReadOnlyList<PgBackup>> ListAsync(
        PgDrConfig config, string? repositoryName, CancellationToken cancellationToken, Func<RepositoryConfig, IArchiveRepository>? repositoryFactory = null)
    {
        var (backups, _) = await ListWithWindowsAsync(config, repositoryName, cancellationToken, repositoryFactory).ConfigureAwait(false);
        return backups;
    }

    /// <summary>The backups and, per repository, the span of time they make restorable.</summary>
    public static async Task<(IReadOnlyList<PgBackup> Backups, IReadOnlyList<PgBackupWindow> Windows)> ListWithWindowsAsync(
        PgDrConfig config, string? repositoryName, CancellationToken cancellationToken, Func<RepositoryConfig, IArchiveRepository>? repositoryFactory = null)
    {
        var factory = repositoryFactory ?? (c => ArchiveRepositoryFactory.Create(c));
        using var keys = BackupKeys.Load(config);
        var backups = new List<PgBackup>();
        var windows = new List<PgBackupWindow>();
        foreach (var entry in WalArchiveCatalog.SelectRepositories(config, repositoryName))
        {
            var repository = factory(entry.ToRepositoryConfig());
            await using (repository.ConfigureAwait(false))
            {
                var catalog = await ReadAsync(repository, config.Stanza, keys.Read, cancellationToken).ConfigureAwait(false);
                var segmentSize = await SegmentSizeAsync(repository, config.Stanza, catalog, cancellationToken).ConfigureAwait(false);
                var wal = await WalArchiveIndex.LoadAsync(repository, config.Stanza, segmentSize, keys.Read, cancellationToken).ConfigureAwait(false);
                var listed = catalog.Backups.Select(b => Describe(entry.Name, config, b, wal)).ToList();
                backups.AddRange(listed);
                windows.Add(Window(entry.Name, config.Stanza, listed));
            }
        }

        return (backups, windows);
    }

    /// <summary>Lists the catalog prefix and reads the summary of every complete backup.</summary>
    internal static async Task<RepositoryCatalog> ReadAsync(IArchiveRepository repository, string stanza, ArchiveReadOptions keys, CancellationToken cancellationToken)
    {
        var labels = new SortedDictionary<string, HashSet<string>>(StringComparer.Ordinal);
        await foreach (var info in repository.ListAsync(BackupLayout.CatalogPrefix(stanza), cancellationToken).ConfigureAwait(false))
        {
            if (BackupLayout.ParseCatalogKey(stanza, info.Key) is { } parsed)
            {
                if (!labels.TryGetValue(parsed.Label, out var suffixes))
                {
                    labels[parsed.Label] = suffixes = new HashSet<string>(StringComparer.Ordinal);
                }

                suffixes.Add(parsed.Suffix);
            }
        }

        var complete = new List<BackupInfo>();
        var incomplete = new List<IncompleteBackup>();
        foreach (var (label, suffixes) in labels)
        {
            if (!suffixes.Contains(BackupLayout.ManifestSuffix))
            {
                incomplete.Add(new IncompleteBackup(label, suffixes.Contains(BackupLayout.StartedSuffix), suffixes.Contains(BackupLayout.InfoSuffix)));
                continue;
            }

            var info = await CatalogDocument.ReadAsync(repository, BackupLayout.InfoKey(stanza, label), BackupJsonContext.Default.BackupInfo, keys, cancellationToken).ConfigureAwait(false);
            if (info is null)
            {
                // Written before the manifest, so only lost by hand: the manifest holds the same summary.
                info = (await ReadManifestAsync(repository, stanza, label, keys, cancellationToken).ConfigureAwait(false)).Info;
            }

            complete.Add(info);
        }

        return new RepositoryCatalog { Backups = complete, Incomplete = incomplete };
    }

    /// <summary>A backup's manifest; BackupNotFound when the repository holds no complete backup of that label.</summary>
    internal static async Task<BackupManifest> ReadManifestAsync(IArchiveRepository repository, string stanza, string label, ArchiveReadOptions keys, CancellationToken cancellationToken)
    {
        var manifest = await CatalogDocument.ReadAsync(repository, BackupLayout.ManifestKey(stanza, label), BackupJsonContext.Default.BackupManifest, keys, cancellationToken).ConfigureAwait(false)
            ?? throw new PgDrNotFoundException(ErrorIds.BackupNotFound, $"Repository '{repository.Name}' holds no complete backup '{label}' of stanza '{stanza}'.", label);
        if (manifest.Info.Label != label || manifest.Info.Stanza != stanza)
        {
            throw new Archive.PgDrArchiveException(
                ErrorIds.ArchiveObjectCorrupt, PgDrErrorCategory.InvalidData, $"Repository '{repository.Name}': the manifest stored as {label} describes {manifest.Info.Stanza}/{manifest.Info.Label}.", label);
        }

        return manifest;
    }

    /// <summary>The stanza's WAL segment size: from the identity file, else from a backup, else PostgreSQL's default.</summary>
    internal static async Task<long> SegmentSizeAsync(IArchiveRepository repository, string stanza, RepositoryCatalog catalog, CancellationToken cancellationToken)
    {
        var identity = await RepositoryIdentity.ReadAsync(repository, stanza, cancellationToken).ConfigureAwait(false);
        return identity?.WalSegmentSize is > 0 and var size ? size
            : catalog.Backups.Count > 0 && catalog.Backups[^1].WalSegmentSize is > 0 and var fromBackup ? fromBackup
            : WalSegmentSize.Default;
    }

    internal static WalReach ReachOf(BackupInfo backup, WalArchiveIndex wal, uint? targetTimeline = null) =>
        wal.Reach(
            backup.Timeline,
            WalFileName.Parse(backup.StartWal).SegmentNumber(wal.SegmentSize),
            WalFileName.Parse(backup.StopWal).SegmentNumber(wal.SegmentSize),
            targetTimeline ?? wal.LatestTimelineFor(backup.Timeline, backup.StopLsn));

    private static PgBackup Describe(string repository, PgDrConfig config, BackupInfo info, WalArchiveIndex wal)
    {
        var reach = ReachOf(info, wal);
        return new PgBackup
        {
            Repository = repository,
            Stanza = info.Stanza,
            Label = info.Label,
            Type = info.Type,
            Prior = info.Prior,
            References = info.References,
            StartTime = info.StartTime,
            StopTime = info.StopTime,
            StartLsn = info.StartLsn,
            StopLsn = info.StopLsn,
            Timeline = info.Timeline,
            StartWal = info.StartWal,
            StopWal = info.StopWal,
            FromStandby = info.FromStandby,
            Host = info.Host,
            SystemIdentifier = info.SystemIdentifier,
            PgVersion = PgBackup.FormatVersion(info.PgVersionNum),
            Superuser = info.Superuser,
            FileCount = info.FileCount,
            OriginalBytes = info.OriginalBytes,
            NewBytes = info.NewBytes,
            StoredBytes = info.StoredBytes,
            Consistent = reach.Consistent,
            RecoverableTimeline = reach.Consistent ? reach.TargetTimeline : null,
            RecoverableUntilLsn = reach.Consistent ? reach.UntilLsn : null,
            RecoverableUntilTime = reach.Consistent ? reach.UntilTime : null,
            WalGaps = reach.Gaps,
            ConfigPath = string.IsNullOrEmpty(config.SourcePath) || config.SourcePath == "test" ? null : Path.GetFullPath(config.SourcePath),
        };
    }

    private static PgBackupWindow Window(string repository, string stanza, List<PgBackup> backups)
    {
        var restorable = backups.Where(b => b.Consistent).ToList();
        var oldest = restorable.FirstOrDefault();
        var newest = restorable.MaxBy(b => b.RecoverableUntilLsn?.Value ?? 0);
        return new PgBackupWindow
        {
            Repository = repository,
            Stanza = stanza,
            BackupCount = backups.Count,
            OldestBackup = oldest?.Label,
            From = oldest?.StopTime,
            FromLsn = oldest?.StopLsn,
            Until = newest?.RecoverableUntilTime,
            UntilLsn = newest?.RecoverableUntilLsn,
            UntilTimeline = newest?.RecoverableTimeline,

            // Holes the oldest backup's roll-forward runs into: later backups bridge some of them.
            Gaps = oldest?.WalGaps ?? [],
        };
    }
}
