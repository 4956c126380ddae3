using System.CommandLine;
using System.Globalization;
using PgDr.Cli.Output;
using PgDr.Replication;

namespace PgDr.Cli.Commands;

/// <summary>pgdr lag: Get-PgReplicationLag.</summary>
internal static class LagCommands
{
    public static Command Build()
    {
        var instances = CommonOptions.Instances();
        var maxLag = new Option<double?>("--max-lag") { Description = "Seconds of time lag above which a standby is unhealthy." };
        var maxLagBytes = new Option<long?>("--max-lag-bytes") { Description = "Bytes of lag above which a standby is unhealthy." };
        var command = new Command("lag", "Replication lag: from a primary one row per standby (bytes first, then time); from a standby its own view. Exit 1 when any row is unhealthy.");
        command.Arguments.Add(instances);
        command.Options.Add(maxLag);
        command.Options.Add(maxLagBytes);
        CommonOptions.AddConnectionOptions(command);
        Runner.SetAction(command, async (parse, progress, ct) =>
        {
            var thresholds = new LagThresholds(
                parse.GetValue(maxLag) is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
                parse.GetValue(maxLagBytes));
            var (lists, failed) = await Runner.ForEachInstanceAsync(parse, parse.GetValue(instances)!, (i, c) => ReplicationLagService.GetLagAsync(i, thresholds, c), ct).ConfigureAwait(false);
            var rows = lists.SelectMany(l => l).ToList();
            if (failed && (rows).Count == 0)
            {
                // Every instance failed and said why on stderr; an empty table would only add noise.
            }
            else if (parse.GetValue(CommonOptions.Json))
            {
                JsonOutput.Write<IReadOnlyList<PgReplicationLag>>(rows, PgDrJsonContext.Default.IReadOnlyListPgReplicationLag);
            }
            else
            {
                Table.Write(
                    rows,
                    ("Node", l => l.NodeName),
                    ("View", l => l.Source),
                    ("Standby", l => l.StandbyName),
                    ("State", l => l.State),
                    ("Sync", l => l.SyncState),
                    ("Byte lag", l => l.ByteLag.ToString(CultureInfo.InvariantCulture)),
                    ("Time lag", l => l.TimeLag),
                    ("Replay LSN", l => l.ReplayLsn),
                    ("Slot", l => l.SlotName),
                    ("Healthy", l => l.Healthy),
                    ("Reasons", l => l.Reasons));
            }

            return failed ? Runner.Failure : rows.All(r => r.Healthy) ? Runner.Success : Runner.Unhealthy;
        });
        return command;
    }
}
