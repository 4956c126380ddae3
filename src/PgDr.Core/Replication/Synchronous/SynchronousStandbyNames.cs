using System.Globalization;
using System.Text.RegularExpressions;
using PgDr.Errors;

namespace PgDr.Replication.Synchronous;

/// <summary>Writes synchronous_standby_names as PostgreSQL's parser reads it: FIRST n (a, "region-b") / ANY n (...).</summary>
public static partial class SynchronousStandbyNames
{
    /// <summary>application_name is cut at 63 bytes (NAMEDATALEN - 1), so a longer name could never match.</summary>
    public const int MaxNameLength = 63;

    public static readonly IReadOnlyList<string> CommitLevels = ["off", "local", "remote_write", "on", "remote_apply"];

    /// <summary>The setting's value; refuses (InvalidSynchronousReplication) what PostgreSQL would refuse or never satisfy.</summary>
    public static string Format(SynchronousMethod method, int numSync, IReadOnlyList<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        if (names.Count == 0)
        {
            throw Invalid("name at least one standby (or turn synchronous replication off)", names);
        }

        foreach (var name in names)
        {
            if (string.IsNullOrEmpty(name) || name.Length > MaxNameLength || name.Any(char.IsControl))
            {
                throw Invalid($"'{name}' is not a standby name: 1 to {MaxNameLength} printable characters (its application_name)", name);
            }
        }

        var duplicate = names.GroupBy(n => n, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            // PostgreSQL compares the names case-insensitively, so a repeated name counts once.
            throw Invalid($"'{duplicate.Key}' is named twice", names);
        }

        if (numSync < 1 || numSync > names.Count)
        {
            throw Invalid($"{numSync} synchronous standbys out of {names.Count} named: commits would wait forever", numSync);
        }

        var keyword = method == SynchronousMethod.First ? "FIRST" : "ANY";
        return $"{keyword} {numSync.ToString(CultureInfo.InvariantCulture)} ({string.Join(", ", names.Select(Quote))})";
    }

    /// <summary>
    /// A name bare when it is an identifier that is not a keyword of the setting (FIRST, ANY), else double-quoted with
    /// inner quotes doubled. Quoting does not make it case-sensitive: PostgreSQL compares names ignoring case either way.
    /// </summary>
    public static string Quote(string name) =>
        name == "*" || (Identifier().IsMatch(name) && !name.Equals("first", StringComparison.OrdinalIgnoreCase) && !name.Equals("any", StringComparison.OrdinalIgnoreCase))
            ? name
            : "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    internal static PgDrArgumentException Invalid(string why, object? target) =>
        new(ErrorIds.InvalidSynchronousReplication, $"Cannot set synchronous replication: {why}.", target);

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_$]*$")]
    private static partial Regex Identifier();
}
