using PgDr.Archive.Repositories;
using PgDr.Errors;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Archive.Repositories;

public sealed class S3ArchiveRepositoryTests(S3rverFixture s3rver) : ArchiveRepositoryContract, IClassFixture<S3rverFixture>
{
    protected override Task<IArchiveRepository> CreateRepositoryAsync() => Task.FromResult<IArchiveRepository>(s3rver.NewRepository());

    // s3rver implements neither ListMultipartUploads nor AbortMultipartUpload, so the abort of a failed multipart
    // upload cannot be observed here; what the contract checks (no object becomes visible) holds regardless.

    [Fact]
    public async Task Unreachable_endpoint_fails_with_RepositoryUnavailable_within_a_bounded_time()
    {
        await using var unreachable = s3rver.NewRepository(endpoint: $"http://127.0.0.1:{Ports.Closed()}");
        await AssertUnavailableWithinBoundedTimeAsync(unreachable);
    }

    [Fact]
    public async Task Unknown_access_key_fails_with_RepositoryAccessDenied_and_no_message_holds_the_secret()
    {
        // s3rver does not verify SigV4 signatures (a wrong secret key passes there); it does refuse an unknown key id.
        const string secret = "a-secret-that-must-not-leak-4711";
        await using var repository = s3rver.NewRepository(accessKeyId: "NOT-S3RVER", secretKey: secret);

        var ex = await Assert.ThrowsAsync<PgDrRepositoryException>(() => repository.PutIfAbsentAsync("main/wal/x", new MemoryStream([1]), CancellationToken.None));

        Assert.Equal(ErrorIds.RepositoryAccessDenied, ex.ErrorId);
        Assert.DoesNotContain(secret, ex.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(secret, repository.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_bucket_fails_with_RepositoryNotFound()
    {
        await using var repository = s3rver.NewRepository(bucket: "no-such-bucket");

        var put = await Assert.ThrowsAsync<PgDrRepositoryException>(() => repository.PutIfAbsentAsync("main/wal/x", new MemoryStream([1]), CancellationToken.None));
        var read = await Assert.ThrowsAsync<PgDrRepositoryException>(() => repository.OpenReadAsync("main/wal/x", CancellationToken.None));

        Assert.Equal(ErrorIds.RepositoryNotFound, put.ErrorId);
        Assert.Equal(ErrorIds.RepositoryNotFound, read.ErrorId);
    }

    [Theory]
    [InlineData(1000)]
    [InlineData(20 * 1024 * 1024)]
    public async Task On_a_store_that_enforces_If_None_Match_a_lost_race_reports_AlreadyExists_and_aborts_the_upload(int size)
    {
        using var stub = new EnforcingS3Stub();
        await using var repository = s3rver.NewRepository(endpoint: $"http://127.0.0.1:{stub.Port}");

        var outcome = await repository.PutIfAbsentAsync("main/wal/x", TestContent.Unseekable(TestContent.Bytes(size, seed: 13)), CancellationToken.None);

        Assert.Equal(PutOutcome.AlreadyExists, outcome);
        var requests = stub.Requests.ToArray();
        if (size < 16 * 1024 * 1024)
        {
            Assert.Contains(requests, r => r.StartsWith("PUT ", StringComparison.Ordinal) && r.EndsWith("if-none-match=*", StringComparison.Ordinal));
        }
        else
        {
            Assert.Contains(requests, r => r.StartsWith("POST ", StringComparison.Ordinal) && r.Contains("uploadId=upload-1", StringComparison.Ordinal) && r.EndsWith("if-none-match=*", StringComparison.Ordinal));
            Assert.Contains(requests, r => r.StartsWith("DELETE ", StringComparison.Ordinal) && r.Contains("uploadId=upload-1", StringComparison.Ordinal));
        }
    }
}
