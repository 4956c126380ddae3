using System.Globalization;
using PgDr.Archive.Configuration;
using PgDr.Archive.Repositories;
using PgDr.Archive.Transfer;
using PgDr.Archive.Wal;
using PgDr.Backup.Catalog;
using PgDr.Errors;

namespace PgDr.Backup.Retention;

/// <summary>
/// Remove-PgBackup, pgdr backup expire: retention by count of full backups and/or by age, the WAL no kept backup
/// needs, and the leftovers of backups that never completed.
/// </summary>
/// <remarks>
/// Backups go by sets: a full backup and everything built on it (differential and incremental backups reference its
/// objects), so a removal never leaves a kept backup without data. The newest set is always kept, whatever the rules
/// say: it holds the newest recovery point. WAL is removed below the start of the oldest kept backup, on every
/// timeline (no kept backup replays anything older); timeline history files are always kept. Planning reads only, so
/// -WhatIf shows exactly the items a removal would take, and removes nothing.
/// </remarks>
public static class RetentionService
{
    /// <summary>What the rules would remove, per repository, oldest first; nothing is changed.</summary>
    public static async Task<IReadOnlyList<PgBackupExpiry>> PlanAsync(
        PgDrConfig config, RetentionRequest request, CancellationToken cancellationToken, Func<RepositoryConfig, IArchiveRepository>? repositoryFactory = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(request);
        request.Validate();
        var factory = repositoryFactory ?? (c => ArchiveRepositoryFactory.Create(c));
        using var keys = BackupKeys.Load(config);
        var plan = new List<PgBackupExpiry>();
        foreach (var entry in WalArchiveCatalog.SelectRepositories(config, request.Repository))
        {
            var repository = factory(entry.ToRepositoryConfig());
            await using (repository.ConfigureAwait(false))
            {
                var catalog = await BackupCatalog.ReadAsync(repository, config.Stanza, keys.Read, cancellationToken).ConfigureAwait(false);
                var (expired, kept) = Choose(catalog.Backups, request, repository.Name);
                plan.AddRange(expired.Select(b => new PgBackupExpiry
                {
                    Repository = repository.Name,
                    Stanza = config.Stanza,
                    Kind = BackupExpiryKind.Backup,
                    Label = b.Backup.Label,
                    Type = b.Backup.Type,
                    StopTime = b.Backup.StopTime,
                    Objects = b.Backup.ObjectCount,
                    StoredBytes = b.Backup.StoredBytes,
                    Reason = b.Reason,
                }));

                foreach (var label in await BackupDeletion.FindLeftoversAsync(repository, config.Stanza, catalog, keys.Read, thisHostIsIdle: false, cancellationToken).ConfigureAwait(false))
                {
                    plan.Add(new PgBackupExpiry { Repository = repository.Name, Stanza = config.Stanza, Kind = BackupExpiryKind.Leftover, Label = label, Reason = "it never completed and nothing writes to it any more" });
                }

                if (request.ExpireWal && kept.Count > 0 && expired.Count > 0)
                {
                    plan.AddRange(await PlanWalAsync(repository, config.Stanza, kept, cancellationToken).ConfigureAwait(false));
                }
            }
        }

        return plan;
    }

    /// <summary>Removes one planned item (backups before their WAL: take them in the plan's order).</summary>
    public static async Task<PgBackupExpiry> ExpireAsync(
        PgDrConfig config, PgBackupExpiry item, CancellationToken cancellationToken, Func<RepositoryConfig, IArchiveRepository>? repositoryFactory = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(item);
        var factory = repositoryFactory ?? (c => ArchiveRepositoryFactory.Create(c));
        var entry = WalArchiveCatalog.SelectRepositories(config, item.Repository)[0];
        var repository = factory(entry.ToRepositoryConfig());
        await using (repository.ConfigureAwait(false))
        {
            if (item.Kind == BackupExpiryKind.Wal)
            {
                await Parallel.ForEachAsync(item.Keys, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (key, ct) =>
                    await repository.DeleteAsync(key, ct).ConfigureAwait(false)).ConfigureAwait(false);
                return Removed(item, item.Objects, item.StoredBytes);
            }

            var (objects, bytes) = await BackupDeletion.DeleteAsync(repository, item.Stanza, item.Label!, cancellationToken).ConfigureAwait(false);
            return Removed(item, objects, bytes);
        }
    }

