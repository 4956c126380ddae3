using PgDr.Archive.Async;
using PgDr.Archive.Wal;
using PgDr.Errors;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Archive.Async;

/// <summary>The spool protocol between archive_command and the worker, on real directories.</summary>
public sealed class AsyncSpoolTests
{
    private const string Segment = "000000010000000000000042";

    private static AsyncSpool NewSpool() => new AsyncSpool(Path.Combine(SandboxFixture.NewDirectory("spool"), "spool")).EnsureDirectories();

    [Fact]
    public void Encoded_copies_abandoned_by_a_push_are_removed_once_old_and_recent_ones_are_kept()
    {
        var spool = NewSpool();
        var old = Path.Combine(spool.Root, ".pgdr-push-000000010000000000000001-AB12.tmp");
        var recent = Path.Combine(spool.Root, ".pgdr-push-000000010000000000000002-CD34.tmp");
        var unrelated = Path.Combine(spool.Root, "notes.tmp");
        foreach (var path in new[] { old, recent, unrelated })
        {
            File.WriteAllText(path, "x");
        }

        File.SetLastWriteTimeUtc(old, DateTime.UtcNow.AddHours(-2));
        File.SetLastWriteTimeUtc(unrelated, DateTime.UtcNow.AddHours(-2));

        Assert.Equal(1, spool.RemoveAbandonedPushFiles(TimeSpan.FromHours(1)));
        Assert.False(File.Exists(old));
        Assert.True(File.Exists(recent));
        Assert.True(File.Exists(unrelated));
    }

    [Fact]
    public void An_ok_verdict_is_taken_once_and_leaves_nothing_behind()
    {
        var spool = NewSpool();
        Assert.Null(spool.TakeAcknowledgement(Segment));

        spool.WriteOk(Segment);
        var verdict = spool.TakeAcknowledgement(Segment);

        Assert.NotNull(verdict);
        Assert.True(verdict.Succeeded);
        Assert.Null(spool.TakeAcknowledgement(Segment));
        Assert.Empty(Directory.GetFileSystemEntries(spool.OutDirectory));
    }

    [Fact]
    public void An_error_verdict_keeps_the_error_id_and_a_one_line_message()
    {
        var spool = NewSpool();

        spool.WriteError(Segment, ErrorIds.WalAlreadyArchivedDifferently, "first line\nsecond line");
        var verdict = spool.TakeAcknowledgement(Segment);

        Assert.NotNull(verdict);
        Assert.False(verdict.Succeeded);
        Assert.Equal(ErrorIds.WalAlreadyArchivedDifferently, verdict.ErrorId);
        Assert.Equal("first line second line", verdict.Message);
        Assert.False(File.Exists(spool.ErrorPath(Segment)));
    }

    [Fact]
    public void Verdicts_are_listed_by_wal_file_name_and_temporary_or_foreign_files_are_ignored()
    {
        var spool = NewSpool();
        spool.WriteOk(Segment);
        spool.WriteError("00000002.history", ErrorIds.RepositoryNotFound, "gone");
        File.WriteAllText(Path.Combine(spool.OutDirectory, ".000000010000000000000043.ok.1234.tmp"), string.Empty);
        File.WriteAllText(Path.Combine(spool.OutDirectory, "notes.ok"), string.Empty);

        var names = spool.ListAcknowledgements().Select(a => a.WalFileName).Order(StringComparer.Ordinal);

        Assert.Equal([Segment, "00000002.history"], names);
    }

    [Fact]
    public async Task The_worker_lock_is_exclusive_across_handles_and_free_again_once_released()
    {
        var spool = NewSpool();

        using (var held = AsyncSpool.TryLock(spool.PushLockPath))
        {
            Assert.NotNull(held);
            Assert.True(AsyncSpool.IsLocked(spool.PushLockPath));
            Assert.Null(AsyncSpool.TryLock(spool.PushLockPath));
            Assert.Null(await AsyncSpool.LockAsync(spool.PushLockPath, TimeSpan.FromMilliseconds(100), CancellationToken.None));
            Assert.False(AsyncSpool.IsLocked(spool.FetchLockPath));
        }

        Assert.False(AsyncSpool.IsLocked(spool.PushLockPath));
        using var again = await AsyncSpool.LockAsync(spool.PushLockPath, TimeSpan.FromSeconds(1), CancellationToken.None);
        Assert.NotNull(again);
    }

    [Fact]
    public void The_fetch_request_round_trips_and_garbage_reads_as_none()
    {
        var spool = NewSpool();
        Assert.Null(spool.ReadFetchRequest());

        spool.WriteFetchRequest(WalFileName.Parse(Segment), 16 * 1024 * 1024);
        var request = spool.ReadFetchRequest();

        Assert.NotNull(request);
        Assert.Equal(Segment, request.Value.Name.Name);
        Assert.Equal(16 * 1024 * 1024, request.Value.SegmentSize);

        File.WriteAllText(spool.FetchRequestPath, "../../etc/passwd 12\n");
        Assert.Null(spool.ReadFetchRequest());
    }
}
