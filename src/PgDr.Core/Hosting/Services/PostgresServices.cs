using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using PgDr.Connections;
using PgDr.Errors;

namespace PgDr.Hosting.Services;

/// <summary>
/// Finds the service that controls a node on this host: the one named (-Service), or, by default, a systemd unit or
/// Windows service whose data directory is the node's, else pg_ctl on the data directory.
/// </summary>
public static class PostgresServices
{
    /// <summary>
    /// The service of the server in <paramref name="dataDirectory"/> (which may not exist yet, for a new standby).
    /// <paramref name="majorVersion"/> chooses pg_ctl's programs when the directory has no PG_VERSION yet.
    /// </summary>
    public static Task<IPostgresService> ForDataDirectoryAsync(string dataDirectory, PgServiceSpec? spec, int? majorVersion, CancellationToken cancellationToken) =>
        new ServiceDiscovery(CommandRunners.Process).ResolveAsync(dataDirectory, spec ?? PgServiceSpec.Auto, majorVersion, cancellationToken);

    /// <summary>
    /// The service of a running node, found from its data_directory (which needs a superuser or pg_read_all_settings).
    /// The node must run on this host: systemctl, sc.exe and pg_ctl act on the local machine only.
    /// </summary>
    public static async Task<IPostgresService> ForInstanceAsync(PgInstance instance, PgServiceSpec? spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(instance);
        var (dataDirectory, major) = await LocalNode.ReadDataDirectoryAsync(instance, cancellationToken).ConfigureAwait(false);

        if (!await IsThisHostAsync(instance.Host, cancellationToken).ConfigureAwait(false) || !Directory.Exists(dataDirectory))
        {
            throw new PgDrInvalidOperationException(
                ErrorIds.ServiceNotControlled,
                $"{instance} does not run on this host (its data directory {dataDirectory} is not here); PgDr controls a server's service only on the server's own host.",
                instance);
        }

        return await ForDataDirectoryAsync(dataDirectory, spec, major, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Whether <paramref name="host"/> names this machine: loopback, a Unix socket directory, or an address of one of its interfaces.</summary>
    internal static async Task<bool> IsThisHostAsync(string host, CancellationToken cancellationToken)
    {
        if (host.StartsWith('/'))
        {
            return true;
        }

        IPAddress[] addresses;
        try
        {
            addresses = IPAddress.TryParse(host, out var ip) ? [ip] : await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException)
        {
            return false;
        }

        var local = NetworkInterface.GetAllNetworkInterfaces()
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(u => u.Address)
            .ToHashSet();
        return addresses.Any(a => IPAddress.IsLoopback(a) || local.Contains(a));
    }
}

/// <summary>The search behind <see cref="PostgresServices"/>, with the host's places injectable for tests.</summary>
internal sealed partial class ServiceDiscovery(CommandRunner run, string systemdRuntimeDirectory = "/run/systemd/system", string debianConfigRoot = "/etc/postgresql")
{
    public async Task<IPostgresService> ResolveAsync(string dataDirectory, PgServiceSpec spec, int? majorVersion, CancellationToken cancellationToken)
    {
        var full = Normalize(dataDirectory);
        switch (spec.Kind)
        {
            case PgServiceKind.Systemd:
                return new SystemdService(spec.Name!, full, run);
            case PgServiceKind.WindowsService:
                var service = await WindowsService.OpenAsync(spec.Name!, run, cancellationToken).ConfigureAwait(false);
                return SameDirectory(service.DataDirectory, full)
                    ? service
                    : throw new PgDrInvalidOperationException(
                        ErrorIds.ServiceNotControlled, $"{service.Description} runs {service.DataDirectory}, not {full}.", spec.Name);
            case PgServiceKind.PgCtl:
                return await PgCtlAsync(full, spec, majorVersion, cancellationToken).ConfigureAwait(false);
        }

        IPostgresService? found = OperatingSystem.IsWindows()
            ? (await WindowsService.FindAllAsync(run, cancellationToken).ConfigureAwait(false)).FirstOrDefault(s => SameDirectory(s.DataDirectory, full))
            : await FindSystemdAsync(full, cancellationToken).ConfigureAwait(false);
        return found ?? await PgCtlAsync(full, spec, majorVersion, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A systemd unit that runs <paramref name="dataDirectory"/>, when systemd runs this host: Debian's
    /// postgresql@&lt;version&gt;-&lt;cluster&gt; (its data_directory is in /etc/postgresql/&lt;version&gt;/&lt;cluster&gt;/postgresql.conf), or a unit
    /// whose environment sets PGDATA (PGDG's postgresql-15).
    /// </summary>
    internal async Task<SystemdService?> FindSystemdAsync(string dataDirectory, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(systemdRuntimeDirectory))
        {
            return null;
        }

        if (Directory.Exists(debianConfigRoot))
        {
            foreach (var conf in Directory.EnumerateFiles(debianConfigRoot, "postgresql.conf", new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 2 }).Order(StringComparer.Ordinal))
            {
                var clusterDirectory = Path.GetDirectoryName(conf)!;
                var version = Path.GetFileName(Path.GetDirectoryName(clusterDirectory));
                if (File.ReadLines(conf).Select(l => DataDirectorySetting().Match(l)).LastOrDefault(m => m.Success) is { } setting
                    && SameDirectory(setting.Groups[1].Value, dataDirectory))
                {
                    return new SystemdService($"postgresql@{version}-{Path.GetFileName(clusterDirectory)}", dataDirectory, run);
                }
            }
        }

        var units = await run("systemctl", ["list-unit-files", "--type=service", "--no-legend", "postgresql*"], cancellationToken).ConfigureAwait(false);
        foreach (var unit in units.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                     .Select(l => l.Split(' ', 2)[0])
                     .Where(u => !u.Contains("@.", StringComparison.Ordinal)))
        {
            var environment = await run("systemctl", ["show", "--property=Environment", "--value", unit], cancellationToken).ConfigureAwait(false);
            var pgdata = environment.StandardOutput.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .FirstOrDefault(v => v.StartsWith("PGDATA=", StringComparison.Ordinal));
            if (pgdata is not null && SameDirectory(pgdata["PGDATA=".Length..], dataDirectory))
            {
                return new SystemdService(unit.EndsWith(".service", StringComparison.Ordinal) ? unit[..^".service".Length] : unit, dataDirectory, run);
            }
        }

        return null;
    }

    private static async Task<IPostgresService> PgCtlAsync(string dataDirectory, PgServiceSpec spec, int? majorVersion, CancellationToken cancellationToken)
    {
        var binaries = await PostgresBinaries.LocateAsync(spec.BinDirectory, majorVersion ?? ReadMajorVersion(dataDirectory), cancellationToken).ConfigureAwait(false);
        return new LocalCluster(binaries, dataDirectory, OsUser.ForPostgres(spec.ServiceAccount));
    }

    /// <summary>PG_VERSION of a data directory; null when there is none (yet) or it cannot be read.</summary>
    private static int? ReadMajorVersion(string dataDirectory)
    {
        try
        {
            return int.TryParse(File.ReadAllText(Path.Combine(dataDirectory, "PG_VERSION")).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var major) ? major : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string Normalize(string path) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));

    private static bool SameDirectory(string a, string b) =>
        string.Equals(Normalize(a), Normalize(b), OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);

    [GeneratedRegex(@"^\s*data_directory\s*=?\s*'([^']*)'")]
    private static partial Regex DataDirectorySetting();
}
