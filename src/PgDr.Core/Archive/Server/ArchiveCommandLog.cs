using System.Globalization;
using System.Text.RegularExpressions;

namespace PgDr.Archive.Server;

/// <summary>One failed archive_command run as the server log tells it.</summary>
internal sealed record ArchiveCommandFailureEntry(string? WalFileName, int? ExitCode, string? Signal, IReadOnlyList<string> Output)
{
    /// <summary>pgdr's own error line (<c>pgdr: message [ErrorId]</c>), the last one the command printed.</summary>
    public (string Message, string ErrorId)? PgDrError
    {
        get
        {
            foreach (var line in Output.Reverse())
            {
                var match = ArchiveCommandLog.PgDrErrorLine().Match(line);
                if (match.Success)
                {
                    return (match.Groups["message"].Value, match.Groups["id"].Value);
                }
            }

            return null;
        }
    }
}

/// <summary>
/// Finds failed archive_command runs in a server log. PostgreSQL (pgarch.c / shell_archive.c) logs each one as
/// "archive command failed with exit code N" (LOG, or FATAL for 126/127, after which the archiver restarts without
/// counting a failure in pg_stat_archiver) or "archive command was terminated by signal N", followed by
/// "DETAIL:  The failed archive command was: ..."; whatever the command wrote to stderr comes just before, as raw
/// lines without the log line prefix (pgdr's is one line ending in its error id).
/// </summary>
internal static partial class ArchiveCommandLog
{
    // Every message PostgreSQL writes has "SEVERITY:  " (two spaces) after whatever log_line_prefix makes.
    private static readonly string[] Severities = ["DEBUG1:  ", "DEBUG2:  ", "DEBUG3:  ", "DEBUG4:  ", "DEBUG5:  ", "LOG:  ", "INFO:  ", "NOTICE:  ", "WARNING:  ", "ERROR:  ", "FATAL:  ", "PANIC:  ", "DETAIL:  ", "HINT:  ", "CONTEXT:  ", "STATEMENT:  ", "LOCATION:  "];

    private const int MaxOutputLines = 10;

    /// <summary>
    /// The last failure of <paramref name="walFileName"/> in <paramref name="lines"/>, or of any file when it is null;
    /// null when the log shows none.
    /// </summary>
    public static ArchiveCommandFailureEntry? LastFailure(IReadOnlyList<string> lines, string? walFileName)
    {
        for (var i = lines.Count - 1; i >= 0; i--)
        {
            var failed = FailedLine().Match(lines[i]);
            if (!failed.Success)
            {
                continue;
            }

            var detail = i + 1 < lines.Count ? CommandDetail().Match(lines[i + 1]) : Match.Empty;
            var file = detail.Success ? Path.GetFileName(detail.Groups["command"].Value.Trim().Split(' ').Last()) : null;
            if (walFileName is not null && file is not null && !string.Equals(file, walFileName, StringComparison.Ordinal))
            {
                continue;
            }

            var output = new List<string>();
            for (var j = i - 1; j >= 0 && output.Count < MaxOutputLines && !IsServerMessage(lines[j]); j--)
            {
                if (lines[j].Trim().Length > 0)
                {
                    output.Insert(0, lines[j].Trim());
                }
            }

            int? exitCode = failed.Groups["code"].Success ? int.Parse(failed.Groups["code"].Value, CultureInfo.InvariantCulture) : null;
            var signal = failed.Groups["signal"].Success ? failed.Groups["signal"].Value : null;
            return new ArchiveCommandFailureEntry(file, exitCode, signal, output);
        }

        return null;
    }

    private static bool IsServerMessage(string line) => Severities.Any(s => line.Contains(s, StringComparison.Ordinal));

    [GeneratedRegex(@"archive command (failed with exit code (?<code>\d+)|was terminated by signal (?<signal>\d+.*)|exited with unrecognized status (?<status>\d+))")]
    private static partial Regex FailedLine();

    [GeneratedRegex(@"DETAIL:  The failed archive command was: (?<command>.*)$")]
    private static partial Regex CommandDetail();

    [GeneratedRegex(@"^pgdr: (?<message>.*) \[(?<id>[A-Za-z]+)\]$")]
    internal static partial Regex PgDrErrorLine();
}
