using System.Globalization;
using PgDr.Errors;

namespace PgDr.Backup.Restore;

/// <summary>What a restore finds where it is asked to write, and the file-system steps it takes there.</summary>
internal static class TargetDirectory
{
    /// <summary>True when the directory holds anything at all.</summary>
    public static bool IsNonEmpty(string path) => Directory.Exists(path) && Directory.EnumerateFileSystemEntries(path).Any();

    /// <summary>Refuses a directory whose postmaster.pid names a live process: a running cluster is never written into.</summary>
    public static void RefuseIfRunning(string dataDirectory)
    {
        var pidFile = Path.Combine(dataDirectory, "postmaster.pid");
        if (!File.Exists(pidFile))
        {
            return;
        }

        string? first;
        try
        {
            first = File.ReadLines(pidFile).FirstOrDefault();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            first = null;
        }

        if (int.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && IsAlive(pid))
        {
            throw new PgDrException(
                ErrorIds.RestoreTargetRunning,
                PgDrErrorCategory.ResourceBusy,
                $"A PostgreSQL server (pid {pid}) is running on {dataDirectory}: stop it before restoring into its directory.",
                dataDirectory);
        }
    }

    /// <summary>Removes everything inside <paramref name="path"/> (not the directory itself), without following links; returns the files removed.</summary>
    public static int Empty(string path)
    {
        if (!Directory.Exists(path))
        {
            return 0;
        }

        var removed = 0;
        foreach (var entry in new DirectoryInfo(path).EnumerateFileSystemInfos())
        {
            removed += Remove(entry);
        }

        return removed;
    }

    /// <summary>Removes a file, a link, or a directory tree (links inside it are removed, not followed); returns the files removed.</summary>
    public static int Remove(FileSystemInfo entry)
    {
        if (entry is DirectoryInfo directory && entry.LinkTarget is null)
        {
            var removed = directory.EnumerateFileSystemInfos().Sum(Remove);
            directory.Delete();
            return removed;
        }

        entry.Delete();
        return 1;
    }

    /// <summary>
    /// Every file and directory under the data directory, by path relative to it, as a delta restore compares them:
    /// links to directories are followed (pg_wal kept on another disk stays there), tablespace links into their
    /// PG_{major}_ directories only.
    /// </summary>
    public static (Dictionary<string, FileInfo> Files, List<(string Path, DirectoryInfo Directory)> Directories) Enumerate(string dataDirectory, int pgMajorVersion)
    {
        var files = new Dictionary<string, FileInfo>(StringComparer.Ordinal);
        var directories = new List<(string, DirectoryInfo)>();
        Walk(new DirectoryInfo(dataDirectory), string.Empty, files, directories, pgMajorVersion);
        return (files, directories);
    }

    private static void Walk(DirectoryInfo directory, string relative, Dictionary<string, FileInfo> files, List<(string, DirectoryInfo)> directories, int pgMajorVersion)
    {
        foreach (var entry in directory.EnumerateFileSystemInfos())
        {
            var path = relative.Length == 0 ? entry.Name : relative + "/" + entry.Name;
            if (relative == "pg_tblspc" && entry.LinkTarget is not null)
            {
                if (entry.ResolveLinkTarget(returnFinalTarget: true) is DirectoryInfo { Exists: true } location)
                {
                    foreach (var version in location.EnumerateDirectories($"PG_{pgMajorVersion}_*"))
                    {
                        directories.Add((path + "/" + version.Name, version));
                        Walk(version, path + "/" + version.Name, files, directories, pgMajorVersion);
                    }
                }

                continue;
            }

            var target = entry.LinkTarget is null ? entry : entry.ResolveLinkTarget(returnFinalTarget: true);
            if (target is DirectoryInfo { Exists: true } subdirectory)
            {
                directories.Add((path, subdirectory));
                Walk(subdirectory, path, files, directories, pgMajorVersion);
            }
            else if (entry is FileInfo file)
            {
                files[path] = file;
            }
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
