using Npgsql;
using PgDr.Archive.Server;

namespace PgDr.Failover;

/// <summary>ALTER SYSTEM on a running node, then a reload: how failover fences and repoints nodes it can only reach by SQL.</summary>
internal static class ServerSettings
{
    /// <summary>Sets (or, for a null value, resets) each setting in postgresql.auto.conf, then reloads the configuration unless told not to.</summary>
    public static async Task AlterSystemAsync(NpgsqlConnection connection, IReadOnlyDictionary<string, string?> settings, CancellationToken cancellationToken, bool reload = true)
    {
        foreach (var (name, value) in settings)
        {
            // ALTER SYSTEM takes no parameters: the name is one of ours, the value a quoted SQL literal.
            var sql = value is null ? $"ALTER SYSTEM RESET {name}" : $"ALTER SYSTEM SET {name} = {WalArchivingService.SqlLiteral(value)}";
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
}
