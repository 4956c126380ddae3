using System.Diagnostics;
using PgDr.Archive.Repositories;
using PgDr.Errors;

namespace PgDr.Tests.Archive.Repositories;

/// <summary>
/// The behaviour every repository type must show, run against each (filesystem, s3rver, Azurite) by a subclass that
/// supplies a fresh, empty repository for each test.
/// </summary>
public abstract class ArchiveRepositoryContract : IAsyncLifetime
{
    protected const int LargeSize = 40 * 1024 * 1024;
    private IArchiveRepository? _repository;

    protected IArchiveRepository Repository => _repository ?? throw new InvalidOperationException("not initialised");

    /// <summary>A new repository, empty and not shared with another test.</summary>
    protected abstract Task<IArchiveRepository> CreateRepositoryAsync();

    public async Task InitializeAsync() => _repository = await CreateRepositoryAsync();

    public async Task DisposeAsync()
    {
        if (_repository is not null)
        {
            await _repository.DisposeAsync();
        }

        await CleanUpAsync();
    }

    /// <summary>Removes what the test stored outside the emulators (local directories).</summary>
    protected virtual Task CleanUpAsync() => Task.CompletedTask;

    [Fact]
    public async Task Put_then_read_returns_the_same_bytes()
    {
        var content = TestContent.Bytes(300_000, seed: 1);

        var outcome = await Repository.PutIfAbsentAsync("main/wal/0000000100000000/000000010000000000000001", TestContent.Unseekable(content), CancellationToken.None);

        Assert.Equal(PutOutcome.Created, outcome);
        var read = await Repository.OpenReadAsync("main/wal/0000000100000000/000000010000000000000001", CancellationToken.None);
        Assert.NotNull(read);
        Assert.Equal(TestContent.Sha256(content), await TestContent.Sha256Async(read));
    }

    [Fact]
    public async Task Empty_content_is_stored_as_an_empty_object()
    {
        Assert.Equal(PutOutcome.Created, await Repository.PutIfAbsentAsync("empty", new MemoryStream(), CancellationToken.None));

        var info = await Repository.StatAsync("empty", CancellationToken.None);
        Assert.NotNull(info);
        Assert.Equal(0, info.Size);
        Assert.Equal(TestContent.Sha256([]), await TestContent.Sha256Async((await Repository.OpenReadAsync("empty", CancellationToken.None))!));
    }

    [Fact]
    public async Task Second_put_of_a_key_reports_AlreadyExists_and_keeps_the_first_content()
    {
        var first = TestContent.Bytes(100_000, seed: 2);
        var second = TestContent.Bytes(120_000, seed: 3);
        await Repository.PutIfAbsentAsync("main/wal/00000002.history", new MemoryStream(first), CancellationToken.None);

        var outcome = await Repository.PutIfAbsentAsync("main/wal/00000002.history", TestContent.Unseekable(second), CancellationToken.None);

        Assert.Equal(PutOutcome.AlreadyExists, outcome);
        Assert.Equal(TestContent.Sha256(first), await TestContent.Sha256Async((await Repository.OpenReadAsync("main/wal/00000002.history", CancellationToken.None))!));
        Assert.Equal(first.Length, (await Repository.StatAsync("main/wal/00000002.history", CancellationToken.None))!.Size);
    }

    [Fact]
    public async Task Stat_reports_size_and_a_current_modification_time()
    {
        var before = DateTimeOffset.UtcNow.AddMinutes(-5);
        await Repository.PutIfAbsentAsync("a/b/c", new MemoryStream(TestContent.Bytes(4321, seed: 4)), CancellationToken.None);

        var info = await Repository.StatAsync("a/b/c", CancellationToken.None);

        Assert.NotNull(info);
        Assert.Equal("a/b/c", info.Key);
        Assert.Equal(4321, info.Size);
        Assert.InRange(info.LastModified, before, DateTimeOffset.UtcNow.AddMinutes(5));
    }

