using Npgsql;
using PgDr.Connections;
using PgDr.Hosting;

namespace PgDr.Settings;

/// <summary>One row of pg_settings: the raw setting, how PgDr shows it, and when a change takes effect.</summary>
internal sealed record ServerSetting(string Name, string Raw, string Display, string Context, bool PendingRestart);

/// <summary>
/// Reads and changes a running server's settings the way the Set- cmdlets do: ALTER SYSTEM (postgresql.auto.conf,
/// which survives restarts), a reload, and a wait until the server shows each value live or pending a restart.
/// </summary>
internal static class ServerSettings
{
    /// <summary>The named settings as configured (reset_val: what a new session gets, not one session's SET).</summary>
    public static async Task<Dictionary<string, ServerSetting>> ReadAsync(NpgsqlConnection conn, IReadOnlyList<string> names, CancellationToken cancellationToken)
    {
        using var cmd = new NpgsqlCommand("SELECT name, reset_val, coalesce(unit, ''), context, pending_restart FROM pg_settings WHERE name = ANY($1)", conn);
        cmd.Parameters.AddWithValue(names.ToArray());
        using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var result = new Dictionary<string, ServerSetting>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var name = reader.GetString(0);
            var raw = reader.GetString(1);
            var unit = reader.GetString(2);
            // reset_val, not setting: the configured value, where setting shows archive_command as "(disabled)" while
            // archive_mode is off. Only seconds matter as a unit here (archive_timeout).
            result[name] = new ServerSetting(name, raw, unit == "s" ? raw + "s" : raw, reader.GetString(3), reader.GetBoolean(4));
        }

        return result;
    }

    /// <summary>What changing <paramref name="setting"/> to <paramref name="desired"/> means (no change when it already is).</summary>
    public static PgSettingChange Change(ServerSetting setting, string desired) => new()
    {
        Name = setting.Name,
        OldValue = setting.Display,
        NewValue = Same(setting, desired) ? setting.Display : desired,
        Context = setting.Context,
    };

    /// <summary>Writes the changed settings with ALTER SYSTEM, reloads, and waits until the server shows them.</summary>
    public static async Task AlterSystemAsync(PgInstance instance, IReadOnlyList<PgSettingChange> changes, CancellationToken cancellationToken)
    {
        var changed = changes.Where(c => c.Changed).ToList();
        if (changed.Count == 0)
        {
            return;
        }

        await PgConnector.RunAsync(instance, async conn =>
        {
            foreach (var change in changed)
            {
                // ALTER SYSTEM takes no parameters: the value is a quoted SQL literal; the name is one PgDr chose.
                using var alter = new NpgsqlCommand($"ALTER SYSTEM SET {change.Name} = {SqlLiteral(change.NewValue)}", conn);
                await alter.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            using var reload = new NpgsqlCommand("SELECT pg_reload_conf()", conn);
            return await reload.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);

        // The reload is asynchronous: wait until the server shows each change as either live or pending a restart.
        var names = changed.Select(c => c.Name).ToList();
        await Wait.UntilAsync(
            async ct => await PgConnector.RunAsync(instance, async conn =>
            {
                var now = await ReadAsync(conn, names, ct).ConfigureAwait(false);
                return changed.All(c => now[c.Name].PendingRestart || Same(now[c.Name], c.NewValue));
            }, ct).ConfigureAwait(false),
            TimeSpan.FromSeconds(15),
            $"{instance} to reload its configuration",
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Sets (or, for a null value, resets) each setting in postgresql.auto.conf on an open connection, then reloads
    /// unless told not to: for failover's fence and repointing, where every round trip across a region counts.
    /// </summary>
    public static async Task AlterSystemAsync(NpgsqlConnection connection, IReadOnlyDictionary<string, string?> settings, CancellationToken cancellationToken, bool reload = true)
    {
        foreach (var (name, value) in settings)
        {
            // ALTER SYSTEM takes no parameters: the name is one PgDr chose, the value a quoted SQL literal.
            var sql = value is null ? $"ALTER SYSTEM RESET {name}" : $"ALTER SYSTEM SET {name} = {SqlLiteral(value)}";
            using var alter = new NpgsqlCommand(sql, connection);
            await alter.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        if (reload)
        {
            using var command = new NpgsqlCommand("SELECT pg_reload_conf()", connection);
            await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>What postgresql.auto.conf holds for <paramref name="name"/> on a running node (null: nothing), so it can be put back.</summary>
    public static async Task<string?> AutoConfValueAsync(NpgsqlConnection connection, string name, CancellationToken cancellationToken)
    {
        using var cmd = new NpgsqlCommand("SELECT setting FROM pg_file_settings WHERE name = $1 AND sourcefile LIKE '%postgresql.auto.conf' AND applied ORDER BY seqno DESC LIMIT 1", connection);
        cmd.Parameters.AddWithValue(name);
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
    }

    private static bool Same(ServerSetting setting, string desired) =>
        string.Equals(setting.Display, desired, StringComparison.Ordinal) || string.Equals(setting.Raw, desired, StringComparison.Ordinal);

    private static string SqlLiteral(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
}