    /// <summary>Plans and removes everything planned.</summary>
    public static async Task<IReadOnlyList<PgBackupExpiry>> RunAsync(
        PgDrConfig config, RetentionRequest request, CancellationToken cancellationToken, Func<RepositoryConfig, IArchiveRepository>? repositoryFactory = null)
    {
        var removed = new List<PgBackupExpiry>();
        foreach (var item in await PlanAsync(config, request, cancellationToken, repositoryFactory).ConfigureAwait(false))
        {
            removed.Add(await ExpireAsync(config, item, cancellationToken, repositoryFactory).ConfigureAwait(false));
        }

        return removed;
    }

    /// <summary>Splits the backups into those that go (with why) and those kept, set by set.</summary>
    internal static (List<(BackupInfo Backup, string Reason)> Expired, List<BackupInfo> Kept) Choose(IReadOnlyList<BackupInfo> backups, RetentionRequest request, string repository)
    {
        // Each backup belongs to the set of the full backup it builds on (the oldest backup it references).
        var sets = backups
            .GroupBy(b => b.Type == BackupType.Full ? b.Label : b.References.FirstOrDefault() ?? b.Label)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => g.OrderBy(b => b.Label, StringComparer.Ordinal).ToList())
            .ToList();
        if (sets.Count == 0)
        {
            return ([], []);
        }

        var keep = new bool[sets.Count];
        var reasons = new string[sets.Count];
        keep[^1] = true; // the newest recovery point, always
        if (request.Labels.Count > 0)
        {
            var named = request.Labels.Select(BackupLabel.Validate).ToHashSet(StringComparer.Ordinal);
            var unknown = named.Where(l => backups.All(b => b.Label != l)).ToList();
            if (unknown.Count > 0)
            {
                throw new PgDrNotFoundException(ErrorIds.BackupNotFound, $"Repository '{repository}' holds no backup {string.Join(", ", unknown)}.", unknown[0]);
            }

            var expired = new List<(BackupInfo, string)>();
            foreach (var backup in backups)
            {
                // A named backup goes with every backup that references it.
                var cause = backup.References.Where(named.Contains).Prepend(named.Contains(backup.Label) ? backup.Label : null).FirstOrDefault(l => l is not null);
                if (cause is not null)
                {
                    expired.Add((backup, cause == backup.Label ? "named for removal" : $"it is built on {cause}, named for removal"));
                }
            }

            var newest = sets[^1];
            if (expired.Any(e => e.Item1.Label == newest[0].Label))
            {
                throw new PgDrException(
                    ErrorIds.InvalidRetention,
                    PgDrErrorCategory.InvalidOperation,
                    $"Removing {string.Join(", ", request.Labels)} would remove the newest recovery point ({newest[^1].Label}) with its full backup {newest[0].Label}; take a newer backup first.",
                    request.Labels[0]);
            }

            var expiredLabels = expired.Select(e => e.Item1.Label).ToHashSet(StringComparer.Ordinal);
            return (expired, [.. backups.Where(b => !expiredLabels.Contains(b.Label))]);
        }

        if (request.KeepFull is { } count)
        {
            for (var i = Math.Max(0, sets.Count - count); i < sets.Count; i++)
            {
                keep[i] = true;
            }

            for (var i = 0; i < sets.Count - count; i++)
            {
                reasons[i] = string.Create(CultureInfo.InvariantCulture, $"older than the {count} newest full backup{(count == 1 ? string.Empty : "s")} kept");
            }
        }

