using Npgsql;
using PgDr.Connections;
using PgDr.Errors;
using PgDr.Hosting;
using PgDr.Topology;

namespace PgDr.Archive.Server;

/// <summary>Where archived segments can be looked for, to prove a switched segment reached every repository.</summary>
public interface IWalArchiveProbe
{
    /// <summary>Names of the required repositories that do not (yet) hold <paramref name="walFileName"/>.</summary>
    Task<IReadOnlyList<string>> MissingFromAsync(string walFileName, CancellationToken cancellationToken);
}

/// <summary>How thorough Test-PgWalArchiving is.</summary>
public sealed class WalArchivingTestOptions
{
    /// <summary>Switch to a new segment and wait until it is archived (and, with a probe, present in every repository).</summary>
    public bool ForceSwitch { get; init; }

    /// <summary>How long the switched segment may take to arrive.</summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>More segments than this waiting for the archiver (.ready files) is a backlog.</summary>
    public int MaxReadyFiles { get; init; } = 16;

    /// <summary>
    /// The configuration the access check reads as the server's account; by default the one archive_command names.
    /// </summary>
    public string? ConfigPath { get; init; }

    /// <summary>Tests turn the access check off to see what a node on another host shows (the archiver's own failure).</summary>
    internal bool CheckAccess { get; init; } = true;
}

/// <summary>The verdict of Test-PgWalArchiving on one node.</summary>
public sealed class PgWalArchivingHealth
{
    public required PgInstance Instance { get; init; }

    public string NodeName => Instance.Name;

    public PgNodeRole Role { get; init; }

    public required string ArchiveMode { get; init; }

    public required string ArchiveCommand { get; init; }

    /// <summary>archive_command runs pgdr wal push.</summary>
    public bool UsesPgDr => ArchiveCommand.Contains("wal push", StringComparison.Ordinal);

    public long ArchivedCount { get; init; }

    public string? LastArchivedWal { get; init; }

    public DateTimeOffset? LastArchivedTime { get; init; }

    public long FailedCount { get; init; }

    public string? LastFailedWal { get; init; }

    public DateTimeOffset? LastFailedTime { get; init; }

    /// <summary>Segments waiting for the archiver (pg_wal/archive_status/*.ready).</summary>
    public int ReadyCount { get; init; }

    /// <summary>The segment a forced switch closed; null without -ForceSwitch.</summary>
    public string? SwitchedWal { get; init; }

    /// <summary>How long the switched segment took to be archived; null when not tested or not archived in time.</summary>
    public TimeSpan? SwitchArchivedAfter { get; init; }

    /// <summary>
    /// Why archiving fails, when it does: pgdr's error id and message from the server log (or from running pgdr as the
    /// server's account), and the fix; null when nothing failed.
    /// </summary>
    public WalArchiveFailure? Failure { get; init; }

    /// <summary>
    /// The OS account that pgdr was run as to prove it can execute pgdr and read the configuration and key (a node on
    /// this host); null when that was not checked (a remote node, no pgdr archive_command, or no right to act as it).
    /// </summary>
    public string? AccessCheckedAs { get; init; }

    public bool Healthy => Reasons.Count == 0;

    public required IReadOnlyList<string> Reasons { get; init; }

    public override string ToString() => Healthy ? $"{NodeName}: archiving healthy" : $"{NodeName}: {string.Join("; ", Reasons)}";
}

/// <summary>Judges WAL archiving end to end (Test-PgWalArchiving, pgdr archiving test).</summary>
/// <remarks>
/// A health check that fails a healthy system is worse than none, and one that waits out its deadline while the
/// archiver has already failed is little better. So a forced switch always closes a segment (a WAL record is written
/// first: on an idle primary the insert position sits just past the last switch, where pg_switch_wal() closes
/// nothing), the wait ends as soon as the archiver reports a failure or restarts (PostgreSQL ends the archiver with
/// FATAL, uncounted, when archive_command cannot be executed), and the reason names pgdr's error from the server log.
/// </remarks>
public static class WalArchivingHealthService
{
    private const string StatusQuery = """
        SELECT pg_is_in_recovery(), current_setting('archive_mode'),
               (SELECT reset_val FROM pg_settings WHERE name = 'archive_command'),
               archived_count, last_archived_wal, last_archived_time, failed_count, last_failed_wal, last_failed_time,
               (SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready')::int,
               (SELECT pid FROM pg_stat_activity WHERE backend_type = 'archiver')
        FROM pg_stat_archiver
        """;

