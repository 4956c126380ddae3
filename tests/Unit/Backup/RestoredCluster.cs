using PgDr.Backup.Restore;
using PgDr.Connections;
using PgDr.Hosting;
using PgDr.Hosting.Sandbox;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Backup;

/// <summary>A cluster restored by a test: started on a free port, asked questions, stopped and removed.</summary>
public sealed class RestoredCluster : IAsyncDisposable
{
    private readonly PgSandbox _sandbox;

    private RestoredCluster(PgSandbox sandbox, string dataDirectory, int port, PgRestoreResult result)
    {
        _sandbox = sandbox;
        DataDirectory = dataDirectory;
        Port = port;
        Result = result;
        Cluster = new LocalCluster(sandbox.Binaries, dataDirectory, sandbox.RunAs);
        Instance = new PgInstance("127.0.0.1", port, username: PgSandbox.Superuser).WithCredential(PgSandbox.Superuser, sandbox.SuperuserPassword);
    }

    public string DataDirectory { get; }

    public int Port { get; }

    public PgRestoreResult Result { get; }

    public LocalCluster Cluster { get; }

    public PgInstance Instance { get; }

    /// <summary>The settings every test restore gets: its own port, and no archiving into the shared repositories.</summary>
    public static Dictionary<string, string> TestSettings(int port) => new() { ["port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture), ["cluster_name"] = "restored" };

    /// <summary>Restores with <paramref name="request"/> (port and archive_mode added) into a new directory; does not start it.</summary>
    public static async Task<RestoredCluster> RestoreAsync(ArchivedClusterFixture fixture, Func<string, RestoreRequest> request, string? dataDirectory = null)
    {
        var port = Ports.Closed();
        dataDirectory ??= Path.Combine(await ArchiveTestSupport.NewDirectoryAsync("restore"), "data");
        var asked = request(dataDirectory);
        var full = asked with
        {
            PgDrPath = PgDrForPostgres.ExecutablePath,
            ArchiveMode = RestoreArchiveMode.Off,
            Settings = new Dictionary<string, string>(TestSettings(port).Concat(asked.Settings ?? new Dictionary<string, string>())),
        };
        var result = await RestoreService.RunAsync(fixture.Config, full, progress: null, CancellationToken.None);
        return new RestoredCluster(fixture.Sandbox, dataDirectory, port, result);
    }

    /// <summary>Starts the restored cluster and waits until recovery has promoted it.</summary>
    public async Task StartAndWaitForPromotionAsync()
    {
        await Cluster.StartAsync(CancellationToken.None);
        await Wait.UntilAsync(
            async ct => !await Sql.ScalarAsync<bool>(Instance, "SELECT pg_is_in_recovery()"),
            TimeSpan.FromSeconds(120), "the restored cluster to reach its target and promote", CancellationToken.None);
    }

    /// <summary>The markers table's ids, comma-separated in order ("" when empty, "(none)" when the table does not exist).</summary>
    public async Task<string> MarkersAsync() =>
        await Sql.ScalarAsync<bool>(Instance, "SELECT to_regclass('markers') IS NULL")
            ? "(none)"
            : await Sql.ScalarAsync<string>(Instance, "SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM markers");

    public async ValueTask DisposeAsync()
    {
        await Cluster.ForceStopAsync(CancellationToken.None);
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: the run's directory is removed at the end anyway.
        }
    }
}
