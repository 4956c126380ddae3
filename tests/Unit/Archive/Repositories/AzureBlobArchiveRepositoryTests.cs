using PgDr.Archive.Repositories;
using PgDr.Errors;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Archive.Repositories;

public sealed class AzureBlobArchiveRepositoryTests(AzuriteFixture azurite) : ArchiveRepositoryContract, IClassFixture<AzuriteFixture>
{
    protected override Task<IArchiveRepository> CreateRepositoryAsync() => Task.FromResult<IArchiveRepository>(azurite.NewRepository());

    [Fact]
    public async Task Unreachable_endpoint_fails_with_RepositoryUnavailable_within_a_bounded_time()
    {
        await using var unreachable = new AzureBlobArchiveRepository(new AzureBlobRepositoryOptions
        {
            Name = "azure-gone",
            Container = AzuriteFixture.Container,
            ConnectionString = $"DefaultEndpointsProtocol=http;AccountName={AzuriteFixture.Account};AccountKey={AzuriteFixture.AccountKey};BlobEndpoint=http://127.0.0.1:{Ports.Closed()}/{AzuriteFixture.Account};",
        });
        await AssertUnavailableWithinBoundedTimeAsync(unreachable);
    }

    [Fact]
    public async Task Wrong_account_key_fails_with_RepositoryAccessDenied_and_no_message_holds_it()
    {
        var wrong = Convert.ToBase64String(TestContent.Bytes(64, seed: 12));
        await using var repository = azurite.NewRepository(accountKey: wrong);

        var ex = await Assert.ThrowsAsync<PgDrRepositoryException>(() => repository.PutIfAbsentAsync("main/wal/x", new MemoryStream([1]), CancellationToken.None));

        Assert.Equal(ErrorIds.RepositoryAccessDenied, ex.ErrorId);
        Assert.DoesNotContain(wrong, ex.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, repository.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_container_fails_with_RepositoryNotFound()
    {
        await using var repository = azurite.NewRepository(container: "no-such-container");

        var put = await Assert.ThrowsAsync<PgDrRepositoryException>(() => repository.PutIfAbsentAsync("main/wal/x", new MemoryStream([1]), CancellationToken.None));
        var stat = await Assert.ThrowsAsync<PgDrRepositoryException>(() => repository.StatAsync("main/wal/x", CancellationToken.None));

        Assert.Equal(ErrorIds.RepositoryNotFound, put.ErrorId);
        Assert.Equal(ErrorIds.RepositoryNotFound, stat.ErrorId);
    }

    [Theory]
    [InlineData(1_000_000)]
    [InlineData(20 * 1024 * 1024)]
    public async Task Concurrent_puts_of_one_key_create_exactly_one_object(int size)
    {
        // Azurite enforces If-None-Match: * like the service, so this exercises the conditional write itself
        // (single Put Blob, and Put Block List for content larger than a block).
        var contents = Enumerable.Range(0, 4).Select(i => TestContent.Bytes(size, seed: 200 + i)).ToArray();

        var outcomes = await Task.WhenAll(contents.Select(c => Task.Run(() => Repository.PutIfAbsentAsync("main/wal/raced", new MemoryStream(c), CancellationToken.None))));

        Assert.Single(outcomes, o => o == PutOutcome.Created);
        var stored = await TestContent.Sha256Async((await Repository.OpenReadAsync("main/wal/raced", CancellationToken.None))!);
        Assert.Contains(stored, contents.Select(TestContent.Sha256));
    }
}
