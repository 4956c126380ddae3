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

    /// <summary>
    /// Reads a synchronous_standby_names value as PostgreSQL does: FIRST n (...), ANY n (...), n (...) (FIRST), or a
    /// plain list (FIRST 1). Names come back unquoted. Null for an empty value (asynchronous replication) or one that
    /// PostgreSQL itself would refuse.
    /// </summary>
    public static (SynchronousMethod Method, int NumSync, IReadOnlyList<string> Names)? Parse(string? value)
    {
        var tokens = Tokenize(value ?? string.Empty);
        if (tokens is null || tokens.Count == 0)
        {
            return null;
        }

        var method = SynchronousMethod.First;
        var numSync = 1;
        var i = 0;
        if (tokens.Count > 2 && !tokens[0].Quoted && (tokens[0].Text.Equals("first", StringComparison.OrdinalIgnoreCase) || tokens[0].Text.Equals("any", StringComparison.OrdinalIgnoreCase))
            && int.TryParse(tokens[1].Text, NumberStyles.None, CultureInfo.InvariantCulture, out numSync) && tokens[2].Text == "(")
        {
            method = tokens[0].Text.Equals("any", StringComparison.OrdinalIgnoreCase) ? SynchronousMethod.Any : SynchronousMethod.First;
            i = 3;
        }
        else if (tokens.Count > 1 && !tokens[0].Quoted && int.TryParse(tokens[0].Text, NumberStyles.None, CultureInfo.InvariantCulture, out numSync) && tokens[1].Text == "(")
        {
            i = 2;
        }
        else
        {
            numSync = 1;
        }

        var parenthesised = i > 0;
        var names = new List<string>();
        for (var expectName = true; i < tokens.Count; i++, expectName = !expectName)
        {
            var token = tokens[i];
            if (expectName)
            {
                if (!token.Quoted && token.Text is "," or "(" or ")")
                {
                    return null;
                }

                names.Add(token.Text);
            }
            else if (!token.Quoted && token.Text == ")" && parenthesised && i == tokens.Count - 1)
            {
                parenthesised = false;
            }
            else if (token.Quoted || token.Text != ",")
            {
                return null;
            }
        }

        return names.Count == 0 || parenthesised || numSync < 1 ? null : (method, numSync, names);
    }

    private readonly record struct Token(string Text, bool Quoted);

    private static List<Token>? Tokenize(string value)
    {
        var tokens = new List<Token>();
        for (var i = 0; i < value.Length;)
        {
            var c = value[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (c is '(' or ')' or ',')
            {
                tokens.Add(new Token(c.ToString(), false));
                i++;
            }
            else if (c == '"')
            {
                var sb = new System.Text.StringBuilder();
                for (i++; ; i++)
                {
                    if (i >= value.Length)
                    {
                        return null;
                    }

                    if (value[i] == '"')
                    {
                        if (i + 1 < value.Length && value[i + 1] == '"')
                        {
                            sb.Append('"');
                            i++;
                            continue;
                        }

                        i++;
                        break;
                    }

                    sb.Append(value[i]);
                }

                tokens.Add(new Token(sb.ToString(), true));
            }
            else
            {
                var start = i;
                while (i < value.Length && !char.IsWhiteSpace(value[i]) && value[i] is not '(' and not ')' and not ',' and not '"')
                {
                    i++;
                }

                tokens.Add(new Token(value[start..i], false));
            }
        }

        return tokens;
    }

    internal static PgDrArgumentException Invalid(string why, object? target) =>
        new(ErrorIds.InvalidSynchronousReplication, $"Cannot set synchronous replication: {why}.", target);

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_$]*$")]
    private static partial Regex Identifier();
}
