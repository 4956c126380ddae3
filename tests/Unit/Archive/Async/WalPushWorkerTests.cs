using System.Diagnostics;
using PgDr.Archive.Async;
using PgDr.Archive.Repositories;
using PgDr.Archive.Transfer;
using PgDr.Errors;
using PgDr.Tests.Cli;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Archive.Async;

[CollectionDefinition(Name)]
public sealed class AsyncCorpus : ICollectionFixture<WalCorpusFixture>
{
    public const string Name = "Async archiving over real WAL";
}

/// <summary>The push worker and the foreground push, over real WAL segments and a filesystem repository.</summary>
[Collection(AsyncCorpus.Name)]
public sealed class WalPushWorkerTests(WalCorpusFixture corpus)
{
    private static readonly TimeSpan QuickIdle = TimeSpan.FromMilliseconds(300);

    [Fact]
    public async Task Worker_pushes_ready_segments_in_parallel_acknowledges_each_and_leaves_ready_files_to_PostgreSQL()
    {
        var setup = await AsyncArchiveSetup.CreateAsync("push-par");
        var names = setup.AddReadySegments(corpus.Segments[0], 6);
        var config = setup.Config();
        var counter = new PutCounter();

        // Each upload takes at least 500 ms, so uploads can only overlap if the worker runs them in parallel.
        var result = await WalPushWorker.RunAsync(config, new WalPushWorkerOptions
        {
            PgWalDirectory = setup.PgWal,
            Parallel = 4,
            IdleExit = QuickIdle,
            RepositoryFactory = c => new InstrumentedRepository(ArchiveRepositoryFactory.Create(c), counter, _ => Task.Delay(500)),
        }, CancellationToken.None);

        Assert.True(result.Ran);
        Assert.Equal(6, result.Acknowledged);
        Assert.Equal(0, result.Failed);
        Assert.Equal(4, result.PeakParallel);

        // Compressing 16 MiB takes a varying time on 2 busy cores, so not all four uploads need meet; two must.
        Assert.InRange(counter.Peak, 2, 4);
        var spool = AsyncSpool.For(config);
        Assert.All(names, n => Assert.True(File.Exists(spool.OkPath(n)), n));
        Assert.All(names, n => Assert.True(File.Exists(Path.Combine(setup.StatusDirectory, n + ".ready")), n));
        var timeline = Assert.Single(await WalArchiveCatalog.ListAsync(config, null, CancellationToken.None));
        Assert.Equal(6, timeline.SegmentCount);
        Assert.True(timeline.Continuous);
        Assert.False(AsyncSpool.IsLocked(spool.PushLockPath));
    }

    [Fact]
    public async Task Foreground_push_starts_the_worker_once_and_returns_on_its_acknowledgement()
    {
        var setup = await AsyncArchiveSetup.CreateAsync("push-fg");
        var names = setup.AddReadySegments(corpus.Segments[1], 3);
        var config = setup.Config();
        var workers = new List<Task<WalPushWorkerResult>>();
        var options = new AsyncWalPushOptions
        {
            StartWorker = pgWal =>
            {
                lock (workers)
                {
                    workers.Add(Task.Run(() => WalPushWorker.RunAsync(config, new WalPushWorkerOptions { PgWalDirectory = pgWal, IdleExit = QuickIdle }, CancellationToken.None)));
                }
            },
        };

        foreach (var name in names)
        {
            var pushed = await AsyncWalPush.PushAsync(config, Path.Combine(setup.PgWal, name), options, CancellationToken.None);
            Assert.True(pushed.Acknowledged);

            // What PostgreSQL does once archive_command returned 0.
            File.Move(Path.Combine(setup.StatusDirectory, name + ".ready"), Path.Combine(setup.StatusDirectory, name + ".done"));
        }

        var worker = Assert.Single(workers);
        var result = await worker.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(3, result.Acknowledged);
        Assert.Empty(Directory.GetFiles(AsyncSpool.For(config).OutDirectory));
    }

