using System.CommandLine;
using PgDr.Cli.Output;
using PgDr.Topology;

namespace PgDr.Cli.Commands;

/// <summary>pgdr node: Get-PgDrNode.</summary>
internal static class NodeCommands
{
    public static Command Build()
    {
        var instances = CommonOptions.Instances();
        var command = new Command("node", "Show each node's role, system identifier, timeline, version and WAL positions.");
        command.Arguments.Add(instances);
        CommonOptions.AddConnectionOptions(command);
        Runner.SetAction(command, async (parse, progress, ct) =>
        {
            var (nodes, failed) = await Runner.ForEachInstanceAsync(parse, parse.GetValue(instances)!, (i, c) => NodeInspector.GetNodeAsync(i, c), ct).ConfigureAwait(false);
            if (failed && (nodes).Count == 0)
            {
                // Every instance failed and said why on stderr; an empty table would only add noise.
            }
            else if (parse.GetValue(CommonOptions.Json))
            {
                JsonOutput.Write<IReadOnlyList<PgNode>>(nodes, PgDrJsonContext.Default.IReadOnlyListPgNode);
            }
            else
            {
                Table.Write(
                    nodes,
                    ("Node", n => n.Name),
                    ("Name", n => n.ClusterName),
                    ("Role", n => n.Role),
                    ("Timeline", n => n.Timeline),
                    ("Current LSN", n => n.CurrentLsn),
                    ("Receive LSN", n => n.ReceiveLsn),
                    ("Replay LSN", n => n.ReplayLsn),
                    ("Upstream", n => n.Upstream),
                    ("Version", n => n.ServerVersion),
                    ("System identifier", n => n.SystemIdentifier));
            }

            return failed ? Runner.Failure : Runner.Success;
        });
        return command;
    }
}
