using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace PgDr.Cmdlets.Completion;

/// <summary>
/// Completes -Instance with the nodes of the sandbox in the default directory: typing a node name (region-b) or the
/// start of its address offers its host:port, with the node's name and upstream as the tooltip.
/// </summary>
public sealed class SandboxNodeCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var sandbox = Completions.DefaultSandbox();
        if (sandbox is null)
        {
            return [];
        }

        return Completions.Matching(
            sandbox.Nodes.Select(n => (n.Instance.ToString(), n.Name, n.UpstreamName is null ? $"{n.Name}: the sandbox primary" : $"{n.Name}: standby of {n.UpstreamName}")),
            wordToComplete);
    }
}
