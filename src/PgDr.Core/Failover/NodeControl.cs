using PgDr.Connections;
using PgDr.Hosting;

namespace PgDr.Failover;

/// <summary>
/// Stopping and starting the nodes failover, switchover and rejoin act on. Today that is pg_ctl on this host
/// (<see cref="LocalCluster"/>): the one place the Failover area touches service control, so that it moves to the
/// Hosting service-control interface (pg_ctl, systemd, Windows services) in one step.
/// </summary>
public static class NodeControl
{
    /// <summary>
    /// The local pg_ctl cluster behind <paramref name="instance"/>, or null when PgDr does not control it (another host,
    /// or a data directory it cannot see whose postmaster.pid names another port).
    /// </summary>
    public static Task<LocalCluster?> TryResolveAsync(PgInstance instance, CancellationToken cancellationToken) =>
        LocalServiceControl.TryResolveAsync(instance, cancellationToken);

    /// <summary>A data directory on this host, running or not; the major version is read from its PG_VERSION when not given.</summary>
    public static async Task<LocalCluster> ForDataDirectoryAsync(string dataDirectory, int? majorVersion, CancellationToken cancellationToken)
    {
        var major = majorVersion ?? ReadMajorVersion(dataDirectory);
        var binaries = await PostgresBinaries.LocateAsync(null, major, cancellationToken).ConfigureAwait(false);
        return new LocalCluster(binaries, Path.GetFullPath(dataDirectory), OsUser.ForPostgres());
    }

    public static Task StopAsync(LocalCluster cluster, StopMode mode, CancellationToken cancellationToken) =>
        cluster.StopAsync(mode, cancellationToken);

    public static Task StartAsync(LocalCluster cluster, CancellationToken cancellationToken) => cluster.StartAsync(cancellationToken);

    public static Task<bool> IsRunningAsync(LocalCluster cluster, CancellationToken cancellationToken) => cluster.IsRunningAsync(cancellationToken);

    private static int? ReadMajorVersion(string dataDirectory)
    {
        try
        {
            var text = File.ReadAllText(Path.Combine(dataDirectory, "PG_VERSION")).Trim();
            return int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var major) ? major : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
