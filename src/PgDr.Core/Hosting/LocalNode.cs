using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using Npgsql;
using PgDr.Connections;

namespace PgDr.Hosting;

/// <summary>
/// A node whose server runs on this host and whose data directory PgDr can see: connected over loopback, and
/// postmaster.pid in the data directory names the port connected to. From the postmaster process (/proc on Linux)
/// PgDr then knows what archive_command and restore_command will meet: the OS account, the environment and where
/// the server writes its log.
/// </summary>
public sealed class LocalNode
{
    private LocalNode(string dataDirectory, int majorVersion, int postmasterPid)
    {
        DataDirectory = dataDirectory;
        MajorVersion = majorVersion;
        PostmasterPid = postmasterPid;
    }

    public string DataDirectory { get; }

    public int MajorVersion { get; }

    public int PostmasterPid { get; }

    /// <summary>The node when it runs on this host and PgDr can read its data directory's postmaster.pid; otherwise null.</summary>
    public static async Task<LocalNode?> FindAsync(PgInstance instance, CancellationToken cancellationToken)
    {
        if (!IsLoopback(instance.Host))
        {
            return null;
        }

        var (dataDirectory, major) = await ReadDataDirectoryAsync(instance, cancellationToken).ConfigureAwait(false);
        return ReadPostmasterPid(dataDirectory, instance.Port) is { } pid ? new LocalNode(dataDirectory, major, pid) : null;
    }

    /// <summary>The server's data_directory (a superuser or pg_read_all_settings may read it) and major version.</summary>
    internal static Task<(string DataDirectory, int MajorVersion)> ReadDataDirectoryAsync(PgInstance instance, CancellationToken cancellationToken) =>
        PgConnector.RunAsync(instance, async conn =>
        {
            using var cmd = new NpgsqlCommand("SELECT current_setting('data_directory'), current_setting('server_version_num')::int / 10000", conn);
            using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            return (reader.GetString(0), reader.GetInt32(1));
        }, cancellationToken);

    /// <summary>
    /// The OS account the server runs as (the postmaster's real user), as a <see cref="OsUser"/> to run programs under;
    /// null where it cannot be told (not Linux, or /proc hidden).
    /// </summary>
    public OsUser? ServiceAccount()
    {
        var status = ReadProc("status");
        var uidLine = status?.Split('\n').FirstOrDefault(l => l.StartsWith("Uid:", StringComparison.Ordinal));
        if (uidLine is null || !uint.TryParse(uidLine.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1], NumberStyles.None, CultureInfo.InvariantCulture, out var uid))
        {
            return null;
        }

        return OsUser.ForUid(uid);
    }

    /// <summary>
    /// The postmaster's environment, which archive_command and restore_command inherit (a keyEnv variable must be set
    /// there, not in an admin's shell); null when it cannot be read (only root and the server's own account can).
    /// </summary>
    public IReadOnlyDictionary<string, string>? Environment()
    {
        var environ = ReadProc("environ");
        if (environ is null)
        {
            return null;
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in environ.Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = entry.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                result[entry[..equals]] = entry[(equals + 1)..];
            }
        }

        return result;
    }

    /// <summary>
    /// Where the server writes what archive_command prints on stderr: the file the postmaster's standard error is
    /// (pg_ctl -l, Debian's pg_ctlcluster); null when it is not a regular file (journald, a pipe to the logging
    /// collector) or cannot be seen.
    /// </summary>
    public string? StandardErrorFile()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            var target = new FileInfo($"/proc/{PostmasterPid}/fd/2").LinkTarget;
            return target is not null && target.StartsWith('/') && File.Exists(target) ? target : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public override string ToString() => $"{DataDirectory} (postmaster {PostmasterPid})";

    internal static bool IsLoopback(string host) =>
        host is "localhost" || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));

    private static int? ReadPostmasterPid(string dataDirectory, int port)
    {
        try
        {
            // postmaster.pid: line 1 is the pid, line 4 the port.
            var lines = File.ReadLines(Path.Combine(dataDirectory, "postmaster.pid")).Take(4).ToList();
            return lines.Count == 4
                && int.TryParse(lines[3], NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p == port
                && int.TryParse(lines[0], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                ? pid
                : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private string? ReadProc(string name)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            return File.ReadAllText($"/proc/{PostmasterPid}/{name}");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ExternalException)
        {
            return null;
        }
    }
}