        if (request.KeepDays is { } days)
        {
            var cutoff = (request.Now ?? DateTimeOffset.UtcNow) - TimeSpan.FromDays(days);

            // Every set with a backup after the cutoff, and the set of the newest backup at or before it, which the
            // first moments after the cutoff are restored from.
            var anchor = backups.LastOrDefault(b => b.StopTime <= cutoff);
            for (var i = 0; i < sets.Count; i++)
            {
                if (sets[i].Any(b => b.StopTime > cutoff) || (anchor is not null && sets[i].Contains(anchor)))
                {
                    keep[i] = true;
                }
                else
                {
                    reasons[i] = reasons[i] is null
                        ? string.Create(CultureInfo.InvariantCulture, $"not needed to restore any moment of the last {days} day{(days == 1 ? string.Empty : "s")}")
                        : reasons[i] + string.Create(CultureInfo.InvariantCulture, $" and not needed for the last {days} day{(days == 1 ? string.Empty : "s")}");
                }
            }
        }

        var result = new List<(BackupInfo, string)>();
        var kept = new List<BackupInfo>();
        for (var i = 0; i < sets.Count; i++)
        {
            foreach (var backup in sets[i])
            {
                if (keep[i])
                {
                    kept.Add(backup);
                }
                else
                {
                    result.Add((backup, backup.Type == BackupType.Full ? reasons[i] : $"{reasons[i]} (built on {sets[i][0].Label})"));
                }
            }
        }

        return (result, kept);
    }

    /// <summary>The WAL below the oldest kept backup's start segment, per timeline; history files stay.</summary>
    private static async Task<List<PgBackupExpiry>> PlanWalAsync(IArchiveRepository repository, string stanza, List<BackupInfo> kept, CancellationToken cancellationToken)
    {
        var segmentSize = kept[0].WalSegmentSize;
        var oldest = kept.Select(b => WalFileName.Parse(b.StartWal).SegmentNumber(segmentSize)).Min();
        var byTimeline = new SortedDictionary<uint, List<(WalFileName Name, ArchiveObjectInfo Info)>>();
        await foreach (var (name, info) in WalArchiveCatalog.ListWalFilesAsync(repository, stanza, cancellationToken).ConfigureAwait(false))
        {
            if (name.Kind != WalFileKind.TimelineHistory && name.SegmentNumber(segmentSize) < oldest)
            {
                if (!byTimeline.TryGetValue(name.Timeline, out var files))
                {
                    byTimeline[name.Timeline] = files = [];
                }

                files.Add((name, info));
            }
        }

        var oldestName = WalFileName.ForSegment(kept.OrderBy(b => WalFileName.Parse(b.StartWal).SegmentNumber(segmentSize)).First().Timeline, oldest, segmentSize).Name;
        return [.. byTimeline.Select(t => new PgBackupExpiry
        {
            Repository = repository.Name,
            Stanza = stanza,
            Kind = BackupExpiryKind.Wal,
            Timeline = t.Key,
            FirstWal = t.Value.Min(f => f.Name.Name),
            LastWal = t.Value.Max(f => f.Name.Name),
            Objects = t.Value.Count,
            StoredBytes = t.Value.Sum(f => f.Info.Size),
            Reason = $"older than {oldestName}, where the oldest kept backup starts",
            Keys = [.. t.Value.Select(f => f.Info.Key)],
        })];
    }

    private static PgBackupExpiry Removed(PgBackupExpiry item, int objects, long bytes) => new()
    {
        Repository = item.Repository,
        Stanza = item.Stanza,
        Kind = item.Kind,
        Label = item.Label,
        Type = item.Type,
        StopTime = item.StopTime,
        Timeline = item.Timeline,
        FirstWal = item.FirstWal,
        LastWal = item.LastWal,
        Objects = item.Kind == BackupExpiryKind.Wal ? item.Objects : objects,
        StoredBytes = item.Kind == BackupExpiryKind.Wal ? item.StoredBytes : Math.Max(bytes, item.StoredBytes),
        Reason = item.Reason,
        Removed = true,
    };
}
