using PgDr.Hosting.Sandbox;

namespace PgDr.Tests.Fixtures;

/// <summary>
/// Real WAL: full 16 MiB segments copied out of a running primary's pg_wal after some writes, plus one segment of
/// a second, unrelated cluster (for the "other cluster" refusal).
/// </summary>
public sealed class WalCorpusFixture : IAsyncLifetime
{
    private PgSandbox? _cluster;
    private PgSandbox? _otherCluster;

    public string Directory { get; } = TestDirectories.Path("corpus-" + Guid.NewGuid().ToString("N")[..8]);

    /// <summary>Full, completed segments of the first cluster, oldest first.</summary>
    public IReadOnlyList<string> Segments { get; private set; } = [];

    /// <summary>A completed segment of another cluster, with a name the first cluster also uses.</summary>
    public string OtherClusterSegment { get; private set; } = string.Empty;

    public async Task InitializeAsync()
    {
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
            _cluster = await SandboxService.CreateAsync(new SandboxSpec { Directory = SandboxFixture.NewDirectory("corpus-a"), Standbys = 0 }, null, CancellationToken.None);
            _otherCluster = await SandboxService.CreateAsync(new SandboxSpec { Directory = SandboxFixture.NewDirectory("corpus-b"), Standbys = 0 }, null, CancellationToken.None);
            for (var i = 0; i < 3; i++)
            {
                await Sql.MakeWalAsync(_cluster.Primary.Instance);
            }

            await Sql.MakeWalAsync(_otherCluster.Primary.Instance);
            Segments = await CopyCompletedSegmentsAsync(_cluster, "a", 3);
            OtherClusterSegment = (await CopyCompletedSegmentsAsync(_otherCluster, "b", 1))[0];
        }
        catch
        {
            // xunit does not dispose a fixture whose initialisation failed: stop the clusters here.
            await DisposeAsync();
            throw;
        }
    }

    private async Task<IReadOnlyList<string>> CopyCompletedSegmentsAsync(PgSandbox sandbox, string label, int count)
    {
        // +1: at a segment boundary pg_walfile_name names the previous (completed) segment, not the one in progress.
        var current = await Sql.ScalarAsync<string>(sandbox.Primary.Instance, "SELECT pg_walfile_name(pg_current_wal_lsn() + 1)");
        var walDirectory = Path.Combine(sandbox.Primary.DataDirectory, "pg_wal");
        var completed = System.IO.Directory.GetFiles(walDirectory)
            .Select(Path.GetFileName)
            .Where(n => n!.Length == 24 && string.CompareOrdinal(n, current) < 0)
            .Order(StringComparer.Ordinal)
            .TakeLast(count)
            .ToList();
        var target = System.IO.Directory.CreateDirectory(Path.Combine(Directory, label)).FullName;
        return completed.Select(name =>
        {
            var copy = Path.Combine(target, name!);
            File.Copy(Path.Combine(walDirectory, name!), copy);
            return copy;
        }).ToList();
    }

    public async Task DisposeAsync()
    {
        foreach (var sandbox in new[] { _cluster, _otherCluster })
        {
            if (sandbox is not null)
            {
                await SandboxService.RemoveAsync(sandbox.Directory, null, CancellationToken.None);
            }
        }

        if (System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }
}
