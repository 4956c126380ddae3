using PgDr.Archive.Async;
using PgDr.Archive.Transfer;
using PgDr.Archive.Wal;
using PgDr.Errors;
using PgDr.Hosting;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Archive.Async;

/// <summary>Async fetch: the prefetcher fills the spool's in/ with verified segments and restore_command takes them.</summary>
[Collection(AsyncCorpus.Name)]
public sealed class WalPrefetchTests(WalCorpusFixture corpus)
{
    private const long SegmentSize = 16 * 1024 * 1024;

    [Fact]
    public async Task Prefetch_leaves_verified_next_segments_in_the_spool_and_fetch_consumes_them_until_the_archive_ends()
    {
        var setup = await AsyncArchiveSetup.CreateAsync("prefetch");
        var names = setup.AddReadySegments(corpus.Segments[0], 5);
        var config = setup.Config();
        foreach (var name in names)
        {
            await WalPushService.PushAsync(config, Path.Combine(setup.PgWal, name), CancellationToken.None);
        }

        var spool = AsyncSpool.For(config);
        Task<WalPrefetchWorkerResult>? worker = null;
        var options = new AsyncWalFetchOptions
        {
            StartWorker = () => worker ??= Task.Run(() => WalPrefetchWorker.RunAsync(config, new WalPrefetchWorkerOptions { Parallel = 2, IdleExit = TimeSpan.FromMilliseconds(500) }, CancellationToken.None)),
        };
        var restored = Directory.CreateDirectory(Path.Combine(setup.Directory, "restored")).FullName;
        var expected = ArchiveTestSupport.Sha256(corpus.Segments[0]);

        // Nothing prefetched yet: fetched from the repository, and the prefetcher starts behind it.
        var first = await AsyncWalFetch.FetchAsync(config, names[0], Path.Combine(restored, "RECOVERYXLOG"), options, CancellationToken.None);
        Assert.Equal("local", first.Repository);
        Assert.NotNull(worker);

        for (var i = 1; i < names.Count; i++)
        {
            var name = names[i];
            await Wait.UntilAsync(_ => Task.FromResult(File.Exists(Path.Combine(spool.InDirectory, name))), TimeSpan.FromSeconds(10), $"{name} to be prefetched", CancellationToken.None);
            var destination = Path.Combine(restored, "RECOVERYXLOG");
            var fetched = await AsyncWalFetch.FetchAsync(config, name, destination, options, CancellationToken.None);

            Assert.Equal(AsyncWalFetch.SpoolRepository, fetched.Repository);
            Assert.Null(fetched.Checksum);
            Assert.Equal(expected, ArchiveTestSupport.Sha256(destination));
            Assert.False(File.Exists(Path.Combine(spool.InDirectory, name)));
        }

        // The archive ends after the fifth: the prefetcher stops there, leaves nothing behind and exits when idle.
        var result = await worker.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(4, result.Prefetched);
        Assert.Empty(Directory.GetFiles(spool.InDirectory));
        await Assert.ThrowsAsync<PgDrNotFoundException>(() => AsyncWalFetch.FetchAsync(config, WalFileName.Parse(names[^1]).Next().Name, Path.Combine(restored, "RECOVERYXLOG"), options, CancellationToken.None));
    }