    [Fact]
    public async Task Stuck_upload_is_abandoned_after_its_timeout_and_the_retry_archives_the_segment()
    {
        var setup = await AsyncArchiveSetup.CreateAsync("push-stuck");
        var name = Assert.Single(setup.AddReadySegments(corpus.Segments[2], 1));
        var config = setup.Config();
        var counter = new PutCounter();
        var never = new TaskCompletionSource();
        var attempts = 0;

        // The timeout is long enough for a real upload of 16 MiB on a loaded CI machine, so only the hung one times out.
        // Without abandonment the run never ends (the hang ignores cancellation): the bound turns that into a failure.
        var result = await WalPushWorker.RunAsync(config, new WalPushWorkerOptions
        {
            PgWalDirectory = setup.PgWal,
            SegmentTimeout = TimeSpan.FromSeconds(3),
            RetryDelay = TimeSpan.FromMilliseconds(50),
            IdleExit = QuickIdle,

            // The first upload hangs for ever and ignores cancellation, like a TCP connection that silently died.
            RepositoryFactory = c => new InstrumentedRepository(ArchiveRepositoryFactory.Create(c), counter, _ => Interlocked.Increment(ref attempts) == 1 ? never.Task : Task.CompletedTask),
        }, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(2));

        Assert.Equal(1, result.Acknowledged);
        Assert.Equal(1, result.Retries);
        Assert.Equal(2, attempts);
        Assert.True(File.Exists(AsyncSpool.For(config).OkPath(name)));
        Assert.Equal(1, Assert.Single(await WalArchiveCatalog.ListAsync(config, null, CancellationToken.None)).SegmentCount);
    }