    // A non-transactional logical message is a WAL record that changes nothing, so the switch after it always closes
    // the segment holding it; pg_walfile_name() of the switch's end position names exactly that segment.
    private const string SwitchQuery = """
        SELECT pg_logical_emit_message(false, 'pgdr', 'Test-PgWalArchiving -ForceSwitch');
        SELECT pg_walfile_name(pg_switch_wal()), clock_timestamp()
        """;

    public static async Task<PgWalArchivingHealth> TestAsync(PgInstance instance, WalArchivingTestOptions options, IWalArchiveProbe? probe, CancellationToken cancellationToken)
    {
        if (options.Deadline <= TimeSpan.Zero || options.MaxReadyFiles < 0)
        {
            throw new PgDrArgumentException(ErrorIds.InvalidThreshold, "Deadline must be positive and MaxReadyFiles not negative.", options);
        }

        var status = await ReadStatusAsync(instance, cancellationToken).ConfigureAwait(false);
        var node = await LocalNode.FindAsync(instance, cancellationToken).ConfigureAwait(false);

        // First what needs no archiving at all: can the server's account run this pgdr and read what it names?
        var blocking = JudgeSetup(status);
        string? checkedAs = null;
        WalArchiveFailure? failure = null;
        if (options.CheckAccess && node is not null && WalArchivingService.ParseArchiveCommand(status.ArchiveCommand) is { } command)
        {
            var access = await ArchiveCommandAccess.CheckAsync(node, command.PgDrPath, options.ConfigPath ?? command.ConfigPath, cancellationToken).ConfigureAwait(false);
            checkedAs = access.CheckedAs;
            failure = access.Failure;
            if (failure is not null)
            {
                blocking.Add($"archive_command cannot work: {Describe(failure)}");
            }
        }

        // A switch is tried even after a failed attempt: it wakes the archiver, which retries, so a problem fixed since
        // shows as healthy and one that remains is named at once.
        string? switched = null;
        TimeSpan? archivedAfter = null;
        string? switchReason = null;
        if (options.ForceSwitch && blocking.Count == 0)
        {
            if (status.Role != PgNodeRole.Primary)
            {
                throw new PgDrInvalidOperationException(ErrorIds.NodeIsStandby, $"{instance} is a standby; a forced WAL switch needs the primary.", instance);
            }

            // Where the server log ends now: the failure looked for is one written after the switch.
            var logBefore = await ServerLog.ReadTailAsync(instance, node, cancellationToken, maxBytes: 0).ConfigureAwait(false);
            var started = DateTimeOffset.UtcNow;
            (switched, var switchedAt) = await SwitchAsync(instance, cancellationToken).ConfigureAwait(false);
            var outcome = await WaitForArchiveAsync(instance, switched, switchedAt, status.ArchiverPid, options.Deadline, probe, cancellationToken).ConfigureAwait(false);
            status = outcome.Status;
            switch (outcome.Kind)
            {
                case SwitchOutcome.Archived:
                    archivedAfter = DateTimeOffset.UtcNow - started;
                    break;
                case SwitchOutcome.Missing:
                    switchReason = $"the switched segment {switched} did not reach {string.Join(", ", outcome.Missing)} within {options.Deadline.TotalSeconds:0} s";
                    break;
                case SwitchOutcome.TimedOut:
                    switchReason = $"the switched segment {switched} was not archived within {options.Deadline.TotalSeconds:0} s";
                    break;
                default:
                    failure = await DiagnoseAsync(instance, node, outcome.Status.LastFailedWal ?? switched, outcome.Kind == SwitchOutcome.ArchiverExited, logBefore, cancellationToken).ConfigureAwait(false);
                    switchReason = $"archiving failed at once after the switch to {switched}: {Describe(failure)}";
                    break;
            }
        }

        if (failure is null && LastAttemptFailed(status))
        {
            failure = await DiagnoseAsync(instance, node, status.LastFailedWal, archiverExited: false, since: null, cancellationToken).ConfigureAwait(false);
        }

        var reasons = blocking;
        if (switchReason is not null)
        {
            reasons.Add(switchReason);
        }
        else if (LastAttemptFailed(status))
        {
            reasons.Add($"the last archive attempt failed ({status.LastFailedWal} at {status.LastFailedTime:u}): {Describe(failure!)}");
        }

        if (status.ReadyCount > options.MaxReadyFiles)
        {
            reasons.Add($"{status.ReadyCount} segments wait for the archiver (more than {options.MaxReadyFiles}): archiving is falling behind");
        }

        return new PgWalArchivingHealth
        {
            Instance = instance,
            Role = status.Role,
            ArchiveMode = status.ArchiveMode,
            ArchiveCommand = status.ArchiveCommand,
            ArchivedCount = status.ArchivedCount,
            LastArchivedWal = status.LastArchivedWal,
            LastArchivedTime = status.LastArchivedTime,
            FailedCount = status.FailedCount,
            LastFailedWal = status.LastFailedWal,
            LastFailedTime = status.LastFailedTime,
            ReadyCount = status.ReadyCount,
            SwitchedWal = switched,
            SwitchArchivedAfter = archivedAfter,
            Failure = failure,
            AccessCheckedAs = checkedAs,
            Reasons = reasons,
        };
    }

