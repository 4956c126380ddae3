using PgDr.Archive.Repositories;
using PgDr.Errors;
using PgDr.Hosting;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Archive.Repositories;

public sealed class FileSystemArchiveRepositoryTests : ArchiveRepositoryContract, IClassFixture<TmpfsFixture>
{
    private readonly TmpfsFixture _tmpfs;
    private readonly string _root = TestDirectories.Path($"fsrepo-{Guid.NewGuid():N}");

    public FileSystemArchiveRepositoryTests(TmpfsFixture tmpfs) => _tmpfs = tmpfs;

    protected override Task<IArchiveRepository> CreateRepositoryAsync()
    {
        Directory.CreateDirectory(_root);
        return Task.FromResult<IArchiveRepository>(new FileSystemArchiveRepository("region-a", _root));
    }

    protected override Task CleanUpAsync()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }

        return Task.CompletedTask;
    }

    protected override Task AssertNoLeftoversAsync()
    {
        Assert.Empty(Directory.EnumerateFiles(_root, ObjectKey.ReservedSegmentPrefix + "*", SearchOption.AllDirectories));
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Full_disk_fails_with_RepositoryFull_and_leaves_nothing_behind()
    {
        Assert.True(_tmpfs.Mounted, _tmpfs.Unavailable);
        var repository = new FileSystemArchiveRepository("region-full", _tmpfs.Directory);
        var tooBig = TestContent.Bytes((int)TmpfsFixture.SizeBytes + 512 * 1024, seed: 8);

        var ex = await Assert.ThrowsAsync<PgDrRepositoryException>(() => repository.PutIfAbsentAsync("main/wal/big", TestContent.Unseekable(tooBig), CancellationToken.None));

        Assert.Equal(ErrorIds.RepositoryFull, ex.ErrorId);
        Assert.Equal("region-full", ex.Target);
        Assert.Null(await repository.StatAsync("main/wal/big", CancellationToken.None));
        Assert.Null(await repository.OpenReadAsync("main/wal/big", CancellationToken.None));
        Assert.Empty(Directory.EnumerateFiles(_tmpfs.Directory, "*", SearchOption.AllDirectories));

        // The space came back: a small object fits again.
        Assert.Equal(PutOutcome.Created, await repository.PutIfAbsentAsync("main/wal/small", new MemoryStream(TestContent.Bytes(1000, seed: 9)), CancellationToken.None));
        await repository.DeleteAsync("main/wal/small", CancellationToken.None);
    }

    [Fact]
    public async Task Read_only_filesystem_fails_with_RepositoryAccessDenied()
    {
        var directory = TestDirectories.Path($"ro-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        var mount = await ProcessRunner.RunAsync("mount", ["-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", directory], CancellationToken.None);
        Assert.True(mount.ExitCode == 0, "mounting a read-only tmpfs needs root: " + mount.StandardError);
        try
        {
            var repository = new FileSystemArchiveRepository("region-ro", directory);

            var ex = await Assert.ThrowsAsync<PgDrRepositoryException>(() => repository.PutIfAbsentAsync("x", new MemoryStream([1]), CancellationToken.None));

            Assert.Equal(ErrorIds.RepositoryAccessDenied, ex.ErrorId);
            Assert.Equal(PgDrErrorCategory.PermissionDenied, ex.Category);
        }
        finally
        {
            await ProcessRunner.RunAsync("umount", ["-l", directory], CancellationToken.None);
            Directory.Delete(directory);
        }
    }

    [Fact]
    public async Task Missing_root_directory_fails_with_RepositoryNotFound_and_is_not_created()
    {
        var missing = Path.Combine(_root, "not-mounted");
        var repository = new FileSystemArchiveRepository("region-gone", missing);

        var ex = await Assert.ThrowsAsync<PgDrRepositoryException>(() => repository.PutIfAbsentAsync("x", new MemoryStream([1]), CancellationToken.None));

        Assert.Equal(ErrorIds.RepositoryNotFound, ex.ErrorId);
        Assert.False(Directory.Exists(missing));
    }

    [Fact]
    public async Task Temporary_file_of_a_killed_writer_is_never_an_object_and_is_cleaned_when_old()
    {
        var directory = Path.Combine(_root, "main", "wal");
        Directory.CreateDirectory(directory);
        var stale = Path.Combine(directory, ObjectKey.ReservedSegmentPrefix + "000000010000000000000003.0123456789abcdef");
        var fresh = Path.Combine(directory, ObjectKey.ReservedSegmentPrefix + "000000010000000000000004.fedcba9876543210");
        await File.WriteAllBytesAsync(stale, TestContent.Bytes(1000, seed: 10));
        await File.WriteAllBytesAsync(fresh, TestContent.Bytes(1000, seed: 11));
        File.SetLastWriteTimeUtc(stale, DateTime.UtcNow.AddHours(-2));
        var repository = (FileSystemArchiveRepository)Repository;

        Assert.Empty(await ListAsync(string.Empty));
        Assert.Null(await repository.StatAsync("main/wal/000000010000000000000003", CancellationToken.None));
        Assert.Equal(PutOutcome.Created, await repository.PutIfAbsentAsync("main/wal/000000010000000000000003", new MemoryStream([1, 2]), CancellationToken.None));

        Assert.Equal(1, await repository.CleanTemporaryFilesAsync(TimeSpan.FromHours(1), CancellationToken.None));
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(fresh));
        Assert.Equal(["main/wal/000000010000000000000003"], (await ListAsync("main/")).Select(o => o.Key));
    }

    [Fact]
    public async Task Concurrent_puts_of_one_key_create_exactly_one_object()
    {
        var contents = Enumerable.Range(0, 8).Select(i => TestContent.Bytes(2_000_000, seed: 100 + i)).ToArray();

        var outcomes = await Task.WhenAll(contents.Select(c => Task.Run(() => Repository.PutIfAbsentAsync("main/wal/raced", new MemoryStream(c), CancellationToken.None))));

        Assert.Single(outcomes, o => o == PutOutcome.Created);
        var stored = await TestContent.Sha256Async((await Repository.OpenReadAsync("main/wal/raced", CancellationToken.None))!);
        Assert.Contains(stored, contents.Select(TestContent.Sha256));
        await AssertNoLeftoversAsync();
    }

    [Fact]
    public async Task Objects_written_as_root_belong_to_the_owner_of_the_repository_directory()
    {
        Assert.True(PgDr.Hosting.OsUser.CallerIsRoot, "this test runs as root, as CI does");
        var postgres = OsUser.ForPostgres();
        await postgres.TakeOwnershipAsync(_root, CancellationToken.None);
        Assert.True(LinuxFileSystem.TryGetOwner(_root, out var uid, out var gid));

        await Repository.PutIfAbsentAsync("main/wal/0000000100000000/000000010000000000000001", new MemoryStream([1]), CancellationToken.None);

        foreach (var path in new[] { "main", "main/wal", "main/wal/0000000100000000", "main/wal/0000000100000000/000000010000000000000001" })
        {
            Assert.True(LinuxFileSystem.TryGetOwner(Path.Combine(_root, path), out var u, out var g));
            Assert.Equal((uid, gid), (u, g));
        }

        var check = await ProcessRunner.RunAsync("test", ["-r", Path.Combine(_root, "main/wal/0000000100000000/000000010000000000000001")], CancellationToken.None, postgres, workingDirectory: "/");
        Assert.Equal(0, check.ExitCode);
    }
}
