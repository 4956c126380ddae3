using System.CommandLine;
using PgDr.Cli.Output;
using PgDr.Replication.Synchronous;

namespace PgDr.Cli.Commands;

/// <summary>pgdr sync set: Set-PgSynchronousReplication.</summary>
internal static class SyncCommands
{
    public static Command Build()
    {
        var command = new Command("sync", "Synchronous replication on a primary.");
        command.Subcommands.Add(BuildSet());
        return command;
    }

    private static Command BuildSet()
    {
        var instance = CommonOptions.Instance();
        var standbys = new Option<string[]>("--standby") { Description = "A standby's name (application_name); repeat for several; * for any.", AllowMultipleArgumentsPerToken = true };
        var method = new Option<SynchronousMethod>("--method") { Description = "first (priority, the default) or any (quorum).", DefaultValueFactory = _ => SynchronousMethod.First };
        var numSync = new Option<int>("--num-sync") { Description = "How many standbys must confirm each commit (default 1).", DefaultValueFactory = _ => 1 };
        var commit = new Option<string?>("--commit") { Description = "synchronous_commit: off, local, remote_write, on, remote_apply (unchanged when omitted)." };
        var off = new Option<bool>("--off") { Description = "Turn synchronous replication off (synchronous_standby_names = ''); waiting commits are released." };
        var force = new Option<bool>("--force") { Description = "Name standbys that are not connected now (commits wait for them)." };
        var whatIf = new Option<bool>("--what-if") { Description = "Show each setting old -> new and change nothing." };
        var command = new Command("set", "Set synchronous_standby_names (FIRST n (...) / ANY n (...)) and synchronous_commit with ALTER SYSTEM and a reload.");
        command.Arguments.Add(instance);
        foreach (var option in new Option[] { standbys, method, numSync, commit, off, force, whatIf })
        {
            command.Options.Add(option);
        }

        CommonOptions.AddConnectionOptions(command);
        Runner.SetAction(command, async (parse, progress, ct) =>
        {
            var request = new SynchronousReplicationRequest
            {
                StandbyNames = parse.GetValue(standbys) ?? [],
                Method = parse.GetValue(method),
                NumSync = parse.GetValue(numSync),
                SynchronousCommit = parse.GetValue(commit),
                Disable = parse.GetValue(off),
                Force = parse.GetValue(force),
            };
            var result = await SynchronousReplicationService.SetAsync(
                CommonOptions.ToInstance(parse, parse.GetValue(instance)!), request, apply: !parse.GetValue(whatIf), ct).ConfigureAwait(false);
            if (parse.GetValue(CommonOptions.Json))
            {
                JsonOutput.Write(result, PgDrJsonContext.Default.PgSynchronousReplicationChange);
            }
            else
            {
                Table.Write(result.Settings, ("Setting", s => s.Name), ("Old", s => s.OldValue), ("New", s => s.NewValue), ("Changed", s => s.Changed));
                foreach (var missing in result.MissingStandbys)
                {
                    Console.Error.WriteLine($"pgdr: warning: {missing} is not connected: commits wait until enough named standbys are.");
                }

                Console.Out.WriteLine(result.Applied ? "Applied." : "What if: nothing was changed.");
            }

            return Runner.Success;
        });
        return command;
    }
}
