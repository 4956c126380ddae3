using PgDr.Archive.Configuration;
using PgDr.Archive.Encryption;
using PgDr.Archive.Repositories;
using PgDr.Archive.Stanza;
using PgDr.Archive.Transfer;
using PgDr.Archive.Wal;
using PgDr.Errors;
using PgDr.Progress;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Archive.Transfer;

/// <summary>Test-PgWalArchive / pgdr wal verify: real WAL pushed into real repositories, read back with the key held.</summary>
public sealed class WalArchiveVerifierTests(WalCorpusFixture corpus, S3rverFixture s3, AzuriteFixture azurite)
    : IClassFixture<WalCorpusFixture>, IClassFixture<S3rverFixture>, IClassFixture<AzuriteFixture>
{
    private const long SegmentBytes = 16 * 1024 * 1024;

    private sealed record Archive(string Directory, string RepositoryPath, string KeyFile, PgDrConfig Config);

    /// <summary>All three corpus segments pushed, encrypted, into one filesystem repository.</summary>
    private async Task<Archive> NewArchiveAsync(string compression = "zstd")
    {
        var directory = await ArchiveTestSupport.NewDirectoryAsync("verify");
        var repository = Directory.CreateDirectory(Path.Combine(directory, "repo")).FullName;
        var keyFile = await ArchiveTestSupport.NewKeyFileAsync(directory);
        var config = ArchiveTestSupport.Config("main", [ArchiveTestSupport.FileSystemRepository("local", repository)], compression, keyFile);
        foreach (var segment in corpus.Segments)
        {
            await WalPushService.PushAsync(config, segment, CancellationToken.None);
        }

        return new Archive(directory, repository, keyFile, config);
    }

    private static string StoredPath(Archive archive, string segment) =>
        Path.Combine(archive.RepositoryPath, ArchiveLayout.WalKey("main", WalFileName.Parse(Path.GetFileName(segment))));

    private static Task<IReadOnlyList<PgWalArchiveVerification>> VerifyAsync(PgDrConfig config, ArchiveKey? key = null, string? repository = null, IProgress<PgDrProgress>? progress = null) =>
        WalArchiveVerifier.VerifyAsync(config, new WalArchiveVerifyOptions { Key = key, Repository = repository }, progress, CancellationToken.None);

    /// <summary>Copies the object holding <paramref name="source"/> to the key of <paramref name="target"/>, through the repository itself.</summary>
    private static async Task StoreUnderAnotherNameAsync(PgDrConfig config, string source, string target)
    {
        await using var repository = ArchiveRepositoryFactory.Create(config.Repositories[0].ToRepositoryConfig());
        await using var stored = (await repository.OpenReadAsync(ArchiveLayout.WalKey(config.Stanza, WalFileName.Parse(source)), CancellationToken.None))!;
        using var copy = new MemoryStream();
        await stored.CopyToAsync(copy);
        copy.Position = 0;
        Assert.Equal(PutOutcome.Created, await repository.PutIfAbsentAsync(ArchiveLayout.WalKey(config.Stanza, WalFileName.Parse(target)), copy, CancellationToken.None));
    }

    [Fact]
    public async Task Every_object_verifies_with_the_configured_key_and_counts_and_bytes_add_up()
    {
        var archive = await NewArchiveAsync();
        var progress = new RecordingProgress();

        var result = Assert.Single(await VerifyAsync(archive.Config, progress: progress));

        Assert.Equal("local", result.Repository);
        Assert.True(result.Readable);
        Assert.Empty(result.Failures);
        Assert.Null(result.ErrorId);
        Assert.Equal(corpus.Segments.Count, result.VerifiedCount);
        Assert.Equal(corpus.Segments.Count * SegmentBytes, result.PlaintextBytes);
        Assert.Equal(corpus.Segments.Sum(s => new FileInfo(StoredPath(archive, s)).Length), result.StoredBytes);
        Assert.Contains(progress.Reports, r => r.Status == $"local: {corpus.Segments.Count} verified, 0 failed");
    }

    [Fact]
    public async Task A_flipped_byte_in_one_stored_object_reports_exactly_that_object_as_ArchiveObjectCorrupt_and_verifies_the_others()
    {
        var archive = await NewArchiveAsync();
        var damaged = StoredPath(archive, corpus.Segments[1]);
        var bytes = await File.ReadAllBytesAsync(damaged);
        bytes[bytes.Length / 2] ^= 0x40;
        await File.WriteAllBytesAsync(damaged, bytes);

        var result = Assert.Single(await VerifyAsync(archive.Config));

        var failure = Assert.Single(result.Failures);
        Assert.Equal(Path.GetFileName(corpus.Segments[1]), failure.WalFileName);
        Assert.Equal(ErrorIds.ArchiveObjectCorrupt, failure.ErrorId);
        Assert.Equal(corpus.Segments.Count - 1, result.VerifiedCount);
        Assert.Equal((corpus.Segments.Count - 1) * SegmentBytes, result.PlaintextBytes);
        Assert.False(result.Readable);
        Assert.Null(result.ErrorId);
    }

    [Fact]
    public async Task A_key_given_by_the_caller_wins_over_the_configured_one_and_a_wrong_key_fails_every_object_with_ArchiveKeyMismatch()
    {
        var archive = await NewArchiveAsync();
        using var wrong = ArchiveKey.Generate();

        var result = Assert.Single(await VerifyAsync(archive.Config, wrong));

        Assert.Equal(corpus.Segments.Select(s => Path.GetFileName(s)).Order(StringComparer.Ordinal), result.Failures.Select(f => f.WalFileName));
        Assert.All(result.Failures, f => Assert.Equal(ErrorIds.ArchiveKeyMismatch, f.ErrorId));
        Assert.Equal(0, result.VerifiedCount);
        Assert.False(result.Readable);
    }

    [Fact]
    public async Task Encrypted_objects_read_without_any_key_fail_with_ArchiveKeyRequired()
    {
        var archive = await NewArchiveAsync("lz4");
        var withoutKey = ArchiveTestSupport.Config("main", [ArchiveTestSupport.FileSystemRepository("local", archive.RepositoryPath)], "lz4");

        var result = Assert.Single(await VerifyAsync(withoutKey));

        Assert.Equal(corpus.Segments.Count, result.Failures.Count);
        Assert.All(result.Failures, f => Assert.Equal(ErrorIds.ArchiveKeyRequired, f.ErrorId));
    }

    [Fact]
    public async Task An_object_stored_under_another_objects_name_is_reported_under_the_name_it_is_stored_as()
    {
        var archive = await NewArchiveAsync();
        const string Impostor = "0000000100000000000000FE";
        await StoreUnderAnotherNameAsync(archive.Config, Path.GetFileName(corpus.Segments[0]), Impostor);

        var result = Assert.Single(await VerifyAsync(archive.Config));

        var failure = Assert.Single(result.Failures);
        Assert.Equal(Impostor, failure.WalFileName);
        Assert.Equal(ErrorIds.ArchiveObjectCorrupt, failure.ErrorId);
        Assert.Contains(Path.GetFileName(corpus.Segments[0]), failure.Message, StringComparison.Ordinal);
        Assert.Equal(corpus.Segments.Count, result.VerifiedCount);
    }

    [Theory]
    [InlineData("hex")]
    [InlineData("base64")]
    public async Task A_key_from_secret_text_in_hex_or_base64_reads_the_archive(string encoding)
    {
        var archive = await NewArchiveAsync();
        var raw = Convert.FromHexString((await File.ReadAllTextAsync(archive.KeyFile)).Trim());
        var text = encoding == "hex" ? Convert.ToHexString(raw).ToLowerInvariant() : $"  {Convert.ToBase64String(raw)}\n";
        using var key = ArchiveKey.FromSecret(text, "-EncryptionKey");
        var withoutKey = ArchiveTestSupport.Config("main", [ArchiveTestSupport.FileSystemRepository("local", archive.RepositoryPath)]);

        var result = Assert.Single(await VerifyAsync(withoutKey, key));

        Assert.True(result.Readable, string.Join("; ", result.Failures.Select(f => f.Message)));
        Assert.Equal(corpus.Segments.Count, result.VerifiedCount);
    }

    [Fact]
    public async Task A_repository_out_of_reach_fails_its_own_result_with_its_error_id_and_the_others_are_verified()
    {
        var archive = await NewArchiveAsync();
        var config = ArchiveTestSupport.Config(
            "main",
            [ArchiveTestSupport.FileSystemRepository("local", archive.RepositoryPath), ArchiveTestSupport.S3Repository("down", s3, endpoint: $"http://127.0.0.1:{Ports.Closed()}", required: false)],
            keyFile: archive.KeyFile);

        var results = await VerifyAsync(config);

        Assert.Equal(["local", "down"], results.Select(r => r.Repository));
        Assert.True(results[0].Readable);
        Assert.Equal(corpus.Segments.Count, results[0].VerifiedCount);
        Assert.Equal(ErrorIds.RepositoryUnavailable, results[1].ErrorId);
        Assert.False(results[1].Readable);
    }

    [Fact]
    public async Task Only_the_named_repository_is_verified_and_an_unknown_name_fails_with_RepositoryNotFound()
    {
        var archive = await NewArchiveAsync();
        var empty = Directory.CreateDirectory(Path.Combine(archive.Directory, "empty")).FullName;
        var config = ArchiveTestSupport.Config(
            "main",
            [ArchiveTestSupport.FileSystemRepository("local", archive.RepositoryPath), ArchiveTestSupport.FileSystemRepository("other", empty)],
            keyFile: archive.KeyFile);

        var other = Assert.Single(await VerifyAsync(config, repository: "other"));
        var ex = await Assert.ThrowsAsync<PgDrNotFoundException>(() => VerifyAsync(config, repository: "nowhere"));

        Assert.Equal("other", other.Repository);
        Assert.Equal(0, other.VerifiedCount);
        Assert.True(other.Readable);
        Assert.Equal(ErrorIds.RepositoryNotFound, ex.ErrorId);
    }

    [Fact]
    public async Task S3_an_object_stored_under_another_name_is_reported_and_the_rest_verify()
    {
        var directory = await ArchiveTestSupport.NewDirectoryAsync("verify-s3");
        var config = ArchiveTestSupport.Config("main", [ArchiveTestSupport.S3Repository("s3", s3)], "zstd", await ArchiveTestSupport.NewKeyFileAsync(directory));
        await WalPushService.PushAsync(config, corpus.Segments[0], CancellationToken.None);
        await WalPushService.PushAsync(config, corpus.Segments[1], CancellationToken.None);
        await StoreUnderAnotherNameAsync(config, Path.GetFileName(corpus.Segments[1]), Path.GetFileName(corpus.Segments[2]));

        var result = Assert.Single(await VerifyAsync(config));

        Assert.Equal(2, result.VerifiedCount);
        Assert.Equal(2 * SegmentBytes, result.PlaintextBytes);
        var failure = Assert.Single(result.Failures);
        Assert.Equal((Path.GetFileName(corpus.Segments[2]), ErrorIds.ArchiveObjectCorrupt), (failure.WalFileName, failure.ErrorId));
    }

    [Fact]
    public async Task Azure_every_object_verifies_with_the_right_key_and_fails_with_ArchiveKeyMismatch_with_another()
    {
        var directory = await ArchiveTestSupport.NewDirectoryAsync("verify-az");
        var config = ArchiveTestSupport.Config("main", [ArchiveTestSupport.AzureRepository("azure", azurite)], "gzip", await ArchiveTestSupport.NewKeyFileAsync(directory));
        await WalPushService.PushAsync(config, corpus.Segments[0], CancellationToken.None);
        await WalPushService.PushAsync(config, corpus.Segments[1], CancellationToken.None);
        using var wrong = ArchiveKey.Generate();

        var good = Assert.Single(await VerifyAsync(config));
        var mismatched = Assert.Single(await VerifyAsync(config, wrong));

        Assert.True(good.Readable);
        Assert.Equal(2, good.VerifiedCount);
        Assert.Equal(2 * SegmentBytes, good.PlaintextBytes);
        Assert.True(good.StoredBytes > 0);
        Assert.Equal(2, mismatched.Failures.Count);
        Assert.All(mismatched.Failures, f => Assert.Equal(ErrorIds.ArchiveKeyMismatch, f.ErrorId));
    }

    /// <summary>Keeps every report (Progress&lt;T&gt; would post them to a context and lose the order).</summary>
    private sealed class RecordingProgress : IProgress<PgDrProgress>
    {
        private readonly List<PgDrProgress> _reports = [];

        public IReadOnlyList<PgDrProgress> Reports
        {
            get
            {
                lock (_reports)
                {
                    return _reports.ToList();
                }
            }
        }

        public void Report(PgDrProgress value)
        {
            lock (_reports)
            {
                _reports.Add(value);
            }
        }
    }
}
