using PgDr.Errors;

namespace PgDr.Backup.Create;

/// <summary>
/// One backup of a stanza at a time on this host: an exclusive advisory lock (flock) on a file in the temp directory,
/// released by the kernel when the process ends however it ends. Holding it is what lets a backup remove the leftovers
/// of an earlier one from this host: no backup of this stanza can still be running here. The lock is the stanza's of
/// one cluster (its system identifier): a repository's stanza belongs to exactly one cluster, so two backups that could
/// meet in a repository take the same lock, while clusters that share only a stanza name (the default, main) in
/// repositories of their own do not wait for each other.
/// </summary>
internal sealed class BackupLock : IDisposable
{
    private readonly FileStream _file;

    private BackupLock(FileStream file) => _file = file;

    public static BackupLock Acquire(string stanza, ulong systemIdentifier)
    {
        var path = Path.Combine(Path.GetTempPath(), $"pgdr-backup-{stanza}-{systemIdentifier.ToString(System.Globalization.CultureInfo.InvariantCulture)}.lock");
        try
        {
            if (File.Exists(path) && new FileInfo(path).LinkTarget is not null)
            {
                throw new PgDrException(ErrorIds.BackupInProgress, PgDrErrorCategory.SecurityError, $"The backup lock {path} is a symbolic link; remove it.", path);
            }

            // Read access is enough for flock, and lets the root and postgres accounts share a lock file either created.
            return new BackupLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.Read, FileShare.None));
        }
        catch (IOException ex)
        {
            throw new PgDrException(ErrorIds.BackupInProgress, PgDrErrorCategory.ResourceBusy, $"Another backup of stanza '{stanza}' is running on this host (it holds {path}).", path, ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new PgDrException(ErrorIds.BackupInProgress, PgDrErrorCategory.PermissionDenied, $"Cannot take the backup lock {path}: {ex.Message}", path, ex);
        }
    }

    public void Dispose() => _file.Dispose();
}
