using PgDr.Connections;
using PgDr.Errors;

namespace PgDr.Hosting;

/// <summary>
/// Restarts a node when PgDr controls it: a server on this host whose data directory is here and whose
/// postmaster.pid names the port we connected to (the sandbox, or a cluster started with pg_ctl).
/// Servers run by systemd or a Windows service are left to their service manager, with a clear error.
/// </summary>
public static class LocalServiceControl
{
    public static async Task RestartAsync(PgInstance instance, CancellationToken cancellationToken)
    {
        var node = await LocalNode.FindAsync(instance, cancellationToken).ConfigureAwait(false)
            ?? throw new PgDrInvalidOperationException(
                ErrorIds.RestartNotControlled,
                $"PgDr does not control the service of {instance} (not a local pg_ctl cluster it can see); restart it with its service manager (e.g. systemctl restart postgresql).",
                instance);

        var binaries = await PostgresBinaries.LocateAsync(null, node.MajorVersion, cancellationToken).ConfigureAwait(false);
        var cluster = new LocalCluster(binaries, node.DataDirectory, OsUser.ForPostgres());
        await cluster.StopAsync(StopMode.Fast, cancellationToken).ConfigureAwait(false);
        await cluster.StartAsync(cancellationToken).ConfigureAwait(false);
    }
}
