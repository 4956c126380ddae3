using Npgsql;
using PgDr.Connections;
using PgDr.Errors;
using PgDr.Replication;
using PgDr.Settings;
using PgDr.Topology;

namespace PgDr.Diagnostics;

/// <summary>One pg_hba.conf rule as pg_hba_file_rules shows it.</summary>
internal sealed record HbaRule(int Line, string Type, IReadOnlyList<string> Databases, IReadOnlyList<string> Users, string? Address, string? Netmask, string? Method, string? Error)
{
    // "all" does not cover replication connections in pg_hba.conf: only the keyword replication does.
    public bool IsReplication => Databases.Contains("replication");

    public override string ToString() =>
        $"line {Line}: {Type} {string.Join(',', Databases)} {string.Join(',', Users)}{(Address is null ? string.Empty : " " + Address)}{(Netmask is null ? string.Empty : " " + Netmask)} {Method}";
}

/// <summary>One walsender's stream and whether it is encrypted (pg_stat_replication joined with pg_stat_ssl).</summary>
internal sealed record SenderTls(string ApplicationName, bool Ssl, string? Version);

/// <summary>
/// What the checks need from one node, read on one connection: the node itself (NodeInspector), its settings
/// (ServerSettings), its slots (ReplicationSlotService), and what only the checks read (pg_hba_file_rules, replication
/// roles, TLS of this connection and of each stream). A part that needs more privilege than the connection has is left
/// null with the reason, so its check can say so instead of the whole node failing.
/// </summary>
internal sealed class NodeFacts
{
    public static readonly IReadOnlyList<string> SettingNames =
    [
        "wal_level", "archive_mode", "max_wal_senders", "max_replication_slots", "hot_standby", "wal_log_hints", "data_checksums",
        "checkpoint_completion_target", "max_slot_wal_keep_size", "wal_keep_size", "primary_conninfo", "synchronous_standby_names",
        "ssl", "ssl_min_protocol_version", "password_encryption",
    ];

    public required PgInstance Instance { get; init; }

    public required PgNode Node { get; init; }

    public required IReadOnlyDictionary<string, ServerSetting> Settings { get; init; }

    public required IReadOnlyList<PgReplicationSlot> Slots { get; init; }

    /// <summary>pg_hba.conf's rules; null when the connection may not read them (<see cref="HbaUnreadable"/> says why).</summary>
    public IReadOnlyList<HbaRule>? HbaRules { get; init; }

    public string? HbaUnreadable { get; init; }

    /// <summary>Roles that may log in and replicate without being superusers.</summary>
    public required IReadOnlyList<string> ReplicationRoles { get; init; }

    /// <summary>The TLS version of this check's own connection; null when it is not encrypted.</summary>
    public string? ConnectionTls { get; init; }

    public required IReadOnlyList<SenderTls> Senders { get; init; }

    public string? Setting(string name) => Settings.TryGetValue(name, out var s) ? s.Raw : null;

    public bool IsPrimary => Node.Role == PgNodeRole.Primary;

    public static async Task<NodeFacts> ReadAsync(PgInstance instance, CancellationToken cancellationToken) =>
        await PgConnector.RunAsync(instance, async conn =>
        {
            var node = await NodeInspector.ReadAsync(instance, conn, cancellationToken).ConfigureAwait(false);
            var settings = await ServerSettings.ReadAsync(conn, SettingNames, cancellationToken).ConfigureAwait(false);
            var slots = await ReplicationSlotService.ReadSlotsAsync(instance, conn, null, cancellationToken).ConfigureAwait(false);
            var (rules, unreadable) = await ReadHbaAsync(conn, cancellationToken).ConfigureAwait(false);
            return new NodeFacts
            {
                Instance = instance,
                Node = node,
                Settings = settings,
                Slots = slots,
                HbaRules = rules,
                HbaUnreadable = unreadable,
                ReplicationRoles = await ReadStringsAsync(conn, "SELECT rolname FROM pg_roles WHERE rolreplication AND rolcanlogin AND NOT rolsuper ORDER BY 1", cancellationToken).ConfigureAwait(false),
                ConnectionTls = await ReadStringsAsync(conn, "SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid() AND ssl", cancellationToken).ConfigureAwait(false) is [var version, ..] ? version : null,
                Senders = await ReadSendersAsync(conn, cancellationToken).ConfigureAwait(false),
            };
        }, cancellationToken).ConfigureAwait(false);

    private static async Task<(IReadOnlyList<HbaRule>?, string?)> ReadHbaAsync(NpgsqlConnection conn, CancellationToken cancellationToken)
    {
        // pg_hba_file_rules is for superusers (and whom they grant it); a monitoring role gets "permission denied".
        using var cmd = new NpgsqlCommand(
            "SELECT line_number, type, database, user_name, address, netmask, auth_method, error FROM pg_hba_file_rules ORDER BY line_number", conn);
        try
        {
            using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var rules = new List<HbaRule>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                rules.Add(new HbaRule(
                    reader.IsDBNull(0) ? 0 : reader.GetInt32(0),
                    reader.IsDBNull(1) ? string.Empty : reader.GetString(1),
                    reader.IsDBNull(2) ? [] : reader.GetFieldValue<string[]>(2),
                    reader.IsDBNull(3) ? [] : reader.GetFieldValue<string[]>(3),
                    reader.IsDBNull(4) ? null : reader.GetString(4),
                    reader.IsDBNull(5) ? null : reader.GetString(5),
                    reader.IsDBNull(6) ? null : reader.GetString(6),
                    reader.IsDBNull(7) ? null : reader.GetString(7)));
            }

            return (rules, null);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            return (null, $"this connection may not read pg_hba_file_rules ({ex.MessageText})");
        }
    }

    private static async Task<IReadOnlyList<SenderTls>> ReadSendersAsync(NpgsqlConnection conn, CancellationToken cancellationToken)
    {
        using var cmd = new NpgsqlCommand(
            "SELECT r.application_name, coalesce(s.ssl, false), s.version FROM pg_stat_replication r LEFT JOIN pg_stat_ssl s USING (pid) ORDER BY 1", conn);
        using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<SenderTls>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(new SenderTls(reader.IsDBNull(0) ? string.Empty : reader.GetString(0), reader.GetBoolean(1), reader.IsDBNull(2) ? null : reader.GetString(2)));
        }

        return result;
    }

    private static async Task<IReadOnlyList<string>> ReadStringsAsync(NpgsqlConnection conn, string sql, CancellationToken cancellationToken)
    {
        using var cmd = new NpgsqlCommand(sql, conn);
        using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<string>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(reader.GetString(0));
        }

        return result;
    }
}
