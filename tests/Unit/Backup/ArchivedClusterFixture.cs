using PgDr.Archive.Configuration;
using PgDr.Archive.Server;
using PgDr.Archive.Transfer;
using PgDr.Connections;
using PgDr.Hosting;
using PgDr.Hosting.Sandbox;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Backup;

/// <summary>
/// A primary that archives its WAL through pgdr wal push (the JIT pgdr the postgres account can run) into encrypted
/// repositories, shared by the backup tests of one collection: they take backups and restore them elsewhere, and never
/// change its topology. Subclasses choose the repositories.
/// </summary>
public abstract class ArchivedClusterFixture : IAsyncLifetime
{
    private PgSandbox? _sandbox;

    public PgSandbox Sandbox => _sandbox ?? throw new InvalidOperationException("The sandbox was not created.");

    public PgInstance Primary => Sandbox.Primary.Instance;

    /// <summary>A directory for this fixture's files (repository, configuration, key), owned by the postgres account.</summary>
    public string Directory { get; private set; } = string.Empty;

    public string ConfigPath { get; private set; } = string.Empty;

    public PgDrConfig Config => PgDrConfig.Load(ConfigPath);

    protected abstract Task<IReadOnlyList<object>> RepositoriesAsync(string directory);

    protected virtual string Stanza => "main";

    public async Task InitializeAsync()
    {
        Directory = await ArchiveTestSupport.NewDirectoryAsync(GetType().Name.Replace("Fixture", string.Empty, StringComparison.Ordinal).ToLowerInvariant());
        try
        {
            ConfigPath = await ArchiveTestSupport.WriteConfigAsync(Directory, await ConfigJsonAsync(await RepositoriesAsync(Directory)));
            _sandbox = await SandboxService.CreateAsync(new SandboxSpec { Directory = Path.Combine(Directory, "sandbox"), Standbys = StandbyCount }, progress: null, CancellationToken.None);
            // The NativeAOT pgdr, as users install it: Test-PgWalArchiving rightly calls the framework-dependent one unhealthy.
            var pgdr = await NativePgDrFixture.PrivateCopyAsync();
            await WalArchivingService.SetAsync(Primary, new WalArchivingRequest { PgDrPath = pgdr, ConfigPath = ConfigPath }, apply: true, restart: true, CancellationToken.None);
            await ArchiveCurrentSegmentAsync();
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    protected virtual int StandbyCount => 0;

    /// <summary>The configuration: zstd, encrypted with a key file on this host.</summary>
    protected virtual async Task<string> ConfigJsonAsync(IReadOnlyList<object> repositories) =>
        ArchiveTestSupport.ConfigJson(Stanza, repositories, "zstd", await ArchiveTestSupport.NewKeyFileAsync(Directory));

    /// <summary>Switches the primary to a new segment and waits until every repository holds the one it ended.</summary>
    public async Task ArchiveCurrentSegmentAsync()
    {
        var health = await WalArchivingHealthService.TestAsync(Primary, new WalArchivingTestOptions { ForceSwitch = true, Deadline = TimeSpan.FromSeconds(90) }, new RepositoryWalProbe(Config), CancellationToken.None);
        Assert.True(health.Healthy, health.ToString());
    }

    public virtual async Task DisposeAsync()
    {
        if (_sandbox is not null)
        {
            await SandboxService.RemoveAsync(_sandbox.Directory, progress: null, CancellationToken.None);
        }
    }
}

/// <summary>One encrypted filesystem repository.</summary>
public class FileSystemArchivedClusterFixture : ArchivedClusterFixture
{
    public string RepositoryPath { get; private set; } = string.Empty;

    protected override async Task<IReadOnlyList<object>> RepositoriesAsync(string directory)
    {
        // archive_command runs as the postgres account: the repository must be its.
        RepositoryPath = System.IO.Directory.CreateDirectory(Path.Combine(directory, "repo")).FullName;
        await OsUser.ForPostgres().TakeOwnershipAsync(RepositoryPath, CancellationToken.None);
        return [ArchiveTestSupport.FileSystemRepository("local", RepositoryPath)];
    }

}

[CollectionDefinition(Name)]
public sealed class FileSystemBackups : ICollectionFixture<FileSystemArchivedClusterFixture>
{
    public const string Name = "Backups in a filesystem repository";
}

/// <summary>A cluster of its own for the tests that break its archiving for a while or expire its backups.</summary>
[CollectionDefinition(Name)]
public sealed class OwnClusterBackups : ICollectionFixture<FileSystemArchivedClusterFixture>
{
    public const string Name = "Backups on a cluster of their own";
}
