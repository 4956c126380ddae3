using System.CommandLine;
using PgDr.Cli.Output;
using PgDr.Diagnostics;
using PgDr.Hosting.Sandbox;

namespace PgDr.Cli.Commands;

/// <summary>pgdr check: Test-PgDrConfiguration.</summary>
internal static class CheckCommands
{
    public static Command Build()
    {
        var instances = new Argument<string[]>("instance")
        {
            Description = "Nodes as host:port, a postgresql:// URI, or a connection string (all nodes of a topology, so their clocks are compared).",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var sandbox = new Option<bool>("--sandbox") { Description = "Check every node of the sandbox ($PGDR_SANDBOX, else pgdr-sandbox in the temp directory), with its credentials." };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Print nothing; the exit code says it (0 no check failed, 1 some did)." };
        var skipLog = new Option<bool>("--skip-log") { Description = "Do not scan the server logs." };
        var maxReady = new Option<int>("--max-ready-files") { Description = "More segments than this waiting for the archiver is a backlog.", DefaultValueFactory = _ => 16 };
        var maxReplay = new Option<long>("--max-replay-lag-bytes") { Description = "Received but unreplayed WAL beyond which replay falls behind.", DefaultValueFactory = _ => 64L * 1024 * 1024 };
        var maxSkew = new Option<double>("--max-clock-skew") { Description = "Seconds clocks may differ before a warning (ten times: a failure).", DefaultValueFactory = _ => 1 };
        var logWindow = new Option<double>("--log-window") { Description = "Minutes back from now that the log's failure lines count.", DefaultValueFactory = _ => 60 };
        var config = new Option<string?>("--config") { Description = "A PgDr configuration whose agent section names the nodes' agents (agent.peers[].agent): the disks of a node on another host are read from its agent." };
        var command = new Command("check", "The DR troubleshooting matrix as checks: settings, access, health and server log of every node, each Pass/Warn/Fail with evidence and fix. Exit 1 when any check fails.");
        command.Arguments.Add(instances);
        command.Options.Add(sandbox);
        command.Options.Add(quiet);
        command.Options.Add(skipLog);
        command.Options.Add(maxReady);
        command.Options.Add(maxReplay);
        command.Options.Add(maxSkew);
        command.Options.Add(logWindow);
        command.Options.Add(config);
        CommonOptions.AddConnectionOptions(command);
        Runner.SetAction(command, async (parse, progress, ct) =>
        {
            var nodes = parse.GetValue(instances)!.Select(text => CommonOptions.ToInstance(parse, text)).ToList();
            if (parse.GetValue(sandbox))
            {
                var opened = await SandboxService.OpenAsync(SandboxService.DefaultDirectory, ct).ConfigureAwait(false);
                nodes.AddRange(opened.Nodes.Select(n => n.Instance));
            }

            var options = new ConfigurationCheckOptions
            {
                MaxReadyFiles = parse.GetValue(maxReady),
                MaxReplayLagBytes = parse.GetValue(maxReplay),
                MaxClockSkew = TimeSpan.FromSeconds(parse.GetValue(maxSkew)),
                LogWindow = TimeSpan.FromMinutes(parse.GetValue(logWindow)),
                ScanLog = !parse.GetValue(skipLog),
                ConfigPath = parse.GetValue(config),
            };
            var results = await ConfigurationCheckService.CheckAsync(nodes.Distinct().ToList(), options, progress, ct).ConfigureAwait(false);
            TerminalProgress.Clear();
            if (parse.GetValue(quiet))
            {
                // The exit code says it.
            }
            else if (parse.GetValue(CommonOptions.Json))
            {
                JsonOutput.Write(results, PgDrJsonContext.Default.IReadOnlyListPgDrCheck);
            }
            else
            {
                Write(results);
            }

            return results.Any(r => r.Verdict == PgDrCheckVerdict.Fail) ? Runner.Unhealthy : Runner.Success;
        });
        return command;
    }

    /// <summary>The verdicts as a table, then what to do about each one that is not a pass, then the totals.</summary>
    private static void Write(IReadOnlyList<PgDrCheck> results)
    {
        Table.Write(
            results,
            ("Node", r => r.Node),
            ("Check", r => r.CheckId),
            ("Subject", r => r.Area == PgDrCheckArea.Log ? null : r.Subject),
            ("Verdict", r => r.Verdict),
            ("Evidence", r => r.Evidence));
        var findings = results.Where(r => r.Verdict != PgDrCheckVerdict.Pass).ToList();
        if (findings.Count > 0)
        {
            Console.Out.WriteLine();
            foreach (var finding in findings.OrderByDescending(r => r.Verdict))
            {
                var subject = finding.Subject is null || finding.Area == PgDrCheckArea.Log ? string.Empty : $" ({finding.Subject})";
                Console.Out.WriteLine($"{finding.Verdict.ToString().ToUpperInvariant()} {finding.Node} {finding.CheckId}{subject}: {finding.Fix}");
            }
        }

        Console.Out.WriteLine();
        Console.Out.WriteLine(
            $"{results.Count(r => r.Verdict == PgDrCheckVerdict.Pass)} passed, {results.Count(r => r.Verdict == PgDrCheckVerdict.Warn)} warned, {results.Count(r => r.Verdict == PgDrCheckVerdict.Fail)} failed.");
    }
}