    private enum SwitchOutcome
    {
        Archived,
        Missing,
        TimedOut,
        Failed,
        ArchiverExited,
    }

    private sealed record SwitchWait(SwitchOutcome Kind, ArchiverStatus Status, IReadOnlyList<string> Missing);

    /// <summary>
    /// Waits until <paramref name="switched"/> is archived (and in every required repository), or the archiver reports a
    /// failure after the switch, or the archiver process is another one than before (it exited), or the deadline.
    /// </summary>
    private static async Task<SwitchWait> WaitForArchiveAsync(
        PgInstance instance, string switched, DateTimeOffset switchedAt, int? archiverPid, TimeSpan deadline, IWalArchiveProbe? probe, CancellationToken cancellationToken)
    {
        var result = new SwitchWait(SwitchOutcome.TimedOut, default!, []);
        var watchedPid = archiverPid;
        try
        {
            await Wait.UntilAsync(async ct =>
            {
                var now = await ReadStatusAsync(instance, ct).ConfigureAwait(false);

                // Right after a server start the archiver may not run yet: the first archiver seen is the one watched,
                // so its start is not mistaken for an exit.
                watchedPid ??= now.ArchiverPid;
                if (now.LastArchivedWal is not null && string.CompareOrdinal(now.LastArchivedWal, switched) >= 0)
                {
                    var missing = probe is null ? [] : await probe.MissingFromAsync(switched, ct).ConfigureAwait(false);
                    result = new SwitchWait(missing.Count == 0 ? SwitchOutcome.Archived : SwitchOutcome.Missing, now, missing);
                    return missing.Count == 0;
                }

                // Any failure since the switch stops the switched segment too: the archiver goes in WAL order.
                result = now.LastFailedTime is { } failedAt && failedAt >= switchedAt ? new SwitchWait(SwitchOutcome.Failed, now, [])
                    : now.ArchiverPid != watchedPid ? new SwitchWait(SwitchOutcome.ArchiverExited, now, [])
                    : new SwitchWait(SwitchOutcome.TimedOut, now, []);
                return result.Kind is SwitchOutcome.Failed or SwitchOutcome.ArchiverExited;
            }, deadline, $"{switched} to be archived", cancellationToken).ConfigureAwait(false);
        }
        catch (PgDrException ex) when (ex.ErrorId == ErrorIds.Timeout)
        {
            // result says how far it got: archived but missing somewhere, or not archived.
        }

        return result.Status is null ? result with { Status = await ReadStatusAsync(instance, cancellationToken).ConfigureAwait(false) } : result;
    }

