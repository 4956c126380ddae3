using PgDr.Archive.Repositories;
using PgDr.Archive.Stanza;
using PgDr.Archive.Transfer;
using PgDr.Archive.Wal;
using PgDr.Errors;
using PgDr.Tests.Archive.Async;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Archive.Transfer;

/// <summary>The push/fetch contract PostgreSQL relies on, on a filesystem repository (the repository suites cover S3 and Azure).</summary>
public sealed class WalPushFetchContractTests(WalCorpusFixture corpus, TmpfsFixture tmpfs, S3rverFixture s3)
    : IClassFixture<WalCorpusFixture>, IClassFixture<TmpfsFixture>, IClassFixture<S3rverFixture>
{
    private static async Task<(string Directory, string Repository, PgDr.Archive.Configuration.PgDrConfig Config)> NewArchiveAsync(string compression = "zstd", bool encrypted = true)
    {
        var directory = await ArchiveTestSupport.NewDirectoryAsync("contract");
        var repository = Directory.CreateDirectory(Path.Combine(directory, "repo")).FullName;
        var key = encrypted ? await ArchiveTestSupport.NewKeyFileAsync(directory) : null;
        return (directory, repository, ArchiveTestSupport.Config("main", [ArchiveTestSupport.FileSystemRepository("local", repository)], compression, key));
    }

    // The same archive plus a second, empty filesystem repository "b".
    private static (string Other, PgDr.Archive.Configuration.PgDrConfig Both) WithSecondRepository(string directory, string repository, PgDr.Archive.Configuration.PgDrConfig config)
    {
        var other = Directory.CreateDirectory(Path.Combine(directory, "repo-b")).FullName;
        return (other, ArchiveTestSupport.Config("main", [ArchiveTestSupport.FileSystemRepository("local", repository), ArchiveTestSupport.FileSystemRepository("b", other)], "zstd", config.Encryption!.KeyFile));
    }

    private static string ObjectPath(string repository, string segment) =>
        Path.Combine(repository, ArchiveLayout.WalKey("main", WalFileName.Parse(Path.GetFileName(segment))));

    [Fact]
    public async Task Push_of_the_same_segment_twice_succeeds_and_keeps_one_object()
    {
        var (_, repository, config) = await NewArchiveAsync();
        var segment = corpus.Segments[0];

        await WalPushService.PushAsync(config, segment, CancellationToken.None);
        var stored = await File.ReadAllBytesAsync(ObjectPath(repository, segment));
        var second = await WalPushService.PushAsync(config, segment, CancellationToken.None);

        Assert.Equal(PushOutcome.AlreadyArchived, Assert.Single(second.Repositories).Outcome);
        Assert.Equal(stored, await File.ReadAllBytesAsync(ObjectPath(repository, segment)));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(ObjectPath(repository, segment))!));
    }

    [Fact]
    public async Task A_repeated_push_of_a_segment_every_repository_holds_uploads_nothing()
    {
        var (directory, repository, config) = await NewArchiveAsync();
        var (_, both) = WithSecondRepository(directory, repository, config);
        var segment = corpus.Segments[0];
        var first = await WalPushService.PushAsync(both, segment, CancellationToken.None);
        var puts = new PutCounter();

        var again = await WalPushService.PushAsync(both, segment, CancellationToken.None, c => new InstrumentedRepository(ArchiveRepositoryFactory.Create(c), puts));

        Assert.All(again.Repositories, r => Assert.Equal(PushOutcome.AlreadyArchived, r.Outcome));
        Assert.Equal(0, puts.Total);
        Assert.Equal(first.Checksum, again.Checksum);
        Assert.Equal(first.Bytes, again.Bytes);
    }

    [Fact]
    public async Task A_segment_one_repository_lacks_is_stored_there_and_confirmed_in_the_other()
    {
        var (directory, repository, config) = await NewArchiveAsync();
        var (other, both) = WithSecondRepository(directory, repository, config);
        var segment = corpus.Segments[0];
        await WalPushService.PushAsync(config, segment, CancellationToken.None);
        var stored = await File.ReadAllBytesAsync(ObjectPath(repository, segment));
        var puts = new PutCounter();

        var again = await WalPushService.PushAsync(both, segment, CancellationToken.None, c => new InstrumentedRepository(ArchiveRepositoryFactory.Create(c), puts));

        Assert.Equal(PushOutcome.AlreadyArchived, again.Repositories.Single(r => r.Repository == "local").Outcome);
        Assert.Equal(PushOutcome.Archived, again.Repositories.Single(r => r.Repository == "b").Outcome);
        Assert.Equal(1, puts.Total);
        Assert.Equal(stored, await File.ReadAllBytesAsync(ObjectPath(repository, segment)));
        var fetched = Path.Combine(directory, "fetched");
        await WalFetchService.FetchAsync(ArchiveTestSupport.Config("main", [ArchiveTestSupport.FileSystemRepository("b", other)], "zstd", config.Encryption!.KeyFile), Path.GetFileName(segment), fetched, CancellationToken.None);
        Assert.Equal(ArchiveTestSupport.Sha256(segment), ArchiveTestSupport.Sha256(fetched));
    }

    [Fact]
    public async Task A_repeated_push_over_a_damaged_stored_object_fails_with_ArchiveObjectCorrupt_and_changes_nothing()
    {
        var (_, repository, config) = await NewArchiveAsync();
        var segment = corpus.Segments[0];
        await WalPushService.PushAsync(config, segment, CancellationToken.None);
        var objectPath = ObjectPath(repository, segment);
        var damaged = Flip(await File.ReadAllBytesAsync(objectPath), (int)(new FileInfo(objectPath).Length / 2));
        await File.WriteAllBytesAsync(objectPath, damaged);

        var ex = await Assert.ThrowsAnyAsync<PgDrException>(() => WalPushService.PushAsync(config, segment, CancellationToken.None));

        Assert.Equal(ErrorIds.ArchiveObjectCorrupt, ex.ErrorId);
        Assert.Equal(damaged, await File.ReadAllBytesAsync(objectPath));
    }

    [Fact]
    public async Task Push_of_a_different_file_under_an_archived_name_fails_and_overwrites_nothing()
    {
        var (directory, repository, config) = await NewArchiveAsync();
        var original = corpus.Segments[0];
        await WalPushService.PushAsync(config, original, CancellationToken.None);
        var stored = await File.ReadAllBytesAsync(ObjectPath(repository, original));

        // Same name, different content: a later segment of the same cluster renamed.
        var impostor = Path.Combine(Directory.CreateDirectory(Path.Combine(directory, "impostor")).FullName, Path.GetFileName(original));
        File.Copy(corpus.Segments[1], impostor);
        var ex = await Assert.ThrowsAnyAsync<PgDrException>(() => WalPushService.PushAsync(config, impostor, CancellationToken.None));

        Assert.Equal(ErrorIds.WalAlreadyArchivedDifferently, ex.ErrorId);
        Assert.Equal(stored, await File.ReadAllBytesAsync(ObjectPath(repository, original)));
        var fetched = Path.Combine(directory, "fetched");
        await WalFetchService.FetchAsync(config, Path.GetFileName(original), fetched, CancellationToken.None);
        Assert.Equal(ArchiveTestSupport.Sha256(original), ArchiveTestSupport.Sha256(fetched));
    }

    [Fact]
    public async Task A_segment_archived_with_another_content_checksum_is_still_recognised_as_same_or_different()
    {
        var (directory, repository, config) = await NewArchiveAsync();
        var key = config.Encryption!.KeyFile;
        var sha256Config = ArchiveTestSupport.Config("main", [ArchiveTestSupport.FileSystemRepository("local", repository)], "zstd", key, checksum: "sha256");
        var original = corpus.Segments[0];
        var first = await WalPushService.PushAsync(sha256Config, original, CancellationToken.None);
        var stored = await File.ReadAllBytesAsync(ObjectPath(repository, original));

        // The configuration moved to xxh128 since: the same file is hashed again with the stored object's SHA-256.
        var again = await WalPushService.PushAsync(config, original, CancellationToken.None);
        var impostor = Path.Combine(Directory.CreateDirectory(Path.Combine(directory, "impostor")).FullName, Path.GetFileName(original));
        File.Copy(corpus.Segments[1], impostor);
        var ex = await Assert.ThrowsAnyAsync<PgDrException>(() => WalPushService.PushAsync(config, impostor, CancellationToken.None));

        Assert.StartsWith("sha256:", first.Checksum, StringComparison.Ordinal);
        Assert.StartsWith("xxh128:", again.Checksum, StringComparison.Ordinal);
        Assert.Equal(PushOutcome.AlreadyArchived, Assert.Single(again.Repositories).Outcome);
        Assert.Equal(ErrorIds.WalAlreadyArchivedDifferently, ex.ErrorId);
        Assert.Contains("sha256:", ex.Message, StringComparison.Ordinal);
        Assert.Equal(stored, await File.ReadAllBytesAsync(ObjectPath(repository, original)));
    }

    [Fact]
    public async Task Push_of_another_clusters_WAL_into_the_stanza_is_refused_with_StanzaMismatch()
    {
        var (_, repository, config) = await NewArchiveAsync();
        await WalPushService.PushAsync(config, corpus.Segments[0], CancellationToken.None);
        var before = Directory.GetFiles(repository, "*", SearchOption.AllDirectories).Order().ToList();

        var ex = await Assert.ThrowsAnyAsync<PgDrException>(() => WalPushService.PushAsync(config, corpus.OtherClusterSegment, CancellationToken.None));

        Assert.Equal(ErrorIds.StanzaMismatch, ex.ErrorId);
        Assert.Equal(before, Directory.GetFiles(repository, "*", SearchOption.AllDirectories).Order().ToList());
    }

    [Theory]
    [InlineData("../../etc/passwd")]
    [InlineData("000000010000000000000001/../../x")]
    [InlineData("00000001000000000000000g")]
    [InlineData("000000010000000000000001;rm -rf")]
    [InlineData("00000001.history.bak")]
    [InlineData("")]
    public async Task Malformed_WAL_names_are_refused_before_any_IO(string name)
    {
        var (directory, repository, config) = await NewArchiveAsync();
        var destination = Path.Combine(directory, "dest");

        var fetch = await Assert.ThrowsAnyAsync<PgDrException>(() => WalFetchService.FetchAsync(config, name, destination, CancellationToken.None));
        var push = await Assert.ThrowsAnyAsync<PgDrException>(() => WalPushService.PushAsync(config, Path.Combine(directory, name), CancellationToken.None));

        Assert.Equal(ErrorIds.InvalidWalFileName, fetch.ErrorId);
        Assert.Equal(ErrorIds.InvalidWalFileName, push.ErrorId);
        Assert.False(File.Exists(destination));
        Assert.Empty(Directory.GetFileSystemEntries(repository));
    }

    [Fact]
    public async Task Fetch_of_a_file_no_repository_has_is_WalNotFound_and_creates_nothing()
    {
        var (directory, _, config) = await NewArchiveAsync();
        var destination = Path.Combine(directory, "RECOVERYXLOG");

        var ex = await Assert.ThrowsAsync<PgDrNotFoundException>(() => WalFetchService.FetchAsync(config, "00000002.history", destination, CancellationToken.None));

        Assert.Equal(ErrorIds.WalNotFound, ex.ErrorId);
        Assert.False(File.Exists(destination));
    }

    [Theory]
    [InlineData("flip-header")]
    [InlineData("flip-middle")]
    [InlineData("flip-last")]
    [InlineData("truncate-half")]
    [InlineData("truncate-one")]
    public async Task Fetch_of_a_damaged_object_fails_with_the_corruption_named_and_leaves_no_destination(string damage)
    {
        var (directory, repository, config) = await NewArchiveAsync();
        var segment = corpus.Segments[2];
        await WalPushService.PushAsync(config, segment, CancellationToken.None);
        var objectPath = ObjectPath(repository, segment);
        var bytes = await File.ReadAllBytesAsync(objectPath);
        bytes = damage switch
        {
            "flip-header" => Flip(bytes, 10),
            "flip-middle" => Flip(bytes, bytes.Length / 2),
            "flip-last" => Flip(bytes, bytes.Length - 1),
            "truncate-half" => bytes[..(bytes.Length / 2)],
            _ => bytes[..^1],
        };
        File.SetUnixFileMode(objectPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        await File.WriteAllBytesAsync(objectPath, bytes);
        var destination = Path.Combine(directory, "RECOVERYXLOG");

        var ex = await Assert.ThrowsAnyAsync<PgDrException>(() => WalFetchService.FetchAsync(config, Path.GetFileName(segment), destination, CancellationToken.None));

        Assert.Equal(ErrorIds.WalFetchFailed, ex.ErrorId);
        Assert.Contains($"[{ErrorIds.ArchiveObjectCorrupt}]", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(destination));
        Assert.Empty(Directory.GetFiles(directory, "*.tmp"));
    }

    [Fact]
    public async Task Fetch_with_the_wrong_key_fails_with_ArchiveKeyMismatch_and_leaves_no_destination()
    {
        var (directory, repository, config) = await NewArchiveAsync();
        var segment = corpus.Segments[0];
        await WalPushService.PushAsync(config, segment, CancellationToken.None);
        var wrong = ArchiveTestSupport.Config("main", [ArchiveTestSupport.FileSystemRepository("local", repository)], "zstd", await ArchiveTestSupport.NewKeyFileAsync(Directory.CreateDirectory(Path.Combine(directory, "other")).FullName));
        var destination = Path.Combine(directory, "RECOVERYXLOG");

        var ex = await Assert.ThrowsAnyAsync<PgDrException>(() => WalFetchService.FetchAsync(wrong, Path.GetFileName(segment), destination, CancellationToken.None));

        Assert.Contains($"[{ErrorIds.ArchiveKeyMismatch}]", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(destination));
    }

    [Fact]
    public async Task Push_to_a_repository_that_is_down_fails_then_succeeds_once_it_is_back()
    {
        var directory = await ArchiveTestSupport.NewDirectoryAsync("down");
        var closedPort = Ports.Closed();
        var down = ArchiveTestSupport.Config("main", [ArchiveTestSupport.S3Repository("s3", s3, endpoint: $"http://127.0.0.1:{closedPort}")], "lz4");
        var segment = corpus.Segments[0];

        var ex = await Assert.ThrowsAnyAsync<PgDrException>(() => WalPushService.PushAsync(down, segment, CancellationToken.None));
        Assert.Equal(ErrorIds.RepositoryUnavailable, ex.ErrorId);
        Assert.True(File.Exists(segment), "the segment itself is never touched by a push");

        var up = ArchiveTestSupport.Config("main", [ArchiveTestSupport.S3Repository("s3", s3)], "lz4");
        var pushed = await WalPushService.PushAsync(up, segment, CancellationToken.None);
        Assert.Equal(PushOutcome.Archived, Assert.Single(pushed.Repositories).Outcome);
        var destination = Path.Combine(directory, "RECOVERYXLOG");
        await WalFetchService.FetchAsync(up, Path.GetFileName(segment), destination, CancellationToken.None);
        Assert.Equal(ArchiveTestSupport.Sha256(segment), ArchiveTestSupport.Sha256(destination));
    }

    [Fact]
    public async Task A_repository_that_is_not_required_may_be_down_without_failing_the_push()
    {
        var directory = await ArchiveTestSupport.NewDirectoryAsync("optional");
        var local = Directory.CreateDirectory(Path.Combine(directory, "repo")).FullName;
        var config = ArchiveTestSupport.Config("main",
        [
            ArchiveTestSupport.FileSystemRepository("local", local),
            ArchiveTestSupport.FileSystemRepository("far", Path.Combine(directory, "unmounted"), required: false),
        ]);

        var pushed = await WalPushService.PushAsync(config, corpus.Segments[1], CancellationToken.None);

        Assert.True(pushed.Durable);
        Assert.Equal(PushOutcome.Archived, pushed.Repositories.Single(r => r.Repository == "local").Outcome);
        var far = pushed.Repositories.Single(r => r.Repository == "far");
        Assert.Equal(PushOutcome.Failed, far.Outcome);
        Assert.Equal(ErrorIds.RepositoryNotFound, far.ErrorId);
    }

    [Fact]
    public async Task A_required_repository_that_is_down_fails_the_push_even_when_another_holds_it()
    {
        var directory = await ArchiveTestSupport.NewDirectoryAsync("required");
        var local = Directory.CreateDirectory(Path.Combine(directory, "repo")).FullName;
        var config = ArchiveTestSupport.Config("main",
        [
            ArchiveTestSupport.FileSystemRepository("local", local),
            ArchiveTestSupport.FileSystemRepository("far", Path.Combine(directory, "unmounted")),
        ]);

        var ex = await Assert.ThrowsAnyAsync<PgDrException>(() => WalPushService.PushAsync(config, corpus.Segments[1], CancellationToken.None));

        Assert.Equal(ErrorIds.RepositoryNotFound, ex.ErrorId);
        Assert.Contains("'far'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Push_to_a_full_filesystem_fails_with_RepositoryFull_and_leaves_no_object()
    {
        Assert.True(tmpfs.Mounted, tmpfs.Unavailable);
        var root = Path.Combine(tmpfs.Directory, "full-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        var config = ArchiveTestSupport.Config("main", [ArchiveTestSupport.FileSystemRepository("small", root)], "none");

        var ex = await Assert.ThrowsAnyAsync<PgDrException>(() => WalPushService.PushAsync(config, corpus.Segments[0], CancellationToken.None));

        Assert.Equal(ErrorIds.RepositoryFull, ex.ErrorId);
        Assert.Empty(Directory.GetFiles(root, "0000*", SearchOption.AllDirectories));
        Assert.Empty(Directory.GetFiles(root, "*.tmp*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task A_push_cancelled_halfway_leaves_nothing_that_fetch_accepts()
    {
        var (directory, _, config) = await NewArchiveAsync("none");
        var segment = corpus.Segments[1];
        foreach (var delay in new[] { 1, 5, 20 })
        {
            using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(delay));
            try
            {
                await WalPushService.PushAsync(config, segment, cancel.Token);
            }
            catch (OperationCanceledException)
            {
                // Expected when the cancellation came first.
            }

            // Whatever survived must be either absent or complete and correct: never a truncated object taken for whole.
            var destination = Path.Combine(directory, $"after-{delay}");
            try
            {
                await WalFetchService.FetchAsync(config, Path.GetFileName(segment), destination, CancellationToken.None);
                Assert.Equal(ArchiveTestSupport.Sha256(segment), ArchiveTestSupport.Sha256(destination));
            }
            catch (PgDrNotFoundException)
            {
                Assert.False(File.Exists(destination));
            }
        }
    }

    private static byte[] Flip(byte[] bytes, int index)
    {
        var copy = (byte[])bytes.Clone();
        copy[index] ^= 0x10;
        return copy;
    }
}
