using System.Text.RegularExpressions;

namespace PgDr.Replication;

/// <summary>
/// Shell-style name filter (<c>*</c> and <c>?</c>), as PowerShell users type for -Name. The engine cannot use
/// PowerShell's WildcardPattern, so this small matcher stands in for it; null or empty matches everything.
/// </summary>
public sealed class NamePattern
{
    private readonly Regex? _regex;

    public NamePattern(IEnumerable<string>? patterns)
    {
        var list = patterns?.Where(p => !string.IsNullOrEmpty(p)).ToList() ?? [];
        if (list.Count > 0)
        {
            var alternatives = list.Select(p => "^" + Regex.Escape(p).Replace(@"\*", ".*", StringComparison.Ordinal).Replace(@"\?", ".", StringComparison.Ordinal) + "$");
            _regex = new Regex(string.Join("|", alternatives), RegexOptions.CultureInvariant | RegexOptions.IgnoreCase);
            HasWildcards = list.Any(p => p.Contains('*', StringComparison.Ordinal) || p.Contains('?', StringComparison.Ordinal));
            LiteralNames = list.Where(p => !p.Contains('*', StringComparison.Ordinal) && !p.Contains('?', StringComparison.Ordinal)).ToList();
        }
    }

    public bool HasWildcards { get; }

    /// <summary>The patterns without wildcards: each must match something, or it is reported as not found.</summary>
    public IReadOnlyList<string> LiteralNames { get; } = [];

    public bool IsMatch(string name) => _regex is null || _regex.IsMatch(name);
}
