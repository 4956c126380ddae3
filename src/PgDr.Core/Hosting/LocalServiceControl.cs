using System.Globalization;
using System.Net;
using Npgsql;
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
        var cluster = await TryResolveAsync(instance, cancellationToken).ConfigureAwait(false)
            ?? throw new PgDrInvalidOperationException(
                ErrorIds.RestartNotControlled,
                $"PgDr does not control the service of {instance} (not a local pg_ctl cluster it can see); restart it with its service manager (e.g. systemctl restart postgresql).",
                instance);
        await cluster.StopAsync(StopMode.Fast, cancellationToken).ConfigureAwait(false);
        await cluster.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The local pg_ctl cluster behind <paramref name="instance"/>, or null when PgDr does not control it (another
    /// host, or a data directory whose postmaster.pid names another port).
    /// </summary>
    public static async Task<LocalCluster?> TryResolveAsync(PgInstance instance, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(instance);
        if (!IsLocal(instance.Host))
        {
            return null;
        }

        var (dataDirectory, major) = await PgConnector.RunAsync(instance, async conn =>
        {
            using var cmd = new NpgsqlCommand("SELECT current_setting('data_directory'), current_setting('server_version_num')::int / 10000", conn);
            using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            return (reader.GetString(0), reader.GetInt32(1));
        }, cancellationToken).ConfigureAwait(false);
        if (!PostmasterListensOn(dataDirectory, instance.Port))
        {
            return null;
        }

        var binaries = await PostgresBinaries.LocateAsync(null, major, cancellationToken).ConfigureAwait(false);
        return new LocalCluster(binaries, dataDirectory, OsUser.ForPostgres());
    }

    private static bool IsLocal(string host) =>
        host is "localhost" || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));

    private static bool PostmasterListensOn(string dataDirectory, int port)
    {
        try
        {
            // postmaster.pid: line 4 is the port.
            var lines = File.ReadLines(Path.Combine(dataDirectory, "postmaster.pid")).Take(4).ToList();
            return lines.Count == 4 && int.TryParse(lines[3], NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p == port;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
