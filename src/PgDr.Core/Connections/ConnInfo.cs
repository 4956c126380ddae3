using System.Text;

namespace PgDr.Connections;

/// <summary>
/// A libpq keyword/value connection string (<c>host=db-a port=5432 user='repl'</c>), the form of primary_conninfo and
/// of what users type: parsed into ordered pairs and written back with every value quoted, so paths and names with
/// spaces or quotes survive. Keywords are compared case-insensitively; setting one that exists keeps its place.
/// </summary>
public sealed class ConnInfo
{
    private readonly List<KeyValuePair<string, string>> _pairs = [];

    /// <summary>The pairs in the order they were given.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Pairs => _pairs;

    /// <summary>The value of <paramref name="keyword"/>, or null when it is absent. Setting null removes it.</summary>
    public string? this[string keyword]
    {
        get => _pairs.FindIndex(p => Same(p.Key, keyword)) is var i and >= 0 ? _pairs[i].Value : null;
        set
        {
            var i = _pairs.FindIndex(p => Same(p.Key, keyword));
            if (value is null)
            {
                if (i >= 0)
                {
                    _pairs.RemoveAt(i);
                }
            }
            else if (i >= 0)
            {
                _pairs[i] = new(_pairs[i].Key, value);
            }
            else
            {
                _pairs.Add(new(keyword, value));
            }
        }
    }

    /// <summary>
    /// Parses libpq's keyword/value form: pairs separated by white space, values bare or single-quoted, backslash
    /// escaping the next character. Returns false with the reason when the text is malformed.
    /// </summary>
    public static bool TryParse(string text, out ConnInfo result, out string error)
    {
        result = new ConnInfo();
        error = string.Empty;
        var i = 0;
        while (true)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i]))
            {
                i++;
            }

            if (i >= text.Length)
            {
                return true;
            }

            var eq = text.IndexOf('=', i);
            if (eq < 0)
            {
                error = "expected key=value pairs";
                return false;
            }

            var key = text[i..eq].Trim();
            if (key.Length == 0)
            {
                error = "a key is empty";
                return false;
            }

            i = eq + 1;
            while (i < text.Length && char.IsWhiteSpace(text[i]))
            {
                i++;
            }

            var value = new StringBuilder();
            var quoted = i < text.Length && text[i] == '\'';
            if (quoted)
            {
                i++;
            }

            while (i < text.Length && (quoted ? text[i] != '\'' : !char.IsWhiteSpace(text[i])))
            {
                if (text[i] == '\\' && i + 1 < text.Length)
                {
                    i++;
                }

                value.Append(text[i++]);
            }

            if (quoted)
            {
                if (i >= text.Length)
                {
                    error = "a quoted value is not closed";
                    return false;
                }

                i++;
            }

            result[key] = value.ToString();
        }
    }

    /// <summary>Every value single-quoted, with backslashes and quotes escaped as libpq reads them.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        foreach (var (key, value) in _pairs)
        {
            sb.Append(sb.Length == 0 ? string.Empty : " ").Append(key).Append("='")
                .Append(value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal)).Append('\'');
        }

        return sb.ToString();
    }

    private static bool Same(string a, string b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);
}
