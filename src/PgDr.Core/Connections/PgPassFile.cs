using System.Text;

namespace PgDr.Connections;

/// <summary>
/// libpq's password file (hostname:port:database:username:password, one entry a line, the first match wins): where a
/// standby's replication password lives, so that it is never in primary_conninfo, a process argument or a log.
/// </summary>
public static class PgPassFile
{
    /// <summary>
    /// <paramref name="existing"/> (null: no file yet) with the entry for <paramref name="user"/> on any host's replication
    /// connections set to <paramref name="password"/>: put first, any earlier entry of the same key removed, every other
    /// line kept. Any host, because a standby repointed to a new primary after a failover streams as the same user.
    /// </summary>
    public static string WithReplicationEntry(string? existing, string user, string password)
    {
        var key = $"*:*:replication:{Escape(user)}:";
        var sb = new StringBuilder(key).Append(Escape(password)).Append('\n');
        foreach (var line in (existing ?? string.Empty).Split('\n'))
        {
            if (line.Length > 0 && !line.StartsWith(key, StringComparison.Ordinal))
            {
                sb.Append(line).Append('\n');
            }
        }

        return sb.ToString();
    }

    /// <summary>A field as libpq reads it: backslash and colon escaped with a backslash.</summary>
    public static string Escape(string field) =>
        field.Replace("\\", "\\\\", StringComparison.Ordinal).Replace(":", "\\:", StringComparison.Ordinal);
}
