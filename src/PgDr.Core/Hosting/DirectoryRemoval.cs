namespace PgDr.Hosting;

/// <summary>
/// Removes what a failed or cancelled build left behind: a sandbox, a standby's copy. A program stopped a moment ago
/// can still add a file while the tree is walked (pg_basebackup -X stream writes WAL from a child process of its own,
/// a stopping server its last log lines), which makes a recursive delete fail with "Directory not empty" and leave a
/// half-removed directory. The walk is repeated until it finds nothing more, within a bounded time.
/// </summary>
public static class DirectoryRemoval
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    /// <summary>Deletes <paramref name="directory"/> with everything in it, or only what is in it when <paramref name="keepDirectory"/>.</summary>
    public static async Task RemoveAsync(string directory, bool keepDirectory = false)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            try
            {
                RemoveOnce(directory, keepDirectory);
                return;
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                // Something was still writing into the tree; it has had its moment, walk it again.
                await Task.Delay(TimeSpan.FromMilliseconds(100)).ConfigureAwait(false);
            }
        }
    }

    private static void RemoveOnce(string directory, bool keepDirectory)
    {
        if (!Directory.Exists(directory))
        {
            return;
        }

        if (!keepDirectory)
        {
            Directory.Delete(directory, recursive: true);
            return;
        }

        foreach (var entry in Directory.EnumerateFileSystemEntries(directory))
        {
            if (Directory.Exists(entry))
            {
                Directory.Delete(entry, recursive: true);
            }
            else
            {
                File.Delete(entry);
            }
        }
    }
}
