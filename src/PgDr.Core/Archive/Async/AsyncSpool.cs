using System.Globalization;
using System.Security.Cryptography;
using PgDr.Archive.Configuration;
using PgDr.Archive.Wal;
using PgDr.Errors;

namespace PgDr.Archive.Async;

/// <summary>
/// The spool directory through which the short-lived pgdr commands PostgreSQL runs talk to their long-lived workers.
/// Layout (one spool per cluster):
/// <code>
/// push-worker.lock    held (flock) by the running push worker
/// fetch-worker.lock   held by the running prefetch worker
/// fetch-request       the segment restore_command last delivered, and the segment size ("NAME SIZE")
/// fetch-boot-id       the boot of the machine in which the prefetcher wrote the files in in/ (Linux)
/// out/NAME.ok         the worker pushed NAME durably to every required repository
/// out/NAME.error      the worker gave up on NAME: error id on the first line, one-line message on the second
/// in/NAME             a prefetched segment, verified and renamed into place (fsynced only where there is no boot id)
/// *.log               what the workers did (they have no terminal and must not hold PostgreSQL's pipes)
/// </code>
/// Every file a reader may look at appears by rename, so a reader never sees a half-written one.
/// </summary>
public sealed class AsyncSpool
{
    public AsyncSpool(string root)
    {
        Root = Path.GetFullPath(root);
    }

    public string Root { get; }

    public string OutDirectory => Path.Combine(Root, "out");

    public string InDirectory => Path.Combine(Root, "in");

    public string PushLockPath => Path.Combine(Root, "push-worker.lock");

    public string FetchLockPath => Path.Combine(Root, "fetch-worker.lock");

    public string FetchRequestPath => Path.Combine(Root, "fetch-request");

    public string PushLogPath => Path.Combine(Root, "push-worker.log");

    public string FetchLogPath => Path.Combine(Root, "fetch-worker.log");

    public string FetchBootPath => Path.Combine(Root, "fetch-boot-id");

    /// <summary>
    /// The running kernel's boot id (Linux: a random UUID drawn at each boot), or null where there is none. Prefetched
    /// segments are not fsynced where it exists: PostgreSQL fsyncs whatever it keeps of restore_command's output itself
    /// (durable_rename in KeepFileRestoredFromArchive), so an fsync in the prefetcher only made recovery wait on the
    /// disk, and bounded async fetch by its write speed (250-310 MB/s here, below the decoding speed). Without an fsync
    /// a prefetched file is only trustworthy until the machine crashes, which always means a new boot; hence the mark.
    /// </summary>
    internal static string? BootId { get; } = ReadBootId();

    /// <summary>Whether the prefetcher must fsync each segment it writes into in/: only where no boot id exists.</summary>
    internal static bool PrefetchesNeedFsync => BootId is null;

    /// <summary>
    /// True when the files in in/ can be delivered: written in this boot (so the page cache holds what was written,
    /// whatever reached the disk), or fsynced where no boot id exists. restore_command fetches by itself otherwise.
    /// </summary>
    public bool PrefetchesTrusted() => BootId is null || string.Equals(ReadTrimmed(FetchBootPath), BootId, StringComparison.Ordinal);

    /// <summary>
    /// Called by the prefetcher under its lock before it writes into in/: files of an earlier boot are removed first,
    /// and only then is this boot recorded, so the mark never covers a file that may have lost its data in a crash. The
    /// mark itself needs no fsync: a mark lost in a crash names an older boot, which only discards more.
    /// </summary>
    public int ClaimPrefetchesForThisBoot()
    {
        if (BootId is null || PrefetchesTrusted())
        {
            return 0;
        }

        var removed = 0;
        foreach (var path in Directory.EnumerateFiles(InDirectory))
        {
            TryDelete(path);
            removed++;
        }

        WriteAside(FetchBootPath, BootId);
        return removed;
    }