    [Fact]
    public async Task Upload_stuck_on_every_attempt_fails_the_foreground_push_with_AsyncPushTimeout_instead_of_hanging()
    {
        var setup = await AsyncArchiveSetup.CreateAsync("push-hang");
        var name = Assert.Single(setup.AddReadySegments(corpus.Segments[0], 1));
        var config = setup.Config();
        var never = new TaskCompletionSource();
        var options = new AsyncWalPushOptions
        {
            AcknowledgementTimeout = TimeSpan.FromSeconds(20),
            StartWorker = pgWal => _ = Task.Run(() => WalPushWorker.RunAsync(config, new WalPushWorkerOptions
            {
                PgWalDirectory = pgWal,
                SegmentTimeout = TimeSpan.FromMilliseconds(300),
                Retries = 2,
                RetryDelay = TimeSpan.FromMilliseconds(50),
                IdleExit = QuickIdle,
                RepositoryFactory = c => new InstrumentedRepository(ArchiveRepositoryFactory.Create(c), new PutCounter(), _ => never.Task),
            }, CancellationToken.None)),
        };

        // AsyncPushTimeout (not AsyncAcknowledgementTimeout after 20 s) shows the worker gave up instead of hanging.
        var ex = await Assert.ThrowsAnyAsync<PgDrException>(() => AsyncWalPush.PushAsync(config, Path.Combine(setup.PgWal, name), options, CancellationToken.None));

        Assert.Equal(ErrorIds.AsyncPushTimeout, ex.ErrorId);
        Assert.Contains("3 times", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verdicts_whose_ready_file_is_gone_are_removed_by_the_worker()
    {
        var setup = await AsyncArchiveSetup.CreateAsync("push-stale");
        var config = setup.Config();
        var spool = AsyncSpool.For(config).EnsureDirectories();
        spool.WriteOk("0000000100000000000000B0");
        spool.WriteError("0000000100000000000000B1", ErrorIds.RepositoryUnavailable, "down");

        var result = await WalPushWorker.RunAsync(config, new WalPushWorkerOptions { PgWalDirectory = setup.PgWal, IdleExit = QuickIdle }, CancellationToken.None);

        Assert.Equal(0, result.Acknowledged);
        Assert.Empty(spool.ListAcknowledgements());
    }

    [Fact]
    public async Task Foreground_push_gives_up_with_AsyncAcknowledgementTimeout_when_no_worker_answers()
    {
        var setup = await AsyncArchiveSetup.CreateAsync("push-silent");
        var name = Assert.Single(setup.AddReadySegments(corpus.Segments[0], 1));
        var starts = 0;
        var options = new AsyncWalPushOptions { AcknowledgementTimeout = TimeSpan.FromSeconds(4), StartWorker = _ => Interlocked.Increment(ref starts) };

        var ex = await Assert.ThrowsAsync<PgDrException>(() => AsyncWalPush.PushAsync(setup.Config(), Path.Combine(setup.PgWal, name), options, CancellationToken.None));

        Assert.Equal(ErrorIds.AsyncAcknowledgementTimeout, ex.ErrorId);

        // Started at once, then again (after 1 s, and 3 s) because no worker took the lock. A loaded machine may wake
        // the waiter too late for the third, never for the second.
        Assert.InRange(starts, 2, 3);
    }

    [Fact]
    public async Task A_file_outside_pg_wal_is_pushed_synchronously()
    {
        var setup = await AsyncArchiveSetup.CreateAsync("push-sync");
        var options = new AsyncWalPushOptions { StartWorker = _ => throw new InvalidOperationException("no worker expected") };

        var result = await AsyncWalPush.PushAsync(setup.Config(), corpus.Segments[0], options, CancellationToken.None);

        Assert.False(result.Acknowledged);
        Assert.NotNull(result.Pushed);
        Assert.Equal(PushOutcome.Archived, Assert.Single(result.Pushed.Repositories).Outcome);
    }

    [Fact]
    public async Task Pgdr_push_in_async_mode_starts_a_detached_worker_and_exits_0_without_waiting_for_it_to_end()
    {
        var setup = await AsyncArchiveSetup.CreateAsync("push-cli");
        var name = Assert.Single(setup.AddReadySegments(corpus.Segments[1], 1));
        var configPath = await ArchiveTestSupport.WriteConfigAsync(setup.Directory, ArchiveTestSupport.ConfigJson("main", [ArchiveTestSupport.FileSystemRepository("local", setup.Repository)], spoolPath: setup.Spool));

        // The worker stays up to 10 s when idle: returning well before proves it holds none of our pipes.
        var clock = Stopwatch.StartNew();
        var run = await PgDrProcess.RunAsync(null, "wal", "push", "--config", configPath, Path.Combine(setup.PgWal, name));

        Assert.True(run.ExitCode == 0, run.StandardError);
        Assert.Equal(string.Empty, run.StandardError);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(8), $"took {clock.Elapsed}");
        Assert.False(File.Exists(AsyncSpool.For(setup.Config()).OkPath(name)));
        Assert.Equal(1, Assert.Single(await WalArchiveCatalog.ListAsync(setup.Config(), null, CancellationToken.None)).SegmentCount);
        Assert.Contains("push-worker", await File.ReadAllTextAsync(AsyncSpool.For(setup.Config()).PushLogPath), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pgdr_push_in_async_mode_exits_2_with_the_workers_error_id_when_the_repository_root_is_missing()
    {
        var setup = await AsyncArchiveSetup.CreateAsync("push-cli-err");
        var name = Assert.Single(setup.AddReadySegments(corpus.Segments[2], 1));
        var missing = Path.Combine(setup.Directory, "not-mounted");
        var configPath = await ArchiveTestSupport.WriteConfigAsync(setup.Directory, ArchiveTestSupport.ConfigJson("main", [ArchiveTestSupport.FileSystemRepository("local", missing)], spoolPath: setup.Spool));

        var clock = Stopwatch.StartNew();
        var run = await PgDrProcess.RunAsync(null, "wal", "push", "--config", configPath, Path.Combine(setup.PgWal, name));

        Assert.Equal(2, run.ExitCode);
        var line = Assert.Single(run.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("pgdr: ", line, StringComparison.Ordinal);
        Assert.EndsWith($"[{ErrorIds.RepositoryNotFound}]", line, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(8), $"took {clock.Elapsed}");
        Assert.False(Directory.Exists(missing));
    }
}
