using System.CommandLine;
using System.Globalization;
using PgDr.Archive.Configuration;
using PgDr.Archive.Server;
using PgDr.Archive.Transfer;
using PgDr.Cli.Output;

namespace PgDr.Cli.Commands;

/// <summary>pgdr archiving set|test: Set-PgWalArchiving, Test-PgWalArchiving.</summary>
internal static class ArchivingCommands
{
    public static Command Build()
    {
        var command = new Command("archiving", "Configure and judge a node's WAL archiving through pgdr.");
        command.Subcommands.Add(BuildSet());
        command.Subcommands.Add(BuildTest());
        return command;
    }

    private static Command BuildSet()
    {
        var instance = CommonOptions.Instance();
        var config = new Option<string?>("--config") { Description = "The PgDr configuration file archive_command will name (not needed with --disable)." };
        var pgdr = new Option<string?>("--pgdr") { Description = "The pgdr executable archive_command runs (default: pgdr on PATH)." };
        var timeout = new Option<int>("--archive-timeout") { Description = "archive_timeout in seconds (default 60).", DefaultValueFactory = _ => 60 };
        var disable = new Option<bool>("--disable") { Description = "Switch archiving off instead." };
        var onStandby = new Option<bool>("--archive-on-standby") { Description = "archive_mode = always: a standby archives the WAL it receives too (with on it archives nothing until promoted)." };
        var restart = new Option<bool>("--restart") { Description = "Restart the node if a setting needs it (a server on this host: pg_ctl, systemd unit or Windows service)." };
        var whatIf = new Option<bool>("--what-if") { Description = "Show each setting old -> new and change nothing." };
        var command = new Command("set", "Set wal_level, archive_mode, max_wal_senders, archive_timeout and archive_command (ALTER SYSTEM) so the node archives through pgdr.");
        command.Arguments.Add(instance);
        foreach (var option in new Option[] { config, pgdr, timeout, disable, onStandby, restart, whatIf })
        {
            command.Options.Add(option);
        }

        CommonOptions.AddConnectionOptions(command);
        Runner.SetAction(command, async (parse, progress, ct) =>
        {
            var request = parse.GetValue(disable)
                ? WalArchivingRequest.Disabling()
                : new WalArchivingRequest
                {
                    PgDrPath = PgDrExecutable.Locate(parse.GetValue(pgdr)),
                    ConfigPath = parse.GetValue(config) is { Length: > 0 } path ? Path.GetFullPath(path) : null,
                    ArchiveTimeout = TimeSpan.FromSeconds(parse.GetValue(timeout)),
                    ArchiveOnStandby = parse.GetValue(onStandby),
                };
            var result = await WalArchivingService.SetAsync(
                CommonOptions.ToInstance(parse, parse.GetValue(instance)!), request, apply: !parse.GetValue(whatIf), parse.GetValue(restart), ct).ConfigureAwait(false);
            if (result.Note is not null)
            {
                Console.Error.WriteLine("pgdr: warning: " + result.Note);
            }

            if (parse.GetValue(CommonOptions.Json))
            {
                JsonOutput.Write(result, PgDrJsonContext.Default.PgWalArchivingChange);
            }
            else
            {
                Table.Write(
                    result.Settings,
                    ("Setting", s => s.Name),
                    ("Old", s => s.OldValue),
                    ("New", s => s.NewValue),
                    ("Changed", s => s.Changed),
                    ("Needs restart", s => s.RequiresRestart));
                if (result.AccessCheckedAs is { } account)
                {
                    Console.Out.WriteLine($"Checked first: the OS account '{account}' can run {request.PgDrPath} and read {request.ConfigPath} and its key.");
                }

                Console.Out.WriteLine(!result.Applied ? "What if: nothing was changed."
                    : result.Restarted ? "Applied; the node was restarted."
                    : result.RestartPending ? "Applied; a restart is pending (--restart, or restart PostgreSQL)." : "Applied.");
            }

            return Runner.Success;
        });
        return command;
    }

    private static Command BuildTest()
    {
        var instances = CommonOptions.Instances();
        var force = new Option<bool>("--force-switch") { Description = "Switch to a new WAL segment and wait until it is archived." };
        var deadline = new Option<int>("--deadline") { Description = "Seconds the switched segment may take (default 60).", DefaultValueFactory = _ => 60 };
        var probeConfig = new Option<string?>("--config") { Description = "The PgDr configuration: with --force-switch its required repositories must all receive the segment; the access check reads it (default: the one archive_command names)." };
        var maxReady = new Option<int>("--max-ready") { Description = "More .ready segments than this is a backlog (default 16).", DefaultValueFactory = _ => 16 };
        var command = new Command("test", "Judge WAL archiving: pg_stat_archiver, configuration, backlog, optionally a forced switch. Exit 1 when unhealthy.");
        command.Arguments.Add(instances);
        command.Options.Add(force);
        command.Options.Add(deadline);
        command.Options.Add(maxReady);
        command.Options.Add(probeConfig);
        CommonOptions.AddConnectionOptions(command);
        Runner.SetAction(command, async (parse, progress, ct) =>
        {
            var probe = parse.GetValue(probeConfig) is { } path ? new RepositoryWalProbe(PgDrConfig.Load(path)) : null;
            var options = new WalArchivingTestOptions
            {
                ForceSwitch = parse.GetValue(force),
                Deadline = TimeSpan.FromSeconds(parse.GetValue(deadline)),
                MaxReadyFiles = parse.GetValue(maxReady),
                ConfigPath = parse.GetValue(probeConfig) is { } configPath ? Path.GetFullPath(configPath) : null,
            };
            var (results, failed) = await Runner.ForEachInstanceAsync(parse, parse.GetValue(instances)!, (i, c) => WalArchivingHealthService.TestAsync(i, options, probe, c), ct).ConfigureAwait(false);
            if (parse.GetValue(CommonOptions.Json))
            {
                JsonOutput.Write<IReadOnlyList<PgWalArchivingHealth>>(results, PgDrJsonContext.Default.IReadOnlyListPgWalArchivingHealth);
            }
            else if (results.Count > 0)
            {
                Table.Write(
                    results,
                    ("Node", h => h.NodeName),
                    ("Mode", h => h.ArchiveMode),
                    ("pgdr", h => h.UsesPgDr),
                    ("Archived", h => h.ArchivedCount.ToString(CultureInfo.InvariantCulture)),
                    ("Last archived", h => h.LastArchivedWal),
                    ("Failed", h => h.FailedCount.ToString(CultureInfo.InvariantCulture)),
                    ("Ready", h => h.ReadyCount.ToString(CultureInfo.InvariantCulture)),
                    ("Switched", h => h.SwitchedWal),
                    ("Healthy", h => h.Healthy),
                    ("Reasons", h => h.Reasons));
                foreach (var failure in results.Where(r => r.Failure is not null).Select(r => (r.NodeName, r.Failure!)))
                {
                    Console.Out.WriteLine();
                    Console.Out.WriteLine($"{failure.NodeName}: {failure.Item2.Message}{(failure.Item2.ErrorId is null ? string.Empty : $" [{failure.Item2.ErrorId}]")}");
                    if (failure.Item2.Fix is not null)
                    {
                        Console.Out.WriteLine($"  fix: {failure.Item2.Fix}");
                    }

                    Console.Out.WriteLine($"  from: {failure.Item2.Evidence}");
                }
            }

            return failed ? Runner.Failure : results.All(r => r.Healthy) ? Runner.Success : Runner.Unhealthy;
        });
        return command;
    }
}