    private static string? ReadBootId() => OperatingSystem.IsLinux() ? ReadTrimmed("/proc/sys/kernel/random/boot_id") : null;

    private static string? ReadTrimmed(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The spool of a configuration with an <c>async</c> section.</summary>
    public static AsyncSpool For(PgDrConfig config) =>
        config.Async is { SpoolPath.Length: > 0 } async
            ? new AsyncSpool(async.SpoolPath)
            : throw new PgDrArgumentException(ErrorIds.InvalidConfig, $"The configuration {config.SourcePath} has no 'async' section with a 'spoolPath'.", config.SourcePath);

    /// <summary>Creates the spool and its two queues if missing.</summary>
    public AsyncSpool EnsureDirectories()
    {
        try
        {
            Directory.CreateDirectory(OutDirectory);
            Directory.CreateDirectory(InDirectory);
            return this;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Unavailable(ex);
        }
    }

    /// <summary>
    /// Removes encoded copies that a killed or abandoned push left in the spool (they are deleted on close otherwise).
    /// Only files older than <paramref name="olderThan"/> go, so a push still at work keeps its file.
    /// </summary>
    public int RemoveAbandonedPushFiles(TimeSpan olderThan)
    {
        var removed = 0;
        var cutoff = DateTime.UtcNow - olderThan;
        foreach (var path in Directory.EnumerateFiles(Root, Transfer.WalPushService.TemporaryFilePrefix + "*.tmp"))
        {
            try
            {
                if (File.GetLastWriteTimeUtc(path) < cutoff)
                {
                    File.Delete(path);
                    removed++;
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Gone already, or not ours to delete: nothing to do.
            }
        }

        return removed;
    }

    public string OkPath(string walFileName) => Path.Combine(OutDirectory, walFileName + ".ok");

    public string ErrorPath(string walFileName) => Path.Combine(OutDirectory, walFileName + ".error");

    /// <summary>Tells the foreground push that <paramref name="walFileName"/> is durable in every required repository.</summary>
    public void WriteOk(string walFileName) => WriteAside(OkPath(walFileName), string.Empty);

    /// <summary>Tells the foreground push that the worker gave up on <paramref name="walFileName"/>, and why.</summary>
    public void WriteError(string walFileName, string errorId, string message) =>
        WriteAside(ErrorPath(walFileName), errorId + "\n" + OneLine(message) + "\n");

    /// <summary>
    /// The worker's verdict on <paramref name="walFileName"/>, removed as it is read (each verdict answers one
    /// archive_command call), or null while there is none.
    /// </summary>
    public SpoolAcknowledgement? TakeAcknowledgement(string walFileName)
    {
        try
        {
            var ok = OkPath(walFileName);
            if (File.Exists(ok))
            {
                File.Delete(ok);
                return new SpoolAcknowledgement(walFileName, Succeeded: true, null, null);
            }

            var error = ErrorPath(walFileName);
            if (!File.Exists(error))
            {
                return null;
            }

            string[] lines;
            try
            {
                lines = File.ReadAllLines(error);
            }
            catch (FileNotFoundException)
            {
                // The worker removed it as stale between our two looks: no verdict yet.
                return null;
            }

            File.Delete(error);
            var errorId = lines.Length > 0 && lines[0].Length > 0 ? lines[0] : ErrorIds.RepositoryOperationFailed;
            var message = lines.Length > 1 && lines[1].Length > 0 ? lines[1] : $"The async push worker could not archive {walFileName}.";
            return new SpoolAcknowledgement(walFileName, Succeeded: false, errorId, message);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Unavailable(ex);
        }
    }

    /// <summary>The WAL file names that have a verdict waiting in out/, each with the path of its file.</summary>
    public IReadOnlyList<(string WalFileName, string Path)> ListAcknowledgements()
    {
        var result = new List<(string, string)>();
        try
        {
            foreach (var path in Directory.EnumerateFiles(OutDirectory))
            {
                var file = Path.GetFileName(path);
                var name = file.EndsWith(".ok", StringComparison.Ordinal) ? file[..^3]
                    : file.EndsWith(".error", StringComparison.Ordinal) ? file[..^6]
                    : null;
                if (name is not null && WalFileName.TryParse(name, out _))
                {
                    result.Add((name, path));
                }
            }
        }
        catch (DirectoryNotFoundException)
        {
        }

        return result;
    }

    /// <summary>Where restore_command's last delivered segment is recorded for the prefetcher.</summary>
    public void WriteFetchRequest(WalFileName name, long segmentSize) =>
        WriteAside(FetchRequestPath, FormattableString.Invariant($"{name.Name} {segmentSize}\n"));

    /// <summary>The segment restore_command last delivered and the cluster's segment size, or null.</summary>
    public (WalFileName Name, long SegmentSize)? ReadFetchRequest()
    {
        string text;
        try
        {
            text = File.ReadAllText(FetchRequestPath);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }

        var parts = text.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
        return parts.Length == 2
            && WalFileName.TryParse(parts[0], out var name)
            && name.Kind == WalFileKind.Segment
            && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var size)
            && WalSegmentSize.IsValid(size)
                ? (name, size)
                : null;
    }

    /// <summary>
    /// Takes the exclusive lock at <paramref name="path"/> (flock through FileShare.None), or returns null when another
    /// process (or another handle in this one) holds it. The lock dies with its holder, so a crashed worker never
    /// leaves a lock behind that would keep a new one from starting.
    /// </summary>
    public static FileStream? TryLock(string path)
    {
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
        }
        catch (IOException ex) when (ex is not (FileNotFoundException or DirectoryNotFoundException or PathTooLongException))
        {
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new PgDrException(ErrorIds.AsyncSpoolUnavailable, PgDrErrorCategory.PermissionDenied, $"Cannot open the async spool lock {path}: {ex.Message}", path, ex);
        }
    }

