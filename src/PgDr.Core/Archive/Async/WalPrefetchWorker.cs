using System.Globalization;
using PgDr.Archive.Configuration;
using PgDr.Archive.Repositories;
using PgDr.Archive.Transfer;
using PgDr.Archive.Wal;
using PgDr.Errors;

namespace PgDr.Archive.Async;

/// <summary>How the prefetch worker runs; everything not set comes from the configuration's <c>async</c> section.</summary>
public sealed class WalPrefetchWorkerOptions
{
    /// <summary>Segments fetched at once (default: async.parallel).</summary>
    public int? Parallel { get; init; }

    /// <summary>
    /// How many segments after the last one restore_command delivered are kept in the spool (default: twice the
    /// parallelism, 128 MiB of 16 MiB segments with the default 4, as pgBackRest's default queue). Looking only as far
    /// ahead as fetches run left restore_command waiting for every fourth segment.
    /// </summary>
    public int? LookAhead { get; init; }

    /// <summary>How long one fetch may take (default: async.timeoutSeconds).</summary>
    public TimeSpan? FetchTimeout { get; init; }

    /// <summary>Prefetched files older than this are removed: recovery went elsewhere (another timeline, a new target).</summary>
    public TimeSpan MaxAge { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>After a segment no repository has, the segments from it on are not asked for again before this long.</summary>
    public TimeSpan MissingRetry { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>The worker exits after this long without a new request or a fetched segment.</summary>
    public TimeSpan IdleExit { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(50);

    public TimeSpan LockWait { get; init; } = TimeSpan.FromSeconds(2);

    public Func<RepositoryConfig, IArchiveRepository>? RepositoryFactory { get; init; }

    public TextWriter? Log { get; init; }
}

/// <summary>What one run of the prefetch worker did.</summary>
public sealed class WalPrefetchWorkerResult
{
    public bool Ran { get; init; }

    public int Prefetched { get; init; }

    public int Removed { get; init; }
}

/// <summary>
/// pgdr wal fetch-worker: fetches the segments after the one restore_command last delivered (the spool's
/// fetch-request) into the spool's in/ directory, verified and renamed into place by <see cref="WalFetchService"/>
/// (fsynced only where the machine has no boot id: see <see cref="AsyncSpool.BootId"/>), so the next restore_command
/// only has to move a file. Only complete segments of the
/// requested timeline are prefetched: PostgreSQL asks for history files and .partial files by name when it needs them,
/// and guessing them would only fetch files that are not there.
/// </summary>
public static class WalPrefetchWorker
{
    public static async Task<WalPrefetchWorkerResult> RunAsync(PgDrConfig config, WalPrefetchWorkerOptions options, CancellationToken cancellationToken)
    {
        var spool = AsyncSpool.For(config).EnsureDirectories();
        var held = await AsyncSpool.LockAsync(spool.FetchLockPath, options.LockWait, cancellationToken).ConfigureAwait(false);
        if (held is null)
        {
            return new WalPrefetchWorkerResult { Ran = false };
        }

        using (held)
        {
            return await new Run(config, options, spool).LoopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Removes prefetched files recovery will not ask for: not a segment of the requested timeline, behind the requested
    /// one, older than <paramref name="maxAge"/>, or a temporary file a crashed fetch left. Returns how many it removed.
    /// </summary>
    internal static int RemoveUnwanted(AsyncSpool spool, (WalFileName Name, long SegmentSize)? request, TimeSpan maxAge, ISet<string> inFlight)
    {
        var removed = 0;
        var now = DateTime.UtcNow;
        foreach (var path in Directory.EnumerateFiles(spool.InDirectory))
        {
            var file = Path.GetFileName(path);
            var age = now - File.GetLastWriteTimeUtc(path);
            bool unwanted;
            if (file.StartsWith('.'))
            {
                // A temporary file of a fetch in flight is young; one of a crashed worker grows old.
                unwanted = age > maxAge;
            }
            else if (inFlight.Contains(file))
            {
                unwanted = false;
            }
            else
            {
                unwanted = age > maxAge || request is not { } r || !WalFileName.TryParse(file, out var name) || IsBehind(name, r.Name, r.SegmentSize);
            }

            if (unwanted)
            {
                AsyncSpool.TryDelete(path);
                removed++;
            }
        }

        return removed;
    }

    // The requested segment itself is not behind: restore_command records its request before it moves the file away,
    // so that the prefetcher never fetches again a file that is being delivered.
    private static bool IsBehind(WalFileName name, WalFileName request, long segmentSize) =>
        name.Kind != WalFileKind.Segment
        || name.Timeline != request.Timeline
        || name.SegmentNumber(segmentSize) < request.SegmentNumber(segmentSize);

    private sealed class Run(PgDrConfig config, WalPrefetchWorkerOptions options, AsyncSpool spool)
    {
        private readonly int _parallel = options.Parallel ?? config.Async?.Parallel ?? 4;
        private readonly TimeSpan _timeout = options.FetchTimeout ?? TimeSpan.FromSeconds(config.Async?.TimeoutSeconds ?? 300);
        private readonly TextWriter _log = TextWriter.Synchronized(options.Log ?? TextWriter.Null);

        private int LookAhead => options.LookAhead ?? 2 * _parallel;

        private enum Outcome
        {
            Fetched,
            Missing,
            Failed,
        }

        public async Task<WalPrefetchWorkerResult> LoopAsync(CancellationToken cancellationToken)
        {
            var running = new Dictionary<string, Task<Outcome>>(StringComparer.Ordinal);
            var prefetched = 0;
            var removed = 0;
            var lastActivity = DateTime.UtcNow;
            (WalFileName Name, long SegmentSize)? lastRequest = null;
            (ulong Number, uint Timeline, DateTime RetryAt)? missing = null;
            var failedUntil = new Dictionary<string, DateTime>(StringComparer.Ordinal);
            Log("started");
            try
            {
                if (spool.ClaimPrefetchesForThisBoot() is > 0 and var stale)
                {
                    Log(FormattableString.Invariant($"removed {stale} file(s) prefetched before the machine's last boot"));
                    removed += stale;
                }

                while (!cancellationToken.IsCancellationRequested)
                {
                    var request = spool.ReadFetchRequest();
                    if (request is { } changed && !Equals(changed.Name, lastRequest?.Name))
                    {
                        lastRequest = request;
                        lastActivity = DateTime.UtcNow;
                    }

                    removed += RemoveUnwanted(spool, request, options.MaxAge, running.Keys.ToHashSet(StringComparer.Ordinal));
                    if (request is { } r)
                    {
                        var next = r.Name;
                        for (var i = 0; i < LookAhead && running.Count < _parallel; i++)
                        {
                            next = next.Next(r.SegmentSize);
                            var number = next.SegmentNumber(r.SegmentSize);

                            // Stop at the first segment no repository had: the ones after it do not exist yet either.
                            if (missing is { } m && m.Timeline == next.Timeline && number >= m.Number && DateTime.UtcNow < m.RetryAt)
                            {
                                break;
                            }

                            if (running.ContainsKey(next.Name)
                                || File.Exists(Path.Combine(spool.InDirectory, next.Name))
                                || (failedUntil.TryGetValue(next.Name, out var until) && DateTime.UtcNow < until))
                            {
                                continue;
                            }

                            running[next.Name] = FetchOneAsync(next, cancellationToken);
                        }
                    }

                    if (running.Count == 0)
                    {
                        if (DateTime.UtcNow - lastActivity >= options.IdleExit)
                        {
                            break;
                        }

                        await Task.Delay(options.PollInterval, cancellationToken).ConfigureAwait(false);
                        continue;
                    }

                    await Task.WhenAny(running.Values.Append(Task.Delay(options.PollInterval, cancellationToken))).ConfigureAwait(false);
                    foreach (var (name, task) in running.Where(t => t.Value.IsCompleted).ToList())
                    {
                        running.Remove(name);
                        var outcome = task.IsCompletedSuccessfully ? task.Result : Outcome.Failed;
                        var parsed = WalFileName.Parse(name);
                        var size = lastRequest?.SegmentSize ?? WalSegmentSize.Default;
                        switch (outcome)
                        {
                            case Outcome.Fetched:
                                prefetched++;
                                lastActivity = DateTime.UtcNow;
                                break;
                            case Outcome.Missing:
                                var number = parsed.SegmentNumber(size);
                                if (missing is not { } m || m.Timeline != parsed.Timeline || number <= m.Number || DateTime.UtcNow >= m.RetryAt)
                                {
                                    missing = (number, parsed.Timeline, DateTime.UtcNow + options.MissingRetry);
                                }

                                break;
                            default:
                                failedUntil[name] = DateTime.UtcNow + options.MissingRetry;
                                break;
                        }
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
            }

            await Task.WhenAll(running.Values.Select(t => t.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default))).ConfigureAwait(false);
            Log(FormattableString.Invariant($"exiting: {prefetched} prefetched, {removed} removed"));
            return new WalPrefetchWorkerResult { Ran = true, Prefetched = prefetched, Removed = removed };
        }

        private async Task<Outcome> FetchOneAsync(WalFileName name, CancellationToken cancellationToken)
        {
            await Task.Yield();
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            attempt.CancelAfter(_timeout);
            var fetch = WalFetchService.FetchAsync(config, name.Name, Path.Combine(spool.InDirectory, name.Name), attempt.Token, options.RepositoryFactory, flushToDisk: AsyncSpool.PrefetchesNeedFsync);
            try
            {
                await fetch.WaitAsync(attempt.Token).ConfigureAwait(false);
                return Outcome.Fetched;
            }
            catch (PgDrException ex) when (ex.ErrorId == ErrorIds.WalNotFound)
            {
                return Outcome.Missing;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                _ = fetch.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
                Log($"{name.Name}: fetching took longer than {_timeout.TotalSeconds:0.###} s; abandoned");
                return Outcome.Failed;
            }
            catch (Exception ex) when (ex is PgDrException or IOException or UnauthorizedAccessException)
            {
                // restore_command will fetch it itself; the prefetcher only tries again a little later.
                Log($"{name.Name}: {ex.Message}");
                return Outcome.Failed;
            }
        }

        private void Log(string line) =>
            _log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss.fff}Z fetch-worker[{Environment.ProcessId}]: {line}"));
    }
}
