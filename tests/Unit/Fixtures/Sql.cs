using Npgsql;
using PgDr.Connections;

namespace PgDr.Tests.Fixtures;

/// <summary>Small SQL helpers for tests: make WAL, read a value.</summary>
public static class Sql
{
    public static async Task ExecuteAsync(PgInstance instance, string sql)
    {
        await PgConnector.RunAsync(instance, async conn =>
        {
            await using var cmd = new NpgsqlCommand(sql, conn);
            return await cmd.ExecuteNonQueryAsync();
        }, CancellationToken.None);
    }

    public static Task<T> ScalarAsync<T>(PgInstance instance, string sql) =>
        PgConnector.RunAsync(instance, async conn =>
        {
            await using var cmd = new NpgsqlCommand(sql, conn);
            return (T)(await cmd.ExecuteScalarAsync())!;
        }, CancellationToken.None);

    /// <summary>Writes some rows and switches to a new WAL segment, so at least 16 MiB of WAL is produced.</summary>
    public static async Task MakeWalAsync(PgInstance primary, string table = "pgdr_test_load")
    {
        await ExecuteAsync(primary, $"CREATE TABLE IF NOT EXISTS {table} (id bigserial PRIMARY KEY, payload text)");
        await ExecuteAsync(primary, $"INSERT INTO {table} (payload) SELECT repeat('x', 100) FROM generate_series(1, 5000)");
        await ExecuteAsync(primary, "SELECT pg_switch_wal()");
    }
}
