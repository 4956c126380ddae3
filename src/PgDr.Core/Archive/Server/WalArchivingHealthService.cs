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

    /// <summary>
    /// How the pgdr archive_command runs was built, read from the file when it is on this host (Unknown otherwise):
    /// FrameworkDependent is the slow build, and a reason.
    /// </summary>
    public PgDrBuildKind PgDrBuild { get; init; }

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

    public bool Healthy => Reasons.Count == 0;

    public required IReadOnlyList<string> Reasons { get; init; }

    public override string ToString() => Healthy ? $"{NodeName}: archiving healthy" : $"{NodeName}: {string.Join("; ", Reasons)}";
}

/// <summary>Judges WAL archiving end to end (Test-PgWalArchiving, pgdr archiving test).</summary>
public static class WalArchivingHealthService
{
    private const string StatusQuery = """
        SELECT pg_is_in_recovery(), current_setting('archive_mode'),
               (SELECT reset_val FROM pg_settings WHERE name = 'archive_command'),
               archived_count, last_archived_wal, last_archived_time, failed_count, last_failed_wal, last_failed_time,
               (SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready')::int
        FROM pg_stat_archiver
        """;

    public static async Task<PgWalArchivingHealth> TestAsync(PgInstance instance, WalArchivingTestOptions options, IWalArchiveProbe? probe, CancellationToken cancellationToken)
    {
        if (options.Deadline <= TimeSpan.Zero || options.MaxReadyFiles < 0)
        {
            throw new PgDrArgumentException(ErrorIds.InvalidThreshold, "Deadline must be positive and MaxReadyFiles not negative.", options);
        }

        var status = await ReadStatusAsync(instance, cancellationToken).ConfigureAwait(false);
        var reasons = Judge(status, options.MaxReadyFiles);
        string? switched = null;
        TimeSpan? archivedAfter = null;
        if (options.ForceSwitch && reasons.Count == 0)
        {
            if (status.Role != PgNodeRole.Primary)
            {
                throw new PgDrInvalidOperationException(ErrorIds.NodeIsStandby, $"{instance} is a standby; a forced WAL switch needs the primary.", instance);
            }

            var started = DateTimeOffset.UtcNow;
            switched = await SwitchAsync(instance, cancellationToken).ConfigureAwait(false);
            IReadOnlyList<string> missing = [];
            try
            {
                await Wait.UntilAsync(async ct =>
                {
                    var now = await ReadStatusAsync(instance, ct).ConfigureAwait(false);
                    if (now.LastArchivedWal is null || string.CompareOrdinal(now.LastArchivedWal, switched) < 0)
                    {
                        return false;
                    }

                    missing = probe is null ? [] : await probe.MissingFromAsync(switched, ct).ConfigureAwait(false);
                    return missing.Count == 0;
                }, options.Deadline, $"{switched} to be archived", cancellationToken).ConfigureAwait(false);
                archivedAfter = DateTimeOffset.UtcNow - started;
            }
            catch (PgDrException ex) when (ex.ErrorId == ErrorIds.Timeout)
            {
                reasons.Add(missing.Count > 0
                    ? $"the switched segment {switched} did not reach {string.Join(", ", missing)} within {options.Deadline.TotalSeconds:0} s"
                    : $"the switched segment {switched} was not archived within {options.Deadline.TotalSeconds:0} s");
            }

            status = await ReadStatusAsync(instance, cancellationToken).ConfigureAwait(false);
        }

        // After the switch: the slow build archives, and the switch proves that; it is still a reason of its own.
        var build = ArchiverBuild(status.ArchiveCommand);
        if (build == PgDrBuildKind.FrameworkDependent)
        {
            reasons.Add(SlowBuildReason);
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
            PgDrBuild = build,
            SwitchedWal = switched,
            SwitchArchivedAfter = archivedAfter,
            Reasons = reasons,
        };
    }

    /// <summary>
    /// Each archive_command call of the framework-dependent pgdr pays ~100 ms of JIT start-up: archiving runs at a
    /// fraction of its speed (0.23x pgBackRest's, docs/performance.md) and falls behind under load long before anything
    /// fails, so it is a reason even while every segment arrives.
    /// </summary>
    internal static readonly string SlowBuildReason =
        $"{PgDrBuild.SlowBuildReason} (framework-dependent, ~100 ms of start-up per segment): point archive_command at the NativeAOT pgdr (the Debian package's /usr/bin/pgdr, or Install-PgDrExecutable)";

    /// <summary>
    /// The build of the pgdr that archive_command runs, when the command is PgDr's and names a file on this host (the
    /// usual case: Test-PgWalArchiving beside the server). The file is read, never run: whoever can change the server's
    /// settings chooses that path.
    /// </summary>
    private static PgDrBuildKind ArchiverBuild(string archiveCommand) =>
        archiveCommand.Contains("wal push", StringComparison.Ordinal) ? PgDrBuild.Inspect(PgDrBuild.ProgramOf(archiveCommand)) : PgDrBuildKind.Unknown;

    /// <summary>The rules, apart from SQL so they are tested on their own.</summary>
    internal static List<string> Judge(ArchiverStatus status, int maxReadyFiles)
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

        if (status.LastFailedTime is { } failed && (status.LastArchivedTime is not { } archived || failed > archived))
        {
            reasons.Add($"the last archive attempt failed ({status.LastFailedWal} at {failed:u}); see the server log");
        }

        if (status.ReadyCount > maxReadyFiles)
        {
            reasons.Add($"{status.ReadyCount} segments wait for the archiver (more than {maxReadyFiles}): archiving is falling behind");
        }

        return reasons;
    }

    private static async Task<string> SwitchAsync(PgInstance instance, CancellationToken cancellationToken) =>
        await PgConnector.RunAsync(instance, async conn =>
        {
            // The segment holding the insert position is the one the switch closes. When nothing was written since
            // the last switch, the position sits on a segment boundary, the name is that of the previous (already
            // archived) segment, and the switch closes nothing: the check then passes at once, which is right.
            using var cmd = new NpgsqlCommand("SELECT pg_walfile_name(pg_current_wal_insert_lsn()); SELECT pg_switch_wal()", conn);
            using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            return reader.GetString(0);
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
                reader.GetInt32(9));
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
    int ReadyCount);
