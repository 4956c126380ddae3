using System.Globalization;
using System.Text.RegularExpressions;
using PgDr.Backup.Catalog;
using PgDr.Errors;

namespace PgDr.Backup.Create;

/// <summary>A file found in the data directory, with what it looked like before anything read it.</summary>
internal sealed record ScannedFile(string FullPath, string RelativePath, long Size, long ModifiedTicks, int Mode);

/// <summary>What a backup copies: directories, files, tablespaces, and pg_control apart (it is copied last).</summary>
internal sealed class DataDirectoryScan
{
    public required List<BackupDirectory> Directories { get; init; }

    public required List<ScannedFile> Files { get; init; }

    public required List<BackupTablespace> Tablespaces { get; init; }

    public required ScannedFile PgControl { get; init; }
}

/// <summary>
/// Walks a data directory the way pg_basebackup and pgBackRest do, leaving out what a restored cluster must not or
/// need not have: the WAL (the archive provides it), postmaster.pid/.opts, backup_label and tablespace_map (restore
/// writes the backup's own), recovery.signal/standby.signal (restore writes what it is asked for), the contents of
/// pg_dynshmem, pg_notify, pg_replslot, pg_serial, pg_snapshots, pg_stat_tmp and pg_subtrans (rebuilt at start),
/// pgsql_tmp* temporary files, pg_internal.init caches, and every fork but the init fork of unlogged relations
/// (PostgreSQL resets them from it at the end of recovery). The directories whose contents are left out are
/// still recorded, so a restore recreates them empty.
/// </summary>
internal static partial class DataDirectoryScanner
{
    public const string PgControlPath = "global/pg_control";

    private static readonly HashSet<string> ExcludedTopLevelFiles = new(StringComparer.Ordinal)
    {
        "postmaster.pid", "postmaster.opts", "backup_label", "tablespace_map", "backup_manifest",
        "postgresql.auto.conf.tmp", "current_logfiles.tmp", "recovery.signal", "standby.signal",
    };

    private static readonly HashSet<string> ContentsExcluded = new(StringComparer.Ordinal)
    {
        "pg_dynshmem", "pg_notify", "pg_replslot", "pg_serial", "pg_snapshots", "pg_stat_tmp", "pg_subtrans", "pg_wal",
    };

    public static DataDirectoryScan Scan(string dataDirectory, int pgMajorVersion)
    {
        var root = Path.GetFullPath(dataDirectory);
        var scan = new DataDirectoryScan { Directories = [], Files = [], Tablespaces = [], PgControl = null! };
        ScannedFile? pgControl = null;
        try
        {
            WalkDirectory(root, string.Empty, scan, file =>
            {
                if (file.RelativePath == PgControlPath)
                {
                    pgControl = file;
                    return false;
                }

                return true;
            }, pgMajorVersion, new HashSet<string>(StringComparer.Ordinal) { root });
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            throw new PgDrException(
                ErrorIds.BackupSourceUnreadable,
                ex is UnauthorizedAccessException ? PgDrErrorCategory.PermissionDenied : PgDrErrorCategory.ReadError,
                $"Cannot read the data directory {root}: {ex.Message} (run the backup as the postgres OS account or root, on the database host).",
                root,
                ex);
        }

        return new DataDirectoryScan
        {
            Directories = scan.Directories,
            Files = scan.Files,
            Tablespaces = scan.Tablespaces,
            PgControl = pgControl ?? throw new PgDrException(ErrorIds.BackupSourceMismatch, PgDrErrorCategory.InvalidData, $"{root} has no {PgControlPath}: it is not a PostgreSQL data directory.", root),
        };
    }

