using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using PgDr.Archive.Configuration;

namespace PgDr.Cmdlets.Completion;

/// <summary>Completes -Repository with the repository names of the configuration (-ConfigPath, else the default one).</summary>
public sealed class RepositoryNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var path = fakeBoundParameters["ConfigPath"] is { } given ? Path.GetFullPath(given.ToString()!) : null;
        var repositories = Completions.Run<RepositoryEntry>(_ => Task.FromResult<IReadOnlyList<RepositoryEntry>>(PgDrConfig.Load(path).Repositories));
        return Completions.Matching(repositories.Select(r => (r.Name, r.Name, $"{r.Name}{(r.Required ? string.Empty : " (not required)")}")), wordToComplete);
    }
}
