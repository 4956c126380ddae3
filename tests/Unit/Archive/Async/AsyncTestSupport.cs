using PgDr.Archive.Configuration;
using PgDr.Archive.Repositories;
using PgDr.Archive.Wal;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Archive.Async;

/// <summary>A pg_wal with archive_status/*.ready files, a spool and a repository, for the async engine tests.</summary>
public sealed class AsyncArchiveSetup
{
    private AsyncArchiveSetup(string directory)
    {
        Directory = directory;
        PgWal = System.IO.Directory.CreateDirectory(System.IO.Path.Combine(directory, "pg_wal")).FullName;
        System.IO.Directory.CreateDirectory(StatusDirectory);
        Spool = System.IO.Path.Combine(directory, "spool");
        Repository = System.IO.Directory.CreateDirectory(System.IO.Path.Combine(directory, "repo")).FullName;
    }

    public string Directory { get; }

    public string PgWal { get; }

    public string StatusDirectory => System.IO.Path.Combine(PgWal, "archive_status");

    public string Spool { get; }

    public string Repository { get; }

    public static async Task<AsyncArchiveSetup> CreateAsync(string label) => new(await ArchiveTestSupport.NewDirectoryAsync(label));

    /// <summary>A configuration in async mode over the local repository (or <paramref name="repositoryPath"/>).</summary>
    public PgDrConfig Config(string? repositoryPath = null) =>
        ArchiveTestSupport.Config("main", [ArchiveTestSupport.FileSystemRepository("local", repositoryPath ?? Repository)], "zstd:1", spoolPath: Spool);

    /// <summary>
    /// Puts <paramref name="count"/> consecutive segments into pg_wal, each a copy of a real segment under a new name,
    /// and marks them ready as PostgreSQL does. Returns their names, oldest first.
    /// </summary>
    public IReadOnlyList<string> AddReadySegments(string realSegment, int count, uint firstSegment = 0xA0)
    {
        var names = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var name = WalFileName.ForSegment(1, firstSegment + (ulong)i).Name;
            File.Copy(realSegment, System.IO.Path.Combine(PgWal, name));
            File.WriteAllText(System.IO.Path.Combine(StatusDirectory, name + ".ready"), string.Empty);
            names.Add(name);
        }

        return names;
    }
}

/// <summary>Counts WAL uploads in flight, and the most at one moment.</summary>
public sealed class PutCounter
{
    private int _inFlight;
    private int _peak;
    private int _total;

    public int Peak => Volatile.Read(ref _peak);

    public int Total => Volatile.Read(ref _total);

    public void Enter()
    {
        Interlocked.Increment(ref _total);
        var now = Interlocked.Increment(ref _inFlight);
        int current;
        while ((current = Volatile.Read(ref _peak)) < now && Interlocked.CompareExchange(ref _peak, now, current) != current)
        {
        }
    }

    public void Leave() => Interlocked.Decrement(ref _inFlight);
}

/// <summary>Wraps a repository to count concurrent WAL uploads, slow them down, or make them hang.</summary>
public sealed class InstrumentedRepository(IArchiveRepository inner, PutCounter counter, Func<string, Task>? beforePut = null) : IArchiveRepository
{
    public string Name => inner.Name;

    public async Task<PutOutcome> PutIfAbsentAsync(string key, Stream content, CancellationToken cancellationToken)
    {
        if (!key.Contains("/wal/", StringComparison.Ordinal))
        {
            return await inner.PutIfAbsentAsync(key, content, cancellationToken);
        }

        counter.Enter();
        try
        {
            if (beforePut is not null)
            {
                await beforePut(key);
            }

            return await inner.PutIfAbsentAsync(key, content, cancellationToken);
        }
        finally
        {
            counter.Leave();
        }
    }

    public Task<Stream?> OpenReadAsync(string key, CancellationToken cancellationToken) => inner.OpenReadAsync(key, cancellationToken);

    public Task<ArchiveObjectInfo?> StatAsync(string key, CancellationToken cancellationToken) => inner.StatAsync(key, cancellationToken);

    public IAsyncEnumerable<ArchiveObjectInfo> ListAsync(string prefix, CancellationToken cancellationToken) => inner.ListAsync(prefix, cancellationToken);

    public Task DeleteAsync(string key, CancellationToken cancellationToken) => inner.DeleteAsync(key, cancellationToken);

    public Task<bool> StoreExistsAsync(CancellationToken cancellationToken) => inner.StoreExistsAsync(cancellationToken);

    public Task<bool> CreateStoreAsync(CancellationToken cancellationToken) => inner.CreateStoreAsync(cancellationToken);

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
