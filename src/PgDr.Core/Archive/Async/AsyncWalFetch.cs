using PgDr.Archive.Configuration;
using PgDr.Archive.Repositories;
using PgDr.Archive.Transfer;
using PgDr.Archive.Wal;
using PgDr.Errors;
using PgDr.Hosting;

namespace PgDr.Archive.Async;

/// <summary>How the foreground half of an async fetch starts its prefetcher.</summary>
public sealed class AsyncWalFetchOptions
{
    /// <summary>Starts the prefetch worker when none holds the lock. Default: a detached <c>pgdr wal fetch-worker</c>.</summary>
    public Action? StartWorker { get; init; }

    public Func<RepositoryConfig, IArchiveRepository>? RepositoryFactory { get; init; }
}

/// <summary>
/// pgdr wal fetch in async mode: a segment the prefetcher already put in the spool in this boot of the machine is moved
/// into place (it was verified and renamed when it was fetched; see <see cref="AsyncSpool.BootId"/>); anything else is fetched as in synchronous mode. After each
/// delivered segment the prefetcher is told where recovery is, and started if it does not run.
/// </summary>
public static class AsyncWalFetch
{
    /// <summary>What <see cref="WalFetchResult.Repository"/> says for a file that came from the spool.</summary>
    public const string SpoolRepository = "(async spool)";

    private static readonly TimeSpan StalledFetch = TimeSpan.FromSeconds(5);

    public static async Task<WalFetchResult> FetchAsync(PgDrConfig config, string walFileName, string destination, AsyncWalFetchOptions? options, CancellationToken cancellationToken)
    {
        options ??= new AsyncWalFetchOptions();
        var name = WalFileName.Parse(walFileName);
        if (name.Kind != WalFileKind.Segment)
        {
            // History and .partial files are asked for rarely, by name, and often do not exist: no prefetching for them.
            return await WalFetchService.FetchAsync(config, name.Name, destination, cancellationToken, options.RepositoryFactory).ConfigureAwait(false);
        }

        var spool = AsyncSpool.For(config).EnsureDirectories();
        var result = await TakePrefetchedAsync(spool, name, destination, cancellationToken).ConfigureAwait(false);
        if (result is null && await PrefetchLandsAsync(spool, name, TimeSpan.FromSeconds(config.Async!.TimeoutSeconds), cancellationToken).ConfigureAwait(false))
        {
            result = await TakePrefetchedAsync(spool, name, destination, cancellationToken).ConfigureAwait(false);
        }

        if (result is null)
        {
            result = await WalFetchService.FetchAsync(config, name.Name, destination, cancellationToken, options.RepositoryFactory).ConfigureAwait(false);

            // The size of a delivered segment is the cluster's segment size, which the prefetcher needs to name the next ones.
            if (WalSegmentSize.IsValid(result.Bytes))
            {
                spool.WriteFetchRequest(name, result.Bytes);
            }
        }

        if (WalSegmentSize.IsValid(result.Bytes))
        {
            if (!AsyncSpool.IsLocked(spool.FetchLockPath))
            {
                (options.StartWorker ?? (() => WorkerLauncher.StartFetchWorker(config.SourcePath)))();
            }
        }

        return result;
    }

    /// <summary>
    /// True once the prefetcher's fetch of this very segment, if one is in flight, has landed in the spool; false when
    /// none is in flight or it ended without a file (it failed: the caller fetches by itself). Fetching it here in
    /// parallel would only do the same work twice on the same CPUs. A fetch counts as in flight while its temporary
    /// file is being written to, so a file left by a killed worker is not waited for.
    /// </summary>
    private static async Task<bool> PrefetchLandsAsync(AsyncSpool spool, WalFileName name, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var final = Path.Combine(spool.InDirectory, name.Name);
        var inFlight = WalFetchService.TemporaryPrefix(name.Name) + "*";
        var deadline = DateTime.UtcNow + timeout;
        var poll = TimeSpan.FromMilliseconds(1);
        while (DateTime.UtcNow < deadline
            && Directory.EnumerateFiles(spool.InDirectory, inFlight).Any(temp => DateTime.UtcNow - File.GetLastWriteTimeUtc(temp) < StalledFetch))
        {
            await Task.Delay(poll, cancellationToken).ConfigureAwait(false);
            poll = TimeSpan.FromTicks(Math.Min(poll.Ticks * 2, TimeSpan.FromMilliseconds(20).Ticks));
        }

        return File.Exists(final);
    }

    /// <summary>Moves a prefetched segment to the destination, or returns null when there is none.</summary>
    private static async Task<WalFetchResult?> TakePrefetchedAsync(AsyncSpool spool, WalFileName name, string destination, CancellationToken cancellationToken)
    {
        var source = Path.Combine(spool.InDirectory, name.Name);
        var target = Path.GetFullPath(destination);
        if (!spool.PrefetchesTrusted())
        {
            // Written before the machine's last boot, unsynced: the prefetcher removes them; fetch this one afresh.
            return null;
        }

        try
        {
            var bytes = new FileInfo(source).Length;

            // Recorded first: the prefetcher moves its window on, and does not fetch this file again once it is gone.
            if (WalSegmentSize.IsValid(bytes))
            {
                spool.WriteFetchRequest(name, bytes);
            }

            if (!OperatingSystem.IsLinux())
            {
                File.Move(source, target, overwrite: true);
                return Delivered(name, destination, bytes);
            }

            var errno = LinuxFileSystem.Rename(source, target);
            if (errno == LinuxFileSystem.ENOENT)
            {
                return null;
            }

            if (errno == LinuxFileSystem.EXDEV)
            {
                // The spool is on another filesystem than pg_wal: copy aside, then rename, as a fetch does (fsynced below).
                await DurableFile.CopyAsync(source, target, WalFetchService.TemporaryPathFor(target), mode: null, flushToDisk: false, cancellationToken).ConfigureAwait(false);
                File.Delete(source);
            }
            else if (errno != 0)
            {
                throw new IOException($"Cannot move {source} to {target}: {LinuxFileSystem.Describe(errno)}");
            }

            if (!WalFetchService.PostgresMakesDurable(target))
            {
                // Not restore_command's %p (a fetch by hand): nobody else will make the prefetched, unsynced file durable.
                using (var delivered = new FileStream(target, FileMode.Open, FileAccess.ReadWrite))
                {
                    delivered.Flush(flushToDisk: true);
                }

                LinuxFileSystem.SyncDirectory(Path.GetDirectoryName(target)!);
            }

            return Delivered(name, destination, bytes);
        }
        catch (FileNotFoundException)
        {
            // Not prefetched, or removed as stale just now: fetch it from the repositories.
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new PgDrArchiveException(ErrorIds.WalFetchFailed, PgDrErrorCategory.WriteError, $"{name.Name} could not be taken from the async spool: {ex.Message}", name.Name, ex);
        }
    }

    // The prefetcher verified the content against the archived checksum; hashing 16 MiB again here would only slow
    // recovery down, so no checksum is reported for a spool delivery.
    private static WalFetchResult Delivered(WalFileName name, string destination, long bytes) =>
        new() { WalFileName = name.Name, Repository = SpoolRepository, Destination = destination, Bytes = bytes };
}
