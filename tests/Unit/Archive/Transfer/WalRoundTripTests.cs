using PgDr.Archive.Configuration;
using PgDr.Archive.Transfer;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Archive.Transfer;

/// <summary>Real WAL through every repository type and every compression, with and without encryption: byte-identical after fetch.</summary>
public sealed class WalRoundTripTests(WalCorpusFixture corpus, S3rverFixture s3, AzuriteFixture azurite)
    : IClassFixture<WalCorpusFixture>, IClassFixture<S3rverFixture>, IClassFixture<AzuriteFixture>
{
    public static TheoryData<string, string, bool> Matrix()
    {
        var data = new TheoryData<string, string, bool>();
        foreach (var repository in new[] { "filesystem", "s3", "azure" })
        {
            foreach (var compression in new[] { "zstd", "lz4", "gzip", "brotli", "none" })
            {
                data.Add(repository, compression, true);
                data.Add(repository, compression, false);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task Real_WAL_round_trips_byte_identical(string repositoryType, string compression, bool encrypted)
    {
        var directory = await ArchiveTestSupport.NewDirectoryAsync("roundtrip");
        var repository = repositoryType switch
        {
            "filesystem" => ArchiveTestSupport.FileSystemRepository("local", Directory.CreateDirectory(Path.Combine(directory, "repo")).FullName),
            "s3" => ArchiveTestSupport.S3Repository("s3", s3),
            _ => ArchiveTestSupport.AzureRepository("azure", azurite),
        };
        var keyFile = encrypted ? await ArchiveTestSupport.NewKeyFileAsync(directory) : null;
        var config = ArchiveTestSupport.Config("main", [repository], compression, keyFile);
        var segment = corpus.Segments[0];

        var pushed = await WalPushService.PushAsync(config, segment, CancellationToken.None);
        var destination = Path.Combine(directory, "RECOVERYXLOG");
        var fetched = await WalFetchService.FetchAsync(config, Path.GetFileName(segment), destination, CancellationToken.None);

        Assert.Equal(PushOutcome.Archived, Assert.Single(pushed.Repositories).Outcome);
        Assert.True(Assert.Single(pushed.Repositories).StoredBytes < 16 * 1024 * 1024 || compression == "none");
        Assert.Equal(ArchiveTestSupport.Sha256(segment), ArchiveTestSupport.Sha256(destination));
        Assert.Equal(pushed.Checksum, fetched.Checksum);
        Assert.StartsWith("xxh128:", pushed.Checksum, StringComparison.Ordinal);
        Assert.Equal(16 * 1024 * 1024, new FileInfo(destination).Length);
        Assert.Empty(Directory.GetFiles(directory, "*.tmp"));
    }

    [Fact]
    public async Task One_push_reaches_every_repository_and_fetch_falls_back_to_the_next_when_the_first_lacks_it()
    {
        var directory = await ArchiveTestSupport.NewDirectoryAsync("multi");
        var local = Directory.CreateDirectory(Path.Combine(directory, "repo")).FullName;
        var repositories = new[] { ArchiveTestSupport.FileSystemRepository("region-a", local), ArchiveTestSupport.S3Repository("region-b", s3), ArchiveTestSupport.AzureRepository("region-c", azurite) };
        var config = ArchiveTestSupport.Config("main", repositories, "zstd:3", await ArchiveTestSupport.NewKeyFileAsync(directory));

        var pushed = await WalPushService.PushAsync(config, corpus.Segments[1], CancellationToken.None);
        Assert.All(pushed.Repositories, r => Assert.Equal(PushOutcome.Archived, r.Outcome));

        // region-a loses its copy: fetch still succeeds from region-b.
        foreach (var file in Directory.GetFiles(local, Path.GetFileName(corpus.Segments[1]), SearchOption.AllDirectories))
        {
            File.Delete(file);
        }

        var destination = Path.Combine(directory, "RECOVERYXLOG");
        var fetched = await WalFetchService.FetchAsync(config, Path.GetFileName(corpus.Segments[1]), destination, CancellationToken.None);

        Assert.Equal("region-b", fetched.Repository);
        Assert.Equal(ArchiveTestSupport.Sha256(corpus.Segments[1]), ArchiveTestSupport.Sha256(destination));
    }
}
