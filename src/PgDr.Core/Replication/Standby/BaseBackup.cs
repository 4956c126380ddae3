using System.Globalization;
using System.Text.RegularExpressions;
using PgDr.Connections;
using PgDr.Errors;
using PgDr.Hosting;

namespace PgDr.Replication.Standby;

/// <summary>
/// pg_basebackup -S slot -X stream -c fast, run as the service account: the files land owned by the account that
/// will run them, and WAL streams through the slot while the copy runs, so nothing the copy needs can be recycled.
/// </summary>
internal static partial class BaseBackup
{
    /// <summary>Copies the upstream into <paramref name="dataDirectory"/>; reports (done, total) bytes as pg_basebackup counts them. Returns the bytes copied.</summary>
    public static async Task<long> RunAsync(
        PostgresBinaries binaries,
        OsUser runAs,
        ConnInfo conninfo,
        string? passwordFile,
        string dataDirectory,
        string slotName,
        bool skipSync,
        string workingDirectory,
        Action<long, long> progress,
        CancellationToken cancellationToken)
    {
        // The connection is the standby's own primary_conninfo: the same user, password file, TLS settings and keepalives.
        // libpq's variables of whoever runs pgdr are left out, as the server started afterwards leaves them out: a
        // PGPASSWORD would win over the password file, and the copy would log in where the standby then cannot.
        List<string> arguments = ["-d", conninfo.ToString(), "-D", dataDirectory, "-S", slotName, "-X", "stream", "-c", "fast", "--progress", "--no-password"];
        if (skipSync)
        {
            arguments.Add("--no-sync");
        }

        var environment = new Dictionary<string, string> { ["PGCONNECT_TIMEOUT"] = "10" };
        if (passwordFile is not null)
        {
            environment["PGPASSFILE"] = passwordFile;
        }

        long copied = 0;
        var result = await ProcessRunner.RunAsync(
            binaries.Tool("pg_basebackup"),
            arguments,
            cancellationToken,
            runAs,
            environment,
            workingDirectory,
            standardErrorLine: line =>
            {
                // Without a terminal pg_basebackup writes one "done/total kB (n%), ..." line per report.
                if (ProgressLine().Match(line) is { Success: true } match)
                {
                    copied = 1024 * long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
                    progress(copied, 1024 * long.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture));
                }
            },
            withoutVariables: LibpqEnvironment.Variables).ConfigureAwait(false);

        if (result.ExitCode != 0)
        {
            throw Failure(result.StandardError, conninfo, slotName);
        }

        return copied;
    }

    /// <summary>The cause pg_basebackup gave, as the error id a caller can act on.</summary>
    internal static PgDrException Failure(string standardError, ConnInfo conninfo, string slotName)
    {
        var lines = standardError.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => !ProgressLine().IsMatch(l))
            .ToList();
        var cause = lines.FirstOrDefault(l => l.Contains("error:", StringComparison.Ordinal) || l.Contains("FATAL:", StringComparison.Ordinal))
            ?? lines.LastOrDefault()
            ?? "(no output)";
        var upstream = $"{conninfo["host"]}:{conninfo["port"]}";
        var message = $"pg_basebackup from {upstream} failed: {cause}";
        bool Says(string text) => lines.Any(l => l.Contains(text, StringComparison.OrdinalIgnoreCase));
        if (Says("replication slot") && Says("is active"))
        {
            return new PgDrException(ErrorIds.ReplicationSlotActive, PgDrErrorCategory.ResourceBusy, message, slotName);
        }

        if (Says("replication slot") && Says("does not exist"))
        {
            return new PgDrNotFoundException(ErrorIds.ReplicationSlotNotFound, message, slotName);
        }

        if (Says("password authentication failed") || Says("no password supplied") || Says("no pg_hba.conf entry"))
        {
            return new PgDrConnectionException(ErrorIds.AuthenticationFailed, PgDrErrorCategory.AuthenticationError, message, upstream);
        }

        return Says("could not connect") || Says("Connection refused") || Says("timeout expired")
            ? new PgDrConnectionException(ErrorIds.HostUnreachable, PgDrErrorCategory.ConnectionError, message, upstream)
            : new PgDrException(ErrorIds.BaseBackupFailed, PgDrErrorCategory.InvalidOperation, message, upstream);
    }

    [GeneratedRegex(@"^\s*(\d+)/(\d+) kB \(\d+%\)")]
    private static partial Regex ProgressLine();
}
