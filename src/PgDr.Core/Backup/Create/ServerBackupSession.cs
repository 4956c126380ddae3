using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;
using NpgsqlTypes;
using PgDr.Connections;
using PgDr.Errors;
using PgDr.Topology;

namespace PgDr.Backup.Create;

/// <summary>What the server tells about itself before a backup.</summary>
internal sealed class BackupSource
{
    public required bool InRecovery { get; init; }

    public required ulong SystemIdentifier { get; init; }

    public required int VersionNum { get; init; }

    public int MajorVersion => VersionNum / 10000;

    public required string DataDirectory { get; init; }

    public required long WalSegmentSize { get; init; }

    public required string ArchiveMode { get; init; }

    public required string Superuser { get; init; }

    /// <summary>Tablespace names by oid (pg_default and pg_global excluded).</summary>
    public required IReadOnlyDictionary<uint, string> Tablespaces { get; init; }
}

/// <summary>What pg_backup_stop returned.</summary>
internal sealed record BackupStop(PgLsn StopLsn, string BackupLabel, string TablespaceMap, uint StopTimeline);

/// <summary>
/// PostgreSQL's non-exclusive backup API on one session held open for the whole backup: pg_backup_start and
/// pg_backup_stop must run on the same connection, and if that connection ends first the server abandons the backup
/// by itself, so a killed backup leaves nothing behind on the server.
/// </summary>
internal static partial class ServerBackupSession
{
    public static async Task<BackupSource> ReadSourceAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        const string Query = """
            SELECT pg_is_in_recovery(),
                   (SELECT system_identifier FROM pg_control_system()),
                   current_setting('server_version_num')::int,
                   current_setting('data_directory'),
                   (SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size'),
                   current_setting('archive_mode'),
                   (SELECT rolname FROM pg_roles WHERE oid = 10)
            """;
        using var cmd = new NpgsqlCommand(Query, connection);
        using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        var inRecovery = reader.GetBoolean(0);
        var sysid = unchecked((ulong)reader.GetInt64(1));
        var version = reader.GetInt32(2);
        var dataDirectory = reader.GetString(3);
        var segmentSize = reader.GetInt64(4);
        var archiveMode = reader.GetString(5);
        var superuser = reader.GetString(6);
        await reader.CloseAsync().ConfigureAwait(false);

        var tablespaces = new Dictionary<uint, string>();
        using (var spaces = new NpgsqlCommand("SELECT oid::bigint, spcname FROM pg_tablespace WHERE spcname NOT IN ('pg_default', 'pg_global')", connection))
        using (var rows = await spaces.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await rows.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                tablespaces[(uint)rows.GetInt64(0)] = rows.GetString(1);
            }
        }

        return new BackupSource
        {
            InRecovery = inRecovery,
            SystemIdentifier = sysid,
            VersionNum = version,
            DataDirectory = dataDirectory,
            WalSegmentSize = segmentSize,
            ArchiveMode = archiveMode,
            Superuser = superuser,
            Tablespaces = tablespaces,
        };
    }

    /// <summary>pg_backup_start on this session; returns where replay must start (the checkpoint's redo position).</summary>
    public static async Task<PgLsn> StartAsync(NpgsqlConnection connection, string label, bool fastCheckpoint, CancellationToken cancellationToken)
    {
        // The session idles while files are copied: no server-side timeout may end it (and with it the backup).
        using (var settings = new NpgsqlCommand("SET statement_timeout = 0; SET idle_session_timeout = 0; SET idle_in_transaction_session_timeout = 0", connection))
        {
            await settings.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        using var cmd = new NpgsqlCommand("SELECT pg_backup_start($1, $2)", connection) { CommandTimeout = 0 };
        cmd.Parameters.AddWithValue(label);
        cmd.Parameters.AddWithValue(fastCheckpoint);
        var lsn = (NpgsqlLogSequenceNumber)(await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        return PgLsn.From(lsn);
    }

    /// <summary>
    /// pg_backup_stop without waiting for the archiver (PgDr waits for the repository itself, with a deadline: the
    /// server's own wait has none, and on a standby it does not apply). On a primary the server still switches to a new
    /// WAL segment, so the last one needed is archived at once.
    /// </summary>
    public static async Task<BackupStop> StopAsync(NpgsqlConnection connection, bool inRecovery, CancellationToken cancellationToken)
    {
        PgLsn stopLsn;
        string label;
        string map;
        using (var cmd = new NpgsqlCommand("SELECT lsn, labelfile, spcmapfile FROM pg_backup_stop(false)", connection) { CommandTimeout = 0 })
        using (var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            stopLsn = PgLsn.From(reader.GetFieldValue<NpgsqlLogSequenceNumber>(0));
            label = reader.GetString(1);
            map = reader.IsDBNull(2) ? string.Empty : reader.GetString(2);
        }

        var startTimeline = ParseLabel(label).Timeline;
        var stopTimeline = startTimeline;
        if (inRecovery)
        {
            // A standby ends its backup at its minimum recovery point, on that point's timeline.
            using var cmd = new NpgsqlCommand("SELECT min_recovery_end_timeline::bigint FROM pg_control_recovery()", connection);
            var value = await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            if (value is long tli and > 0)
            {
                stopTimeline = (uint)tli;
            }
        }

        return new BackupStop(stopLsn, label, map, stopTimeline);
    }

    /// <summary>Asks a primary to end its current WAL segment, so that a standby's backup finds its last segment archived sooner.</summary>
    public static Task SwitchWalAsync(PgInstance primary, CancellationToken cancellationToken) =>
        PgConnector.RunAsync(primary, async conn =>
        {
            using var cmd = new NpgsqlCommand("SELECT pg_switch_wal()", conn);
            return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>A checkpoint on the primary, which a standby replays and can then make its restart point (and backup start) at.</summary>
    public static Task CheckpointAsync(PgInstance primary, CancellationToken cancellationToken) =>
        PgConnector.RunAsync(primary, async conn =>
        {
            using var cmd = new NpgsqlCommand("CHECKPOINT", conn) { CommandTimeout = 0 };
            return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>The start WAL file and timeline of a backup_label ("START WAL LOCATION: 0/2000028 (file 0000...)", "START TIMELINE: 1").</summary>
    public static (string StartWal, uint Timeline) ParseLabel(string backupLabel)
    {
        var file = StartWalLine().Match(backupLabel);
        var timeline = StartTimelineLine().Match(backupLabel);
        if (!file.Success || !timeline.Success)
        {
            throw new PgDrException(ErrorIds.QueryFailed, PgDrErrorCategory.InvalidData, "pg_backup_stop returned a backup_label PgDr cannot read.", backupLabel);
        }

        return (file.Groups[1].Value, uint.Parse(timeline.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture));
    }

    [GeneratedRegex(@"^START WAL LOCATION: \S+ \(file ([0-9A-F]{24})\)", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex StartWalLine();

    [GeneratedRegex(@"^START TIMELINE: (\d+)", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex StartTimelineLine();
}
