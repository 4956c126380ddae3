using PgDr.Archive.Configuration;
using PgDr.Archive.Transfer;
using PgDr.Archive.Wal;
using PgDr.Errors;

namespace PgDr.Archive.Async;

/// <summary>How the foreground half of an async push waits.</summary>
public sealed class AsyncWalPushOptions
{
    /// <summary>
    /// How long archive_command waits for the worker's verdict before it exits non-zero. PostgreSQL then calls it
    /// again, and the worker keeps pushing meanwhile; a long wait would only hide a stuck repository.
    /// </summary>
    public TimeSpan AcknowledgementTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Starts the push worker for a pg_wal directory when none holds the lock. Default: a detached
    /// <c>pgdr wal push-worker</c> process; tests run the worker in-process instead.
    /// </summary>
    public Action<string>? StartWorker { get; init; }
}

/// <summary>What the foreground push did.</summary>
public sealed class AsyncWalPushResult
{
    public required string WalFileName { get; init; }

    /// <summary>True when the worker acknowledged it; false when it was pushed synchronously (no archive_status to look ahead at).</summary>
    public bool Acknowledged { get; init; }

    /// <summary>The synchronous push's result, when there was one.</summary>
    public WalPushResult? Pushed { get; init; }

    public TimeSpan Waited { get; init; }
}

/// <summary>
/// pgdr wal push in async mode: the short-lived half that PostgreSQL's archiver runs. It answers from the spool
/// when the worker already pushed the file (the usual case on a busy primary: the worker looked ahead at the .ready
/// files), makes sure a worker runs otherwise, and waits for its verdict with a deadline.
/// </summary>
public static class AsyncWalPush
{
    private static readonly TimeSpan FirstPoll = TimeSpan.FromMilliseconds(2);
    private static readonly TimeSpan LastPoll = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan FirstWorkerCheck = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LastWorkerCheck = TimeSpan.FromSeconds(5);

    public static async Task<AsyncWalPushResult> PushAsync(PgDrConfig config, string path, AsyncWalPushOptions? options, CancellationToken cancellationToken)
    {
        options ??= new AsyncWalPushOptions();
        var name = WalFileName.Parse(Path.GetFileName(path));
        var spool = AsyncSpool.For(config).EnsureDirectories();
        var pgWal = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var started = DateTime.UtcNow;

        // The worker finds work through archive_status/*.ready. A file outside a pg_wal (an admin pushing a copy by
        // hand) has none, so it is pushed here, synchronously, with the same guarantees.
        if (!File.Exists(Path.Combine(pgWal, "archive_status", name.Name + ".ready")))
        {
            var pushed = await WalPushService.PushAsync(config, path, cancellationToken).ConfigureAwait(false);
            return new AsyncWalPushResult { WalFileName = name.Name, Acknowledged = false, Pushed = pushed, Waited = DateTime.UtcNow - started };
        }

        var startWorker = options.StartWorker ?? (directory => WorkerLauncher.StartPushWorker(config.SourcePath, directory));
        var deadline = started + options.AcknowledgementTimeout;
        var poll = FirstPoll;
        var workerCheckInterval = FirstWorkerCheck;
        var nextWorkerCheck = started;
        while (true)
        {
            if (spool.TakeAcknowledgement(name.Name) is { } verdict)
            {
                return verdict.Succeeded
                    ? new AsyncWalPushResult { WalFileName = name.Name, Acknowledged = true, Waited = DateTime.UtcNow - started }
                    : throw new PgDrArchiveException(verdict.ErrorId!, PgDrErrorCategory.WriteError, verdict.Message!, name.Name);
            }

            var now = DateTime.UtcNow;
            if (now >= deadline)
            {
                throw new PgDrException(
                    ErrorIds.AsyncAcknowledgementTimeout,
                    PgDrErrorCategory.OperationTimeout,
                    $"{name.Name} is not archived yet: the async push worker gave no verdict within {options.AcknowledgementTimeout.TotalSeconds:0} s (see {spool.PushLogPath}); PostgreSQL will try again.",
                    name.Name);
            }

            // Checked again later too: a worker may exit idle just as we start waiting, or die.
            if (now >= nextWorkerCheck)
            {
                if (!AsyncSpool.IsLocked(spool.PushLockPath))
                {
                    startWorker(pgWal);
                }

                nextWorkerCheck = now + workerCheckInterval;
                workerCheckInterval = TimeSpan.FromTicks(Math.Min(workerCheckInterval.Ticks * 2, LastWorkerCheck.Ticks));
            }

            await Task.Delay(poll, cancellationToken).ConfigureAwait(false);
            poll = TimeSpan.FromTicks(Math.Min(poll.Ticks * 2, LastPoll.Ticks));
        }
    }
}
