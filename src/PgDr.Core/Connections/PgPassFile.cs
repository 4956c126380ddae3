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

    /// <summary>
    /// The password libpq would take from the file at <paramref name="path"/> for this connection (the first line whose
    /// fields match, * matching anything; "replication" is the database of a physical replication connection), or null
    /// when no line matches or the file cannot be read.
    /// </summary>
    public static string? FindPassword(string path, string host, int port, string database, string user)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        string[] wanted = [host, port.ToString(System.Globalization.CultureInfo.InvariantCulture), database, user];
        foreach (var line in lines)
        {
            if (line.StartsWith('#') || Fields(line) is not { Count: 5 } fields)
            {
                continue;
            }

            if (Enumerable.Range(0, 4).All(i => fields[i] == "*" || fields[i] == wanted[i]))
            {
                return fields[4];
            }
        }

        return null;
    }

    /// <summary>A line's fields with their escapes undone; more than five (an unescaped colon in the password) is kept as five.</summary>
    private static List<string> Fields(string line)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        for (var i = 0; i < line.Length; i++)
        {
            if (line[i] == '\\' && i + 1 < line.Length)
            {
                field.Append(line[++i]);
            }
            else if (line[i] == ':' && fields.Count < 4)
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else
            {
                field.Append(line[i]);
            }
        }

        fields.Add(field.ToString());
        return fields;
    }

    /// <summary>A field as libpq reads it: backslash and colon escaped with a backslash.</summary>
    public static string Escape(string field) =>
        field.Replace("\\", "\\\\", StringComparison.Ordinal).Replace(":", "\\:", StringComparison.Ordinal);
}