    /// <summary>Whether a worker holds the lock at <paramref name="path"/> right now.</summary>
    public static bool IsLocked(string path)
    {
        using var probe = TryLock(path);
        return probe is null;
    }

    /// <summary>
    /// Takes the lock, waiting up to <paramref name="wait"/>: a foreground command may be probing it at the moment a new
    /// worker starts. Null when another worker keeps it.
    /// </summary>
    public static async Task<FileStream?> LockAsync(string path, TimeSpan wait, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            var held = TryLock(path);
            if (held is not null || DateTime.UtcNow >= deadline)
            {
                return held;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(25), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Writes beside the target and renames it into place, so readers see the old file or the whole new one.
    /// No fsync: a verdict lost in a crash only makes the worker push the segment again, which is idempotent.
    /// </summary>
    internal static void WriteAside(string path, string content)
    {
        var temp = Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}.{Convert.ToHexString(RandomNumberGenerator.GetBytes(4))}.tmp");
        try
        {
            File.WriteAllText(temp, content);
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new PgDrException(ErrorIds.AsyncSpoolUnavailable, PgDrErrorCategory.WriteError, $"Cannot write {path} in the async spool: {ex.Message}", path, ex);
        }
    }

    internal static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: the next worker pass removes what is left.
        }
    }

    // The verdict file holds one line per field; a message with line breaks (an inner exception's) must stay one line.
    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();

    private PgDrException Unavailable(Exception ex) =>
        new(ErrorIds.AsyncSpoolUnavailable, ex is UnauthorizedAccessException ? PgDrErrorCategory.PermissionDenied : PgDrErrorCategory.ResourceUnavailable, $"The async spool {Root} cannot be used: {ex.Message}", Root, ex);
}

/// <summary>The push worker's verdict on one WAL file.</summary>
public sealed record SpoolAcknowledgement(string WalFileName, bool Succeeded, string? ErrorId, string? Message);