    [Fact]
    public async Task Absent_key_stats_and_opens_as_null()
    {
        await Repository.PutIfAbsentAsync("main/wal/x", new MemoryStream([1, 2, 3]), CancellationToken.None);

        Assert.Null(await Repository.StatAsync("main/wal/y", CancellationToken.None));
        Assert.Null(await Repository.OpenReadAsync("main/wal/y", CancellationToken.None));
        Assert.Null(await Repository.OpenReadAsync("nothing/here/at/all", CancellationToken.None));
        Assert.Null(await Repository.StatAsync("main/wal", CancellationToken.None));
    }

    [Fact]
    public async Task List_returns_the_objects_under_a_prefix_in_key_order()
    {
        string[] keys =
        [
            "main/wal/0000000100000000/000000010000000000000002",
            "main/wal/0000000100000000/000000010000000000000001",
            "main/wal/0000000100000001/000000010000000100000000",
            "main/wal/00000002.history",
            "main/backup/20240101T000000F/backup.info",
            "other/wal/x",
        ];
        for (var i = 0; i < keys.Length; i++)
        {
            await Repository.PutIfAbsentAsync(keys[i], new MemoryStream(TestContent.Bytes(10 + i, seed: i)), CancellationToken.None);
        }

        var wal = await ListAsync("main/wal/");
        var firstLog = await ListAsync("main/wal/0000000100000000/");
        var partialName = await ListAsync("main/wal/0000000");
        var all = await ListAsync(string.Empty);

        Assert.Equal(
            ["main/wal/0000000100000000/000000010000000000000001", "main/wal/0000000100000000/000000010000000000000002", "main/wal/0000000100000001/000000010000000100000000", "main/wal/00000002.history"],
            wal.Select(o => o.Key));
        Assert.Equal([10 + 1, 10 + 0], firstLog.Select(o => o.Size));
        Assert.Equal(wal.Select(o => o.Key), partialName.Select(o => o.Key));
        Assert.Equal(keys.Order(StringComparer.Ordinal), all.Select(o => o.Key));
        Assert.Empty(await ListAsync("nothing/"));
    }

    [Fact]
    public async Task Delete_removes_the_object_and_deleting_an_absent_key_is_not_an_error()
    {
        await Repository.PutIfAbsentAsync("main/lease", new MemoryStream([42]), CancellationToken.None);

        await Repository.DeleteAsync("main/lease", CancellationToken.None);
        await Repository.DeleteAsync("main/lease", CancellationToken.None);
        await Repository.DeleteAsync("never/was", CancellationToken.None);

        Assert.Null(await Repository.StatAsync("main/lease", CancellationToken.None));
        Assert.Equal(PutOutcome.Created, await Repository.PutIfAbsentAsync("main/lease", new MemoryStream([43]), CancellationToken.None));
    }

    [Fact]
    public async Task A_40_MiB_object_streamed_without_length_round_trips_byte_identical()
    {
        var content = TestContent.Bytes(LargeSize + 12345, seed: 5);

        var outcome = await Repository.PutIfAbsentAsync("main/backup/big.tar", TestContent.Unseekable(content), CancellationToken.None);

        Assert.Equal(PutOutcome.Created, outcome);
        Assert.Equal(content.Length, (await Repository.StatAsync("main/backup/big.tar", CancellationToken.None))!.Size);
        Assert.Equal(TestContent.Sha256(content), await TestContent.Sha256Async((await Repository.OpenReadAsync("main/backup/big.tar", CancellationToken.None))!));
        Assert.Equal(PutOutcome.AlreadyExists, await Repository.PutIfAbsentAsync("main/backup/big.tar", TestContent.Unseekable(content), CancellationToken.None));
    }