    /// <summary>
    /// Why archiving of <paramref name="walFileName"/> failed: pgdr's error line and the exit code from the server log
    /// where PgDr can read it (it waits a moment for the line, which may trail the statistics), else what
    /// pg_stat_archiver and the archiver's restart say.
    /// </summary>
    /// <remarks>
    /// With <paramref name="since"/> (the log as it ended before a switch) only what was written after it counts, and
    /// then any failure does (an earlier segment failing holds back the switched one); without it only a failure of
    /// <paramref name="walFileName"/> does, so an old failure of another file is never taken for this one.
    /// </remarks>
    private static async Task<WalArchiveFailure> DiagnoseAsync(PgInstance instance, LocalNode? node, string? walFileName, bool archiverExited, ServerLogTail? since, CancellationToken cancellationToken)
    {
        ServerLogTail? tail = null;
        ArchiveCommandFailureEntry? entry = null;
        try
        {
            await Wait.UntilAsync(async ct =>
            {
                tail = await ServerLog.ReadTailAsync(instance, node, ct, since).ConfigureAwait(false);
                entry = tail is null ? null
                    : ArchiveCommandLog.LastFailure(tail.Lines, walFileName) ?? (since is null ? null : ArchiveCommandLog.LastFailure(tail.Lines, null));
                return tail is null || entry is not null;
            }, TimeSpan.FromSeconds(3), "the archive_command failure in the server log", cancellationToken).ConfigureAwait(false);
        }
        catch (PgDrException ex) when (ex.ErrorId == ErrorIds.Timeout)
        {
            // The log is readable but shows no failure: fall back on the statistics.
        }

        if (entry is not null)
        {
            var pgdr = entry.PgDrError;
            var errorId = pgdr?.ErrorId ?? (entry.ExitCode == 126 ? ErrorIds.PgDrNotExecutable : null);
            var message = pgdr?.Message
                ?? (entry.Output.Count > 0 ? entry.Output[^1] : null)
                ?? (entry.Signal is not null ? $"archive_command was terminated by signal {entry.Signal}" : $"archive_command failed with exit code {entry.ExitCode}");
            return new WalArchiveFailure
            {
                WalFileName = entry.WalFileName ?? walFileName,
                ExitCode = entry.ExitCode,
                ErrorId = errorId,
                Message = message,
                Fix = ArchiveFailureAdvice.For(errorId, entry.ExitCode),
                Evidence = tail!.Path,
            };
        }

        var unreadable = tail is null
            ? "; PgDr cannot read the server log (run this on the node's host as root or the server's account, or connect as a superuser with the logging collector on)"
            : string.Empty;
        return new WalArchiveFailure
        {
            WalFileName = walFileName,
            Message = archiverExited
                ? "the archiver process exited while running archive_command, as PostgreSQL does when the command cannot be executed (exit 126 or 127) or is killed by a signal; pg_stat_archiver does not count that"
                : "archive_command failed (pg_stat_archiver counts the failure); its message is in the server log",
            Fix = archiverExited ? ArchiveFailureAdvice.For(null, 126) : null,
            Evidence = "pg_stat_archiver" + unreadable,
        };
    }

    private static string Describe(WalArchiveFailure failure) =>
        $"{failure.Message}{(failure.ErrorId is null ? string.Empty : $" [{failure.ErrorId}]")}{(failure.ExitCode is { } code ? $" (exit code {code})" : string.Empty)}";

    private static bool LastAttemptFailed(ArchiverStatus status) =>
        status.LastFailedTime is { } failed && (status.LastArchivedTime is not { } archived || failed > archived);

    /// <summary>The settings that make archiving impossible whatever archive_command does.</summary>
    internal static List<string> JudgeSetup(ArchiverStatus status)
    {
        var reasons = new List<string>();
        var archives = status.ArchiveMode == "always" || (status.ArchiveMode == "on" && status.Role == PgNodeRole.Primary);
        if (status.ArchiveMode == "off")
        {
            reasons.Add("archive_mode is off: no WAL is archived");
        }
        else if (!archives)
        {
            reasons.Add("archive_mode is on, but a standby archives only with archive_mode = always");
        }

        if (string.IsNullOrWhiteSpace(status.ArchiveCommand))
        {
            reasons.Add("archive_command is empty: segments pile up in pg_wal");
        }

        return reasons;
    }

    private static async Task<(string Switched, DateTimeOffset At)> SwitchAsync(PgInstance instance, CancellationToken cancellationToken) =>
        await PgConnector.RunAsync(instance, async conn =>
        {
            using var cmd = new NpgsqlCommand(SwitchQuery, conn);
            using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            return (reader.GetString(0), reader.GetFieldValue<DateTimeOffset>(1));
        }, cancellationToken).ConfigureAwait(false);

    internal static async Task<ArchiverStatus> ReadStatusAsync(PgInstance instance, CancellationToken cancellationToken) =>
        await PgConnector.RunAsync(instance, async conn =>
        {
            using var cmd = new NpgsqlCommand(StatusQuery, conn);
            using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            return new ArchiverStatus(
                reader.GetBoolean(0) ? PgNodeRole.Standby : PgNodeRole.Primary,
                reader.GetString(1),
                reader.GetString(2),
                reader.GetInt64(3),
                reader.IsDBNull(4) ? null : reader.GetString(4),
                reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5),
                reader.GetInt64(6),
                reader.IsDBNull(7) ? null : reader.GetString(7),
                reader.IsDBNull(8) ? null : reader.GetFieldValue<DateTimeOffset>(8),
                reader.GetInt32(9),
                reader.IsDBNull(10) ? null : reader.GetInt32(10));
        }, cancellationToken).ConfigureAwait(false);
}

internal sealed record ArchiverStatus(
    PgNodeRole Role,
    string ArchiveMode,
    string ArchiveCommand,
    long ArchivedCount,
    string? LastArchivedWal,
    DateTimeOffset? LastArchivedTime,
    long FailedCount,
    string? LastFailedWal,
    DateTimeOffset? LastFailedTime,
    int ReadyCount,
    int? ArchiverPid = null);