    [Fact]
    public async Task Prefetched_files_behind_the_request_on_another_timeline_or_too_old_are_removed_and_the_requested_one_is_kept()
    {
        var setup = await AsyncArchiveSetup.CreateAsync("prefetch-clean");
        var spool = AsyncSpool.For(setup.Config()).EnsureDirectories();
        string[] files =
        [
            "000000010000000000000010", // behind the request
            "000000010000000000000011", // the request itself: kept while restore_command moves it
            "000000010000000000000012", // ahead: kept
            "000000010000000000000013", // ahead but stale
            "000000020000000000000012", // another timeline
            "00000002.history",
        ];
        foreach (var file in files)
        {
            await File.WriteAllTextAsync(Path.Combine(spool.InDirectory, file), "x");
        }

        File.SetLastWriteTimeUtc(Path.Combine(spool.InDirectory, files[3]), DateTime.UtcNow.AddHours(-1));
        var request = (WalFileName.Parse(files[1]), SegmentSize);

        var removed = WalPrefetchWorker.RemoveUnwanted(spool, request, TimeSpan.FromMinutes(10), new HashSet<string>());

        Assert.Equal(4, removed);
        Assert.Equal(["000000010000000000000011", "000000010000000000000012"], Directory.GetFiles(spool.InDirectory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task History_and_partial_files_are_fetched_on_demand_and_never_start_the_prefetcher()
    {
        var setup = await AsyncArchiveSetup.CreateAsync("prefetch-hist");
        var config = setup.Config();
        var options = new AsyncWalFetchOptions { StartWorker = () => throw new InvalidOperationException("no prefetcher expected") };

        foreach (var name in new[] { "00000002.history", "000000010000000000000010.partial" })
        {
            var ex = await Assert.ThrowsAsync<PgDrNotFoundException>(() => AsyncWalFetch.FetchAsync(config, name, Path.Combine(setup.Directory, "RECOVERYXLOG"), options, CancellationToken.None));
            Assert.Equal(ErrorIds.WalNotFound, ex.ErrorId);
        }

        Assert.Null(AsyncSpool.For(config).ReadFetchRequest());
    }

    [Fact]
    public async Task Fetch_waits_for_the_prefetch_in_flight_of_its_segment_instead_of_fetching_it_again()
    {
        var setup = await AsyncArchiveSetup.CreateAsync("prefetch-inflight");
        var name = Assert.Single(setup.AddReadySegments(corpus.Segments[0], 1));
        var config = setup.Config();
        await WalPushService.PushAsync(config, Path.Combine(setup.PgWal, name), CancellationToken.None);
        var spool = AsyncSpool.For(config).EnsureDirectories();
        spool.ClaimPrefetchesForThisBoot(); // as the prefetcher does before it writes
        var options = new AsyncWalFetchOptions { StartWorker = () => { } };

        // A prefetch of this segment is being written: the fetch waits for it, then takes it from the spool.
        var temp = Path.Combine(spool.InDirectory, $".{name}.pgdr-000000000000.tmp");
        await File.WriteAllBytesAsync(temp, new byte[4096]);
        var fetch = AsyncWalFetch.FetchAsync(config, name, Path.Combine(setup.Directory, "RECOVERYXLOG"), options, CancellationToken.None);
        await Task.Delay(300);
        Assert.False(fetch.IsCompleted);
        File.Copy(corpus.Segments[0], Path.Combine(spool.InDirectory, name));
        File.Delete(temp);
        var waited = await fetch.WaitAsync(TimeSpan.FromSeconds(10));

        // A temporary file nobody writes to any more (a killed prefetcher left it) is not waited for.
        await File.WriteAllBytesAsync(temp, new byte[4096]);
        File.SetLastWriteTimeUtc(temp, DateTime.UtcNow.AddMinutes(-1));
        var direct = await AsyncWalFetch.FetchAsync(config, name, Path.Combine(setup.Directory, "RECOVERYXLOG"), options, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(AsyncWalFetch.SpoolRepository, waited.Repository);
        Assert.Equal("local", direct.Repository);
        Assert.Equal(ArchiveTestSupport.Sha256(corpus.Segments[0]), ArchiveTestSupport.Sha256(Path.Combine(setup.Directory, "RECOVERYXLOG")));
    }

    [Fact]
    public async Task Segments_prefetched_before_the_machine_rebooted_are_never_delivered_and_the_prefetcher_removes_them()
    {
        var setup = await AsyncArchiveSetup.CreateAsync("prefetch-boot");
        var name = Assert.Single(setup.AddReadySegments(corpus.Segments[0], 1));
        var config = setup.Config();
        await WalPushService.PushAsync(config, Path.Combine(setup.PgWal, name), CancellationToken.None);
        var spool = AsyncSpool.For(config).EnsureDirectories();
        Assert.NotNull(AsyncSpool.BootId);

        // What a crash of the machine can leave: an unsynced prefetch of the boot before, renamed but without its data.
        await File.WriteAllTextAsync(spool.FetchBootPath, Guid.NewGuid().ToString());
        await File.WriteAllBytesAsync(Path.Combine(spool.InDirectory, name), new byte[SegmentSize]);
        var destination = Path.Combine(setup.Directory, "RECOVERYXLOG");

        var fetched = await AsyncWalFetch.FetchAsync(config, name, destination, new AsyncWalFetchOptions { StartWorker = () => { } }, CancellationToken.None);

        Assert.Equal("local", fetched.Repository);
        Assert.Equal(ArchiveTestSupport.Sha256(corpus.Segments[0]), ArchiveTestSupport.Sha256(destination));

        // The prefetcher first removes what an earlier boot left, and only then records this boot.
        var worker = await WalPrefetchWorker.RunAsync(config, new WalPrefetchWorkerOptions { IdleExit = TimeSpan.FromMilliseconds(300) }, CancellationToken.None);

        Assert.True(worker.Removed >= 1);
        Assert.False(File.Exists(Path.Combine(spool.InDirectory, name)));
        Assert.Equal(AsyncSpool.BootId, (await File.ReadAllTextAsync(spool.FetchBootPath)).Trim());
        Assert.True(spool.PrefetchesTrusted());
    }
}
