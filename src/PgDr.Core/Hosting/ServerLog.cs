using System.Text;
using Npgsql;
using PgDr.Connections;
using PgDr.Errors;

namespace PgDr.Hosting;

/// <summary>
/// The end of a node's server log, where archive_command's and restore_command's standard error lands; <see cref="Length"/>
/// is the file's length when read, from which a later read can take only what was written since.
/// </summary>
public sealed record ServerLogTail(string Path, IReadOnlyList<string> Lines, long Length);

/// <summary>
/// Reads the end of a node's server log where PgDr can: through SQL when the logging collector writes it
/// (pg_current_logfile, read with pg_read_file by a superuser or a member of pg_read_server_files), else, for a node
/// on this host, the file the postmaster's standard error goes to (pg_ctl -l). Null when neither is possible: the
/// caller then says what it knows without the log.
/// </summary>
public static class ServerLog
{
    /// <summary>Enough for the last several minutes of an archiver failing every few seconds.</summary>
    public const int DefaultTailBytes = 256 * 1024;

    /// <summary>
    /// The last <paramref name="maxBytes"/> of the log, or only what was written after <paramref name="since"/> (an
    /// earlier read of the same file; a rotated log is read from its tail).
    /// </summary>
    public static async Task<ServerLogTail?> ReadTailAsync(PgInstance instance, LocalNode? node, CancellationToken cancellationToken, ServerLogTail? since = null, int maxBytes = DefaultTailBytes)
    {
        var fromSql = await ReadThroughSqlAsync(instance, maxBytes, since, cancellationToken).ConfigureAwait(false);
        if (fromSql is not null)
        {
            return fromSql;
        }

        return node?.StandardErrorFile() is { } path ? await ReadFileTailAsync(path, maxBytes, since, cancellationToken).ConfigureAwait(false) : null;
    }

    private static long StartOffset(string path, long length, int maxBytes, ServerLogTail? since) =>
        Math.Max(since is not null && since.Path == path && since.Length <= length ? since.Length : 0, length - maxBytes);

    private static async Task<ServerLogTail?> ReadThroughSqlAsync(PgInstance instance, int maxBytes, ServerLogTail? since, CancellationToken cancellationToken)
    {
        try
        {
            return await PgConnector.RunAsync(instance, async conn =>
            {
                // Relative to the data directory, as pg_read_file takes it; NULL without the logging collector.
                using var current = new NpgsqlCommand("SELECT pg_current_logfile('stderr')", conn);
                if (await current.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not string path)
                {
                    return null;
                }

                using var size = new NpgsqlCommand("SELECT size FROM pg_stat_file($1, true)", conn);
                size.Parameters.AddWithValue(path);
                if (await size.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not long length)
                {
                    return null;
                }

                var start = StartOffset(path, length, maxBytes, since);
                using var read = new NpgsqlCommand("SELECT pg_read_binary_file($1, $2, $3, true)", conn);
                read.Parameters.AddWithValue(path);
                read.Parameters.AddWithValue(start);
                read.Parameters.AddWithValue(length - start);
                return await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is byte[] bytes
                    ? new ServerLogTail(path, SplitLines(Encoding.UTF8.GetString(bytes), dropFirst: start > 0 && start != since?.Length), length)
                    : null;
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (PgDrException ex) when (ex.ErrorId is ErrorIds.InsufficientPrivilege or ErrorIds.QueryFailed)
        {
            // Not a superuser nor in pg_read_server_files: the log is not ours to read through SQL.
            return null;
        }
    }

    private static async Task<ServerLogTail?> ReadFileTailAsync(string path, int maxBytes, ServerLogTail? since, CancellationToken cancellationToken)
    {
        try
        {
            using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var length = RandomAccess.GetLength(file);
            var start = StartOffset(path, length, maxBytes, since);
            var buffer = new byte[length - start];
            var read = await RandomAccess.ReadAsync(file, buffer, start, cancellationToken).ConfigureAwait(false);
            return new ServerLogTail(path, SplitLines(Encoding.UTF8.GetString(buffer, 0, read), dropFirst: start > 0 && start != since?.Length), start + read);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    // A tail that starts inside the file starts inside a line (unless it starts where an earlier read ended): that
    // partial first line is dropped.
    private static List<string> SplitLines(string text, bool dropFirst)
    {
        var lines = text.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        if (dropFirst && lines.Count > 0)
        {
            lines.RemoveAt(0);
        }

        return lines;
    }
}
