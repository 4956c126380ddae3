using System.Globalization;
using System.Text.RegularExpressions;
using PgDr.Archive.Server;
using PgDr.Hosting;

namespace PgDr.Diagnostics;

/// <summary>How often one known failure line occurred in the scanned log, and its last occurrence.</summary>
internal sealed record ServerLogFinding(ServerLogPattern Pattern, int Count, DateTimeOffset? LastSeen, string LastLine);

/// <summary>
/// Scans the end of a node's server log (read where ServerLog can: through SQL, or the file the postmaster writes on this
/// host) for the known failure lines, counting each within a window before the node's own clock.
/// </summary>
internal static partial class ServerLogScan
{
    private const PgDrCheckArea Area = PgDrCheckArea.Log;

    public static async Task<IReadOnlyList<PgDrCheck>> RunAsync(NodeFacts facts, LocalNode? local, ConfigurationCheckOptions options, CheckWriter w, CancellationToken cancellationToken)
    {
        var tail = await ServerLog.ReadTailAsync(facts.Instance, local, cancellationToken, maxBytes: options.LogTailBytes).ConfigureAwait(false);
        if (tail is null)
        {
            return [w.Warn(Area, CheckIds.LogScan, "the server log cannot be read from here: no logging collector readable through SQL, and the node is not on this host",
                "Run the check on the node's host (as root or the server's account), or as a superuser with logging_collector = on.")];
        }

        var since = facts.Node.ObservedAt - options.LogWindow;
        var findings = Scan(tail.Lines, since);
        if (findings.Count == 0)
        {
            return [w.Pass(Area, CheckIds.LogScan, $"no known failure since {since:u} in the last {tail.Lines.Count} lines of {tail.Path}")];
        }

        var archiveFailure = ArchiveCommandLog.LastFailure(tail.Lines, null)?.PgDrError;
        return findings.Select(f =>
        {
            var fix = f.Pattern.Fix;
            var cause = f.Pattern.Cause;
            if (f.Pattern.CheckId == CheckIds.LogArchiveFailed && archiveFailure is { } pgdr)
            {
                // pgdr printed its own error id just before PostgreSQL's line: its fix is the precise one.
                cause += $" (pgdr: {pgdr.Message} [{pgdr.ErrorId}])";
                fix = ArchiveFailureAdvice.For(pgdr.ErrorId) ?? fix;
            }

            return w.Make(Area, f.Pattern.CheckId, f.Pattern.Verdict,
                $"{f.Count} time(s) since {since:u}, last {(f.LastSeen is { } at ? at.ToString("u", CultureInfo.InvariantCulture) : "at an unknown time")}: {cause}. Last: {Shorten(f.LastLine)}",
                fix, subject: tail.Path, count: f.Count, lastSeen: f.LastSeen);
        }).ToList();
    }

    /// <summary>
    /// The known failures in <paramref name="lines"/> since <paramref name="since"/>. A line without a time of its own
    /// (a DETAIL, or what archive_command printed) has the time of the last line before it that had one; lines whose
    /// time cannot be told count regardless.
    /// </summary>
    internal static IReadOnlyList<ServerLogFinding> Scan(IReadOnlyList<string> lines, DateTimeOffset since)
    {
        var found = new Dictionary<ServerLogPattern, ServerLogFinding>();
        DateTimeOffset? time = null;
        foreach (var line in lines)
        {
            if (LineTime(line) is { } stamped)
            {
                time = stamped;
            }

            if (time is { } t && t < since)
            {
                continue;
            }

            var pattern = ServerLogPatterns.All.FirstOrDefault(p => p.Match.IsMatch(line));
            if (pattern is null)
            {
                continue;
            }

            found[pattern] = new ServerLogFinding(pattern, (found.TryGetValue(pattern, out var before) ? before.Count : 0) + 1, time, line);
        }

        return ServerLogPatterns.All.Where(found.ContainsKey).Select(p => found[p]).ToList();
    }

    /// <summary>The time at the start of a line written with log_line_prefix %m or %t (2026-12-01 19:40:00.123 UTC); null otherwise.</summary>
    internal static DateTimeOffset? LineTime(string line)
    {
        var match = Stamp().Match(line);
        if (!match.Success
            || !DateTime.TryParseExact(match.Groups["time"].Value, ["yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm:ss.fff"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var local))
        {
            return null;
        }

        var zone = match.Groups["zone"].Value;
        TimeSpan? offset = zone is "UTC" or "GMT" or "Z" ? TimeSpan.Zero
            : zone.Length >= 3 && zone[0] is '+' or '-' && int.TryParse(zone[1..3], NumberStyles.None, CultureInfo.InvariantCulture, out var hours)
                ? TimeSpan.FromHours(zone[0] == '-' ? -hours : hours) + (zone.Length >= 5 && int.TryParse(zone[^2..], NumberStyles.None, CultureInfo.InvariantCulture, out var minutes) ? TimeSpan.FromMinutes(zone[0] == '-' ? -minutes : minutes) : TimeSpan.Zero)
                : null;
        return offset is { } o ? new DateTimeOffset(local, o) : null;
    }

    private static string Shorten(string line) => line.Length <= 240 ? line.Trim() : line[..240].Trim() + "...";

    [GeneratedRegex(@"^(?<time>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{3})?) (?<zone>[A-Za-z]+|[+-]\d{2}(:?\d{2})?)\b")]
    private static partial Regex Stamp();
}
