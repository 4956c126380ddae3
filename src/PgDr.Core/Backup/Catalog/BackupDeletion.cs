using PgDr.Archive.Format;
using PgDr.Archive.Repositories;

namespace PgDr.Backup.Catalog;

/// <summary>
/// Removes a backup from a repository in the one order that never leaves a listed backup without its data: the
/// manifest first (the backup stops existing for every reader), then the data objects, then the summary, then the
/// start marker. A removal cut short leaves a label without manifest, which the next backup or expiry recognises and
/// finishes (<see cref="FindLeftoversAsync"/>).
/// </summary>
internal static class BackupDeletion
{
    /// <summary>How old the start marker of a backup from another host must be before its leftovers count as abandoned.</summary>
    public static readonly TimeSpan AbandonedAfter = TimeSpan.FromHours(24);

    /// <summary>Deletes everything of <paramref name="label"/>; returns the data objects deleted and their bytes.</summary>
    public static async Task<(int Objects, long Bytes)> DeleteAsync(IArchiveRepository repository, string stanza, string label, CancellationToken cancellationToken)
    {
        await repository.DeleteAsync(BackupLayout.ManifestKey(stanza, label), cancellationToken).ConfigureAwait(false);
        var objects = new List<ArchiveObjectInfo>();
        await foreach (var info in repository.ListAsync(BackupLayout.ObjectPrefix(stanza, label), cancellationToken).ConfigureAwait(false))
        {
            objects.Add(info);
        }

        await Parallel.ForEachAsync(objects, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (info, ct) =>
            await repository.DeleteAsync(info.Key, ct).ConfigureAwait(false)).ConfigureAwait(false);

        // A killed writer's half-written objects: temporary files on a filesystem (never listed as objects). On S3 an
        // interrupted multipart upload is aborted by the bucket's lifecycle rule, on Azure uncommitted blocks expire.
        if (repository is FileSystemArchiveRepository fileSystem)
        {
            await fileSystem.RemoveAbandonedAsync(BackupLayout.ObjectPrefix(stanza, label), cancellationToken).ConfigureAwait(false);
        }

        await repository.DeleteAsync(BackupLayout.InfoKey(stanza, label), cancellationToken).ConfigureAwait(false);
        await repository.DeleteAsync(BackupLayout.StartedKey(stanza, label), cancellationToken).ConfigureAwait(false);
        return (objects.Count, objects.Sum(o => o.Size));
    }

    /// <summary>
    /// The incomplete labels that no backup can still be writing: a summary without manifest and without start marker
    /// (an expiry or clean-up cut short), a start marker from this host when the caller holds the host's backup lock
    /// (<paramref name="thisHostIsIdle"/>), and a start marker from anywhere older than <see cref="AbandonedAfter"/>.
    /// </summary>
    public static async Task<IReadOnlyList<string>> FindLeftoversAsync(
        IArchiveRepository repository, string stanza, RepositoryCatalog catalog, ArchiveReadOptions keys, bool thisHostIsIdle, CancellationToken cancellationToken)
    {
        var result = new List<string>();
        foreach (var incomplete in catalog.Incomplete)
        {
            if (!incomplete.HasStarted)
            {
                result.Add(incomplete.Label);
                continue;
            }

            BackupStarted? started;
            try
            {
                started = await CatalogDocument.ReadAsync(repository, BackupLayout.StartedKey(stanza, incomplete.Label), BackupJsonContext.Default.BackupStarted, keys, cancellationToken).ConfigureAwait(false);
            }
            catch (Errors.PgDrException ex) when (ex is Archive.PgDrArchiveException)
            {
                // A marker that does not verify cannot say who writes; only its age can.
                started = null;
            }

            var startedAt = started?.StartedAt ?? (await repository.StatAsync(BackupLayout.StartedKey(stanza, incomplete.Label), cancellationToken).ConfigureAwait(false))?.LastModified;
            var ours = thisHostIsIdle && started is not null && string.Equals(started.Host, Environment.MachineName, StringComparison.Ordinal);
            if (ours || startedAt is null || startedAt < DateTimeOffset.UtcNow - AbandonedAfter)
            {
                result.Add(incomplete.Label);
            }
        }

        return result;
    }
}
