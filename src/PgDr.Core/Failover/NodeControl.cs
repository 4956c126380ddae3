using PgDr.Connections;
using PgDr.Errors;
using PgDr.Hosting;
using PgDr.Hosting.Services;

namespace PgDr.Failover;

/// <summary>
/// A node on this host that failover, switchover and rejoin stop and start: through the service that runs it
/// (pg_ctl, a systemd unit, a Windows service: Hosting's <see cref="IPostgresService"/>, never around it), with the
/// data directory's own programs (pg_controldata, pg_waldump, pg_rewind, postgres -C) run as the server's account.
/// </summary>
public sealed class ControlledNode
{
    public ControlledNode(IPostgresService service, LocalCluster tools)
    {
        Service = service;
        Tools = tools;
    }

    public IPostgresService Service { get; }

    /// <summary>The data directory with the server's programs and account (pg_ctl is not used through it).</summary>
    public LocalCluster Tools { get; }

    public string DataDirectory => Tools.DataDirectory;

    public PostgresBinaries Binaries => Tools.Binaries;

    public OsUser RunAs => Tools.RunAs;

    public Task StopAsync(StopMode mode, CancellationToken cancellationToken) => Service.StopAsync(mode, cancellationToken);

    public Task StartAsync(CancellationToken cancellationToken) => Service.StartAsync(cancellationToken);

    public Task<bool> IsRunningAsync(CancellationToken cancellationToken) => Service.IsRunningAsync(cancellationToken);

    public override string ToString() => Service.Description;
}

/// <summary>Finds the <see cref="ControlledNode"/> behind an instance or a data directory.</summary>
public static class NodeControl
{
    /// <summary>The node behind <paramref name="instance"/>, or null when it does not run on this host.</summary>
    public static async Task<ControlledNode?> TryResolveAsync(PgInstance instance, CancellationToken cancellationToken, PgServiceSpec? spec = null)
    {
        IPostgresService service;
        try
        {
            service = await PostgresServices.ForInstanceAsync(instance, spec, cancellationToken).ConfigureAwait(false);
        }
        catch (PgDrException ex) when (ex.ErrorId == ErrorIds.ServiceNotControlled)
        {
            return null;
        }

        return await WithToolsAsync(service, service.DataDirectory!, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A data directory on this host, running or not, with the service that runs it.</summary>
    public static async Task<ControlledNode> ForDataDirectoryAsync(string dataDirectory, CancellationToken cancellationToken, PgServiceSpec? spec = null)
    {
        var full = Path.GetFullPath(dataDirectory);
        var service = await PostgresServices.ForDataDirectoryAsync(full, spec, ReadMajorVersion(full), cancellationToken).ConfigureAwait(false);
        return await WithToolsAsync(service, full, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<ControlledNode> WithToolsAsync(IPostgresService service, string dataDirectory, CancellationToken cancellationToken)
    {
        if (service is LocalCluster cluster)
        {
            return new ControlledNode(service, cluster);
        }

        var binaries = await PostgresBinaries.LocateAsync(null, ReadMajorVersion(dataDirectory), cancellationToken).ConfigureAwait(false);
        return new ControlledNode(service, new LocalCluster(binaries, dataDirectory, OsUser.ForPostgres()));
    }

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
