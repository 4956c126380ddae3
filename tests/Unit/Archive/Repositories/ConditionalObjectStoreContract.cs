using System.Text;
using PgDr.Archive.Repositories;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Archive.Repositories;

/// <summary>
/// The compare-and-swap every repository type must offer the lease, run against each (filesystem, moto_server,
/// Azurite): create only if absent, replace only at the version read, and of racing writers exactly one wins.
/// </summary>
public abstract class ConditionalObjectStoreContract : IAsyncLifetime
{
    private const string Key = "main/lease";
    private IArchiveRepository? _repository;

    protected IConditionalObjectStore Store => (IConditionalObjectStore)(_repository ?? throw new InvalidOperationException("not initialised"));

    protected abstract Task<IArchiveRepository> CreateRepositoryAsync();

    public async Task InitializeAsync() => _repository = await CreateRepositoryAsync();

    public async Task DisposeAsync()
    {
        if (_repository is not null)
        {
            await _repository.DisposeAsync();
        }
    }

    [Fact]
    public async Task An_absent_object_reads_as_null()
    {
        Assert.Null(await Store.ReadVersionedAsync(Key, CancellationToken.None));
    }

    [Fact]
    public async Task Create_if_absent_writes_once_and_a_second_create_conflicts_without_changing_it()
    {
        var first = await Store.CreateIfAbsentAsync(Key, Bytes("first"), CancellationToken.None);
        var second = await Store.CreateIfAbsentAsync(Key, Bytes("second"), CancellationToken.None);
        var read = await Store.ReadVersionedAsync(Key, CancellationToken.None);

        Assert.True(first.Written);
        Assert.False(second.Written);
        Assert.Equal("first", Text(read!.Content));
        Assert.Equal(first.Version, read.Version);
    }

    [Fact]
    public async Task Replace_at_the_version_read_succeeds_and_a_stale_version_conflicts()
    {
        var created = await Store.CreateIfAbsentAsync(Key, Bytes("v1"), CancellationToken.None);
        var replaced = await Store.ReplaceIfVersionAsync(Key, Bytes("v2"), created.Version!, CancellationToken.None);
        var stale = await Store.ReplaceIfVersionAsync(Key, Bytes("stale"), created.Version!, CancellationToken.None);
        var read = await Store.ReadVersionedAsync(Key, CancellationToken.None);

        Assert.True(replaced.Written);
        Assert.NotEqual(created.Version, replaced.Version);
        Assert.False(stale.Written);
        Assert.Equal("v2", Text(read!.Content));
        Assert.Equal(replaced.Version, read.Version);
    }

    [Fact]
    public async Task Replace_of_an_absent_object_conflicts()
    {
        var created = await Store.CreateIfAbsentAsync("main/other", Bytes("x"), CancellationToken.None);

        var result = await Store.ReplaceIfVersionAsync(Key, Bytes("y"), created.Version!, CancellationToken.None);

        Assert.False(result.Written);
        Assert.Null(await Store.ReadVersionedAsync(Key, CancellationToken.None));
    }

    [Fact]
    public async Task Of_eight_writers_racing_from_one_version_exactly_one_wins_and_its_content_is_stored()
    {
        var created = await Store.CreateIfAbsentAsync(Key, Bytes("start"), CancellationToken.None);
        using var go = new ManualResetEventSlim();
        var writers = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            go.Wait();
            return (i, await Store.ReplaceIfVersionAsync(Key, Bytes($"writer {i}"), created.Version!, CancellationToken.None));
        })).ToList();
        go.Set();
        var results = await Task.WhenAll(writers);

        var winners = results.Where(r => r.Item2.Written).ToList();
        Assert.Single(winners);
        var read = await Store.ReadVersionedAsync(Key, CancellationToken.None);
        Assert.Equal($"writer {winners[0].i}", Text(read!.Content));
        Assert.Equal(winners[0].Item2.Version, read.Version);
    }

    [Fact]
    public async Task Of_eight_creators_racing_exactly_one_wins()
    {
        using var go = new ManualResetEventSlim();
        var writers = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            go.Wait();
            return await Store.CreateIfAbsentAsync(Key, Bytes($"creator {i}"), CancellationToken.None);
        })).ToList();
        go.Set();

        var results = await Task.WhenAll(writers);

        Assert.Single(results, r => r.Written);
    }

    protected static ReadOnlyMemory<byte> Bytes(string text) => Encoding.UTF8.GetBytes(text);

    protected static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);
}

public sealed class FileSystemConditionalObjectStoreTests : ConditionalObjectStoreContract
{
    private string? _root;

    protected override Task<IArchiveRepository> CreateRepositoryAsync()
    {
        _root = TestDirectories.Path("cas-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_root);
        return Task.FromResult<IArchiveRepository>(new FileSystemArchiveRepository("fs", _root));
    }

    [Fact]
    public async Task Many_replacements_keep_a_bounded_number_of_generation_files()
    {
        var version = (await Store.CreateIfAbsentAsync("main/lease", Bytes("0"), CancellationToken.None)).Version!;
        for (var i = 1; i <= 40; i++)
        {
            version = (await Store.ReplaceIfVersionAsync("main/lease", Bytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture)), version, CancellationToken.None)).Version!;
        }

        Assert.InRange(Directory.GetFiles(Path.Combine(_root!, "main", "lease")).Length, 1, 17);
        Assert.Equal("40", Text((await Store.ReadVersionedAsync("main/lease", CancellationToken.None))!.Content));
    }

    [Fact]
    public async Task A_writer_whose_version_was_pruned_long_ago_still_loses()
    {
        var first = (await Store.CreateIfAbsentAsync("main/lease", Bytes("0"), CancellationToken.None)).Version!;
        var version = first;
        for (var i = 1; i <= 40; i++)
        {
            version = (await Store.ReplaceIfVersionAsync("main/lease", Bytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture)), version, CancellationToken.None)).Version!;
        }

        // Generation 2 was pruned, so the stale writer can publish it again; it must still be told it lost.
        var stale = await Store.ReplaceIfVersionAsync("main/lease", Bytes("stale"), first, CancellationToken.None);

        Assert.False(stale.Written);
        Assert.Equal("40", Text((await Store.ReadVersionedAsync("main/lease", CancellationToken.None))!.Content));
    }
}

public sealed class MotoConditionalObjectStoreTests(MotoFixture moto) : ConditionalObjectStoreContract, IClassFixture<MotoFixture>
{
    protected override Task<IArchiveRepository> CreateRepositoryAsync() => Task.FromResult<IArchiveRepository>(moto.NewRepository());
}

public sealed class AzureConditionalObjectStoreTests(AzuriteFixture azurite) : ConditionalObjectStoreContract, IClassFixture<AzuriteFixture>
{
    protected override Task<IArchiveRepository> CreateRepositoryAsync() => Task.FromResult<IArchiveRepository>(azurite.NewRepository());
}
