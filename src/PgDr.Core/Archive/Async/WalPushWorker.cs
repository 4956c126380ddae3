using System.Globalization;
using PgDr.Archive.Configuration;
using PgDr.Archive.Repositories;
using PgDr.Archive.Transfer;
using PgDr.Archive.Wal;
using PgDr.Errors;

namespace PgDr.Archive.Async;

/// <summary>How the push worker runs; everything not set comes from the configuration's <c>async</c> section.</summary>
public sealed class WalPushWorkerOptions
{
    /// <summary>The cluster's pg_wal directory; the worker looks ahead at its archive_status/*.ready files.</summary>
    public required string PgWalDirectory { get; init; }

    /// <summary>Segments pushed at once (default: async.parallel).</summary>
    public int? Parallel { get; init; }

    /// <summary>How long one attempt may take (default: async.timeoutSeconds).</summary>
    public TimeSpan? SegmentTimeout { get; init; }

    /// <summary>Further attempts after a transient failure or a timeout (default: async.retries).</summary>
    public int? Retries { get; init; }

    /// <summary>The first pause before a retry; it doubles with each retry, up to 30 s.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The worker exits after this long with nothing to push, so nothing lingers when the server is idle.</summary>
    public TimeSpan IdleExit { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How often archive_status is listed while nothing completes.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>How long to wait for the lock before concluding that another worker runs.</summary>
    public TimeSpan LockWait { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Repositories from configuration entries (tests substitute slow or failing ones).</summary>
    public Func<RepositoryConfig, IArchiveRepository>? RepositoryFactory { get; init; }

    /// <summary>One line per event (the CLI points it at the spool's log file).</summary>
    public TextWriter? Log { get; init; }
}

/// <summary>What one run of the push worker did.</summary>
public sealed class WalPushWorkerResult
{
    /// <summary>False when another worker held the lock, so this one did nothing.</summary>
    public bool Ran { get; init; }

    public int Acknowledged { get; init; }

    public int Failed { get; init; }

    /// <summary>Attempts that failed or timed out and were tried again.</summary>
    public int Retries { get; init; }

    /// <summary>The most segments that were being pushed at the same moment.</summary>
    public int PeakParallel { get; init; }
}

/// <summary>
/// pgdr wal push-worker: the long-lived half of async archiving. It holds the spool's push lock, looks ahead at
/// pg_wal/archive_status/*.ready (oldest first, timeline history files before segments, as PostgreSQL's archiver
/// orders them) and pushes up to <c>parallel</c> of them at once in this one process, each attempt with its own
/// timeout, so that archive_command only has to pick up an acknowledgement. It never touches .ready files:
/// PostgreSQL renames them once archive_command has returned 0.
/// </summary>
public static class WalPushWorker
{
    // After the foreground took a segment's .ok, PostgreSQL renames its .ready to .done within moments. Until then the
    // .ready is still listed; it is pushed again only if the .ready outlives its acknowledgement by this much (the
    // archiver died between the two, and PostgreSQL will ask again).
    private static readonly TimeSpan RepushAfterConsumed = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(30);

    // Errors for which another attempt within the same worker run may help. Everything else (a different segment
    // under the same name, another cluster's repository, a bad key or configuration) is reported to PostgreSQL at once.
    private static readonly HashSet<string> TransientErrorIds = new(StringComparer.Ordinal)
    {
        ErrorIds.RepositoryUnavailable,
        ErrorIds.RepositoryOperationFailed,
        ErrorIds.RepositoryFull,
        ErrorIds.AsyncPushTimeout,
        ErrorIds.Timeout,
    };

    public static async Task<WalPushWorkerResult> RunAsync(PgDrConfig config, WalPushWorkerOptions options, CancellationToken cancellationToken)
    {
        var spool = AsyncSpool.For(config).EnsureDirectories();
        var statusDirectory = Path.Combine(Path.GetFullPath(options.PgWalDirectory), "archive_status");
        if (!Directory.Exists(statusDirectory))
        {
            throw new PgDrArgumentException(ErrorIds.AsyncSpoolUnavailable, $"{statusDirectory} does not exist: --pg-wal must name the cluster's pg_wal directory.", options.PgWalDirectory);
        }

        var held = await AsyncSpool.LockAsync(spool.PushLockPath, options.LockWait, cancellationToken).ConfigureAwait(false);
        if (held is null)
        {
            return new WalPushWorkerResult { Ran = false };
        }

        using (held)
        {
            spool.RemoveAbandonedPushFiles(TimeSpan.FromHours(1));
            var run = new Run(config, options, spool, statusDirectory);
            return await run.LoopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The .ready files under <paramref name="statusDirectory"/> in the order PostgreSQL archives them.</summary>
    internal static List<WalFileName> ListReady(string statusDirectory)
    {
        var names = new List<WalFileName>();
        try
        {
            foreach (var path in Directory.EnumerateFiles(statusDirectory, "*.ready"))
            {
                if (WalFileName.TryParse(Path.GetFileNameWithoutExtension(path), out var name))
                {
                    names.Add(name);
                }
            }
        }
        catch (DirectoryNotFoundException)
        {
            // The cluster was removed under us: nothing to push, and the idle exit follows.
        }

        // History files first: a standby following a new timeline needs them before its segments.
        return names
            .OrderBy(n => n.Kind == WalFileKind.TimelineHistory ? 0 : 1)
            .ThenBy(n => n.Name, StringComparer.Ordinal)
            .ToList();
    }

    private sealed class Run(PgDrConfig config, WalPushWorkerOptions options, AsyncSpool spool, string statusDirectory)
    {
        private readonly int _parallel = options.Parallel ?? config.Async?.Parallel ?? 4;
        private readonly TimeSpan _timeout = options.SegmentTimeout ?? TimeSpan.FromSeconds(config.Async?.TimeoutSeconds ?? 300);
        private readonly int _retries = options.Retries ?? config.Async?.Retries ?? 3;
        private readonly TextWriter _log = TextWriter.Synchronized(options.Log ?? TextWriter.Null);
        private readonly string _pgWal = Path.GetDirectoryName(statusDirectory)!;

        // Segments this run acknowledged, with the moment their .ok was seen consumed (null while it is still there).
        private readonly Dictionary<string, DateTime?> _acknowledged = new(StringComparer.Ordinal);
        private int _retryCount;

        public async Task<WalPushWorkerResult> LoopAsync(CancellationToken cancellationToken)
        {
            var running = new Dictionary<string, Task<bool>>(StringComparer.Ordinal);
            var acknowledged = 0;
            var failed = 0;
            var peak = 0;
            var lastActivity = DateTime.UtcNow;
            Log("started");
            try
            {
                while (!cancellationToken.IsCancellationRequested)
                {
                    var ready = ListReady(statusDirectory);
                    var readyNames = ready.Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
                    var verdicts = RemoveStaleVerdicts(readyNames, running);
                    ForgetAcknowledged(readyNames, verdicts);

                    foreach (var name in ready)
                    {
                        if (running.Count >= _parallel)
                        {
                            break;
                        }

                        if (!running.ContainsKey(name.Name) && !verdicts.Contains(name.Name) && !_acknowledged.ContainsKey(name.Name))
                        {
                            running[name.Name] = PushOneAsync(name, cancellationToken);
                        }
                    }

                    peak = Math.Max(peak, running.Count);
                    if (running.Count == 0)
                    {
                        if (DateTime.UtcNow - lastActivity >= options.IdleExit)
                        {
                            break;
                        }

                        await Task.Delay(options.PollInterval, cancellationToken).ConfigureAwait(false);
                        continue;
                    }

                    // Wake on the first completion, or after a poll interval to look ahead at new .ready files.
                    await Task.WhenAny(running.Values.Append(Task.Delay(options.PollInterval, cancellationToken))).ConfigureAwait(false);
                    foreach (var (name, task) in running.Where(r => r.Value.IsCompleted).ToList())
                    {
                        running.Remove(name);
                        lastActivity = DateTime.UtcNow;
                        if (task.IsCompletedSuccessfully && task.Result)
                        {
                            _acknowledged[name] = null;
                            acknowledged++;
                        }
                        else
                        {
                            // A verdict that could not even be written (the spool is gone) leaves the foreground to time out.
                            if (task.Exception is { } ex)
                            {
                                Log($"{name}: {ex.GetBaseException().Message}");
                            }

                            failed++;
                        }
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Stopping: the pushes in flight see the same token and end without publishing anything partial.
            }

            await Task.WhenAll(running.Values.Select(t => t.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default))).ConfigureAwait(false);
            Log(FormattableString.Invariant($"exiting: {acknowledged} acknowledged, {failed} failed, {_retryCount} retries, at most {peak} at once"));
            return new WalPushWorkerResult { Ran = true, Acknowledged = acknowledged, Failed = failed, Retries = _retryCount, PeakParallel = peak };
        }

        /// <summary>
        /// Removes verdicts whose .ready is gone (PostgreSQL archived the file another way, or the foreground gave up
        /// waiting and the segment was archived later); returns the names that still have one.
        /// </summary>
        private HashSet<string> RemoveStaleVerdicts(HashSet<string> readyNames, Dictionary<string, Task<bool>> running)
        {
            var remaining = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (name, path) in spool.ListAcknowledgements())
            {
                if (readyNames.Contains(name) || running.ContainsKey(name))
                {
                    remaining.Add(name);
                }
                else
                {
                    AsyncSpool.TryDelete(path);
                }
            }

            return remaining;
        }

        private void ForgetAcknowledged(HashSet<string> readyNames, HashSet<string> verdicts)
        {
            var now = DateTime.UtcNow;
            foreach (var (name, consumedAt) in _acknowledged.ToList())
            {
                if (!readyNames.Contains(name))
                {
                    _acknowledged.Remove(name);
                }
                else if (!verdicts.Contains(name))
                {
                    if (consumedAt is null)
                    {
                        _acknowledged[name] = now;
                    }
                    else if (now - consumedAt.Value > RepushAfterConsumed)
                    {
                        _acknowledged.Remove(name);
                    }
                }
            }
        }

        /// <summary>Pushes one file with retries; writes its verdict. True when it was acknowledged.</summary>
        private async Task<bool> PushOneAsync(WalFileName name, CancellationToken cancellationToken)
        {
            // Leave the loop's thread at once: the first await of a push may run for a while before it yields.
            await Task.Yield();
            PgDrException? last = null;
            for (var attempt = 0; attempt <= _retries; attempt++)
            {
                if (attempt > 0)
                {
                    Interlocked.Increment(ref _retryCount);
                    var delay = TimeSpan.FromTicks(Math.Min(options.RetryDelay.Ticks << Math.Min(attempt - 1, 16), MaxRetryDelay.Ticks));
                    Log($"{name.Name}: attempt {attempt} failed ({last!.Message} [{last.ErrorId}]); retrying in {delay.TotalSeconds:0.###} s");
                    await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                }

                try
                {
                    await PushWithTimeoutAsync(name, cancellationToken).ConfigureAwait(false);
                    spool.WriteOk(name.Name);
                    return true;
                }
                catch (PgDrException ex) when (!TransientErrorIds.Contains(ex.ErrorId) && ex.ErrorId != ErrorIds.AsyncSpoolUnavailable)
                {
                    last = ex;
                    break;
                }
                catch (PgDrException ex)
                {
                    last = ex;
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    // An I/O error of the WAL file or the temporary file: as transient as a repository hiccup.
                    last = new PgDrException(ErrorIds.RepositoryOperationFailed, PgDrErrorCategory.WriteError, $"{name.Name} is not archived: {ex.Message}", name.Name, ex);
                }
            }

            var tries = _retries + 1;
            var message = TransientErrorIds.Contains(last!.ErrorId) ? $"{last.Message} (the async worker tried {tries} time{(tries == 1 ? string.Empty : "s")})" : last.Message;
            Log($"{name.Name}: not archived: {message} [{last.ErrorId}]");
            spool.WriteError(name.Name, last.ErrorId, message);
            return false;
        }

        /// <summary>
        /// One attempt, bounded by the timeout even when a repository ignores cancellation: the attempt is then abandoned
        /// (its task is left to finish or fail on its own) and the caller retries.
        /// </summary>
        private async Task PushWithTimeoutAsync(WalFileName name, CancellationToken cancellationToken)
        {
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            attempt.CancelAfter(_timeout);
            var push = WalPushService.PushAsync(config, Path.Combine(_pgWal, name.Name), attempt.Token, options.RepositoryFactory);
            try
            {
                await push.WaitAsync(attempt.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                _ = push.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
                throw new PgDrException(
                    ErrorIds.AsyncPushTimeout,
                    PgDrErrorCategory.OperationTimeout,
                    string.Create(CultureInfo.InvariantCulture, $"{name.Name} is not archived: pushing it took longer than {_timeout.TotalSeconds:0.###} s"),
                    name.Name);
            }
        }

        private void Log(string line) =>
            _log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss.fff}Z push-worker[{Environment.ProcessId}]: {line}"));
    }
}
