using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using PgDr.Replication;

namespace PgDr.Cmdlets.Completion;

/// <summary>Completes -StandbyName with the standbys connected to the node given by -Instance (their application_name).</summary>
public sealed class StandbyNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        if (Completions.BoundInstance(fakeBoundParameters) is not { } instance)
        {
            return [];
        }

        var standbys = Completions.Run(ct => ReplicationLagService.GetLagAsync(instance, new LagThresholds(), ct));
        return Completions.Matching(
            standbys.Where(s => s.Source == LagSource.Sender && s.State != "disconnected")
                .Select(s => (s.StandbyName, s.StandbyName, $"{s.StandbyName}: {s.State}, {s.SyncState ?? "async"}")),
            wordToComplete);
    }
}
