using System.Collections;
using System.Management.Automation;
using PgDr.Connections;
using PgDr.Hosting.Sandbox;

namespace PgDr.Cmdlets.Completion;

/// <summary>
/// What the argument completers share. Tab completion runs on the pipeline thread while the user waits, so the engine
/// call is bounded by a short deadline and any failure (a node down, no sandbox, a broken configuration) simply offers
/// nothing: completion never writes an error.
/// </summary>
internal static class Completions
{
    /// <summary>How long one completion may take before it gives up.</summary>
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(3);

    public static IReadOnlyList<T> Run<T>(Func<CancellationToken, Task<IReadOnlyList<T>>> lookup)
    {
        using var cancellation = new CancellationTokenSource(Deadline);
        try
        {
            return lookup(cancellation.Token).GetAwaiter().GetResult();
        }
#pragma warning disable CA1031 // Completion offers nothing rather than failing the user's typing.
        catch (Exception)
#pragma warning restore CA1031
        {
            return [];
        }
    }

    /// <summary>Names that start with what was typed (case-insensitively), quoted when they need it.</summary>
    public static IEnumerable<CompletionResult> Matching(IEnumerable<(string Text, string ListItem, string ToolTip)> candidates, string wordToComplete)
    {
        var typed = (wordToComplete ?? string.Empty).Trim('\'', '"');
        foreach (var (text, listItem, toolTip) in candidates)
        {
            if (text.StartsWith(typed, StringComparison.OrdinalIgnoreCase) || listItem.StartsWith(typed, StringComparison.OrdinalIgnoreCase))
            {
                yield return new CompletionResult(Quote(text), listItem, CompletionResultType.ParameterValue, toolTip);
            }
        }
    }

    /// <summary>The sandbox in the default directory ($env:PGDR_SANDBOX, else pgdr-sandbox in the temp directory), if one is there.</summary>
    public static PgSandbox? DefaultSandbox() =>
        Directory.Exists(SandboxService.DefaultDirectory)
            ? Run<PgSandbox>(async ct => [await SandboxService.OpenAsync(SandboxService.DefaultDirectory, ct).ConfigureAwait(false)]) is [var sandbox] ? sandbox : null
            : null;

    /// <summary>
    /// The first -Instance already typed on the command line, as a PgInstance; a sandbox node's own instance (which
    /// carries the sandbox's password) when it names one.
    /// </summary>
    public static PgInstance? BoundInstance(IDictionary fakeBoundParameters)
    {
        var value = fakeBoundParameters["Instance"];
        if (value is IEnumerable sequence and not string)
        {
            value = sequence.Cast<object?>().FirstOrDefault();
        }

        value = value is PSObject wrapped ? wrapped.BaseObject : value;
        PgInstance? instance;
        try
        {
            instance = value switch
            {
                PgInstance given => given,
                string text => PgInstance.Parse(text),
                _ => null,
            };
        }
        catch (PgDr.Errors.PgDrException)
        {
            return null;
        }

        return instance is null ? null : DefaultSandbox()?.Nodes.FirstOrDefault(n => n.Instance.Equals(instance))?.Instance ?? instance;
    }

    private static string Quote(string text) =>
        text.Any(c => char.IsWhiteSpace(c) || c is '\'' or '"' or '$' or '`' or ';' or '(' or ')' or '{' or '}' or ',' or '&' or '|')
            ? "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'"
            : text;
}