    private static void WalkDirectory(string fullPath, string relative, DataDirectoryScan scan, Func<ScannedFile, bool> accept, int pgMajorVersion, HashSet<string> visited)
    {
        var directory = new DirectoryInfo(fullPath);
        var entries = directory.EnumerateFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal).ToList();
        var unlogged = UnloggedRelations(entries);
        foreach (var entry in entries)
        {
            var name = entry.Name;
            var path = relative.Length == 0 ? name : relative + "/" + name;
            if (name.StartsWith("pgsql_tmp", StringComparison.Ordinal) || name.StartsWith("pg_internal.init", StringComparison.Ordinal))
            {
                continue;
            }

            if (relative.Length == 0 && ExcludedTopLevelFiles.Contains(name))
            {
                continue;
            }

            var isLink = entry.LinkTarget is not null;
            if (relative == "pg_tblspc" && isLink)
            {
                AddTablespace(entry, path, scan, accept, pgMajorVersion, visited);
                continue;
            }

            // Other links (pg_wal on another disk, a configuration file kept elsewhere) are followed: the backup holds
            // what they point to, and a restore writes it as a plain file or directory.
            var target = isLink ? entry.ResolveLinkTarget(returnFinalTarget: true) : entry;
            if (target is null || !target.Exists)
            {
                continue; // a dangling link
            }

            if (target is DirectoryInfo targetDirectory)
            {
                scan.Directories.Add(new BackupDirectory { Path = path, Mode = ModeOf(targetDirectory) });
                if (relative.Length == 0 && ContentsExcluded.Contains(name))
                {
                    if (name == "pg_wal")
                    {
                        scan.Directories.Add(new BackupDirectory { Path = "pg_wal/archive_status", Mode = ModeOf(targetDirectory) });
                    }

                    continue;
                }

                if (visited.Add(targetDirectory.FullName))
                {
                    WalkDirectory(targetDirectory.FullName, path, scan, accept, pgMajorVersion, visited);
                }
            }
            else if (target is FileInfo file && IsRegularFile(file))
            {
                if (unlogged.Count > 0 && IsUnloggedDataFork(name, unlogged))
                {
                    continue;
                }

                var scanned = new ScannedFile(Path.Combine(fullPath, name), path, file.Length, file.LastWriteTimeUtc.Ticks, ModeOf(file));
                if (accept(scanned))
                {
                    scan.Files.Add(scanned);
                }
            }
        }
    }

    private static void AddTablespace(FileSystemInfo link, string path, DataDirectoryScan scan, Func<ScannedFile, bool> accept, int pgMajorVersion, HashSet<string> visited)
    {
        if (!uint.TryParse(link.Name, NumberStyles.None, CultureInfo.InvariantCulture, out var oid) || link.ResolveLinkTarget(returnFinalTarget: true) is not DirectoryInfo location || !location.Exists)
        {
            return;
        }

        scan.Tablespaces.Add(new BackupTablespace { Oid = oid, Location = link.LinkTarget! });

        // A tablespace directory may hold the directories of several major versions (during pg_upgrade): only this one's.
        foreach (var versionDirectory in location.EnumerateDirectories($"PG_{pgMajorVersion}_*"))
        {
            var relative = path + "/" + versionDirectory.Name;
            scan.Directories.Add(new BackupDirectory { Path = relative, Mode = ModeOf(versionDirectory) });
            if (visited.Add(versionDirectory.FullName))
            {
                WalkDirectory(versionDirectory.FullName, relative, scan, accept, pgMajorVersion, visited);
            }
        }
    }

    /// <summary>The relfilenodes in a directory that have an init fork, i.e. belong to unlogged relations.</summary>
    private static HashSet<string> UnloggedRelations(List<FileSystemInfo> entries)
    {
        var result = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            var match = InitFork().Match(entry.Name);
            if (match.Success)
            {
                result.Add(match.Groups[1].Value);
            }
        }

        return result;
    }

    private static bool IsUnloggedDataFork(string name, HashSet<string> unlogged)
    {
        var match = RelationFork().Match(name);
        return match.Success && match.Groups[2].Value != "_init" && unlogged.Contains(match.Groups[1].Value);
    }

    // A socket or FIFO in the data directory would block the reader that opened it.
    private static bool IsRegularFile(FileInfo file) => !OperatingSystem.IsLinux() || Archive.Repositories.LinuxFileSystem.IsRegularFile(file.FullName);

    private static int ModeOf(FileSystemInfo entry) => OperatingSystem.IsWindows() ? 0 : (int)entry.UnixFileMode;

    [GeneratedRegex(@"^(\d+)_init(\.\d+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex InitFork();

    [GeneratedRegex(@"^(\d+)(_init|_fsm|_vm)?(\.\d+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex RelationFork();
}