    [Theory]
    [InlineData("")]
    [InlineData("/main/wal/x")]
    [InlineData("main/../etc/passwd")]
    [InlineData("..")]
    [InlineData("main\\wal\\x")]
    [InlineData("main//x")]
    [InlineData("main/x/")]
    [InlineData("main/./x")]
    [InlineData("main/.pgdr-tmp.x.1234")]
    [InlineData("main/wal x")]
    [InlineData("main/\u00e9")]
    public async Task Invalid_keys_are_refused_before_any_io(string key)
    {
        var put = await Assert.ThrowsAsync<PgDrArgumentException>(() => Repository.PutIfAbsentAsync(key, new MemoryStream([1]), CancellationToken.None));
        var stat = await Assert.ThrowsAsync<PgDrArgumentException>(() => Repository.StatAsync(key, CancellationToken.None));
        var read = await Assert.ThrowsAsync<PgDrArgumentException>(() => Repository.OpenReadAsync(key, CancellationToken.None));
        var delete = await Assert.ThrowsAsync<PgDrArgumentException>(() => Repository.DeleteAsync(key, CancellationToken.None));

        Assert.All([put, stat, read, delete], ex => Assert.Equal(ErrorIds.InvalidObjectKey, ex.ErrorId));
    }

    [Theory]
    [InlineData(200_000, 100_000)]
    [InlineData(LargeSize, LargeSize / 2)]
    public async Task Content_that_fails_halfway_leaves_no_object(int size, int failAt)
    {
        var content = TestContent.Bytes(size, seed: 6);

        var ex = await Assert.ThrowsAsync<IOException>(() =>
            Repository.PutIfAbsentAsync("main/wal/broken", TestContent.Unseekable(content, failAfter: failAt), CancellationToken.None));

        Assert.Contains("halfway", ex.Message, StringComparison.Ordinal);
        await AssertNothingStoredAsync("main/wal/broken");
        Assert.Equal(PutOutcome.Created, await Repository.PutIfAbsentAsync("main/wal/broken", new MemoryStream(content), CancellationToken.None));
    }

    [Theory]
    [InlineData(200_000, 100_000)]
    [InlineData(LargeSize, LargeSize / 2)]
    public async Task Cancelling_halfway_leaves_no_object(int size, int cancelAt)
    {
        using var cancellation = new CancellationTokenSource();
        var content = TestContent.Bytes(size, seed: 7);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            Repository.PutIfAbsentAsync("main/wal/cancelled", TestContent.Unseekable(content, cancelAt, cancellation.Cancel), cancellation.Token));

        await AssertNothingStoredAsync("main/wal/cancelled");
    }

    /// <summary>An unreachable repository fails fast with RepositoryUnavailable, for put and for stat.</summary>
    protected static async Task AssertUnavailableWithinBoundedTimeAsync(IArchiveRepository unreachable)
    {
        var clock = Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<PgDrRepositoryException>(() => unreachable.PutIfAbsentAsync("main/wal/x", new MemoryStream([1]), CancellationToken.None));
        clock.Stop();

        Assert.Equal(ErrorIds.RepositoryUnavailable, ex.ErrorId);
        Assert.Equal(PgDrErrorCategory.ConnectionError, ex.Category);
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(30));
        var stat = await Assert.ThrowsAsync<PgDrRepositoryException>(() => unreachable.StatAsync("main/wal/x", CancellationToken.None));
        Assert.Equal(ErrorIds.RepositoryUnavailable, stat.ErrorId);
    }

    /// <summary>Checks, beyond the interface, that no trace of an interrupted upload is left (temp files, open uploads).</summary>
    protected virtual Task AssertNoLeftoversAsync() => Task.CompletedTask;

    private async Task AssertNothingStoredAsync(string key)
    {
        Assert.Null(await Repository.StatAsync(key, CancellationToken.None));
        Assert.Null(await Repository.OpenReadAsync(key, CancellationToken.None));
        Assert.DoesNotContain(await ListAsync(string.Empty), o => o.Key == key);
        await AssertNoLeftoversAsync();
    }

    protected async Task<List<ArchiveObjectInfo>> ListAsync(string prefix)
    {
        var list = new List<ArchiveObjectInfo>();
        await foreach (var item in Repository.ListAsync(prefix, CancellationToken.None))
        {
            list.Add(item);
        }

        return list;
    }
}
