using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using PgDr.Replication;

namespace PgDr.Cmdlets.Completion;

/// <summary>Completes -Name with the replication slots of the node given by -Instance (read from the node).</summary>
public sealed class SlotNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        if (Completions.BoundInstance(fakeBoundParameters) is not { } instance)
        {
            return [];
        }

        var slots = Completions.Run(ct => ReplicationSlotService.GetSlotsAsync(instance, null, ct));
        return Completions.Matching(slots.Select(s => (s.SlotName, s.SlotName, $"{s.SlotName}: {(s.Active ? "active" : "inactive")}, retains {Bytes.Format(s.RetainedBytes)}")), wordToComplete);
    }
}
