using System.CommandLine;
using System.Globalization;
using PgDr.Cli.Output;
using PgDr.Hosting.Sandbox;

namespace PgDr.Cli.Commands;

/// <summary>pgdr sandbox up|status|down: New-, Get-, Remove-PgDrSandbox.</summary>
internal static class SandboxCommands
{
    private static readonly Option<string> Directory = new("--dir")
    {
        Description = "Sandbox directory (default: $PGDR_SANDBOX, else pgdr-sandbox in the temp directory).",
        DefaultValueFactory = _ => SandboxService.DefaultDirectory,
        Recursive = true,
    };

    public static Command Build()
    {
        var command = new Command("sandbox", "A local multi-region PostgreSQL topology on loopback, to try PgDr on.");
        command.Options.Add(Directory);
        command.Subcommands.Add(BuildUp());
        command.Subcommands.Add(BuildStatus());
        command.Subcommands.Add(BuildDown());
        return command;
    }

    private static Command BuildUp()
    {
        var standbys = new Option<int>("--standbys") { Description = "Standbys streaming from the primary (region-b, region-c, ...).", DefaultValueFactory = _ => 2 };
        var cascading = new Option<bool>("--cascading") { Description = "Add region-b2, streaming from region-b." };
        var binDir = new Option<string?>("--bin-dir") { Description = "PostgreSQL's bin directory (found automatically otherwise)." };
        var tls = new Option<bool>("--tls") { Description = "TLS everywhere: the sandbox's own CA, hostssl only, every connection and stream verify-full." };
        var command = new Command("up", "Create the sandbox: initdb a primary (region-a), pg_basebackup each standby through its own slot, start all, wait for streaming.");
        command.Options.Add(standbys);
        command.Options.Add(cascading);
        command.Options.Add(binDir);
        command.Options.Add(tls);
        Runner.SetAction(command, async (parse, progress, ct) =>
        {
            var sandbox = await SandboxService.CreateAsync(
                new SandboxSpec { Directory = parse.GetValue(Directory)!, Standbys = parse.GetValue(standbys), Cascading = parse.GetValue(cascading), BinDirectory = parse.GetValue(binDir), Tls = parse.GetValue(tls) },
                progress,
                ct).ConfigureAwait(false);
            TerminalProgress.Clear();
            if (parse.GetValue(CommonOptions.Json))
            {
                JsonOutput.Write(sandbox.Nodes, PgDrJsonContext.Default.IReadOnlyListPgSandboxNode);
            }
            else
            {
                Console.Out.WriteLine($"Sandbox ready in {sandbox.Directory} (PostgreSQL {sandbox.PgMajorVersion}):");
                Table.Write(
                    sandbox.Nodes,
                    ("Node", n => n.Name),
                    ("Instance", n => n.Instance.Name),
                    ("Upstream", n => n.UpstreamName),
                    ("Slot", n => n.SlotName),
                    ("Data directory", n => n.DataDirectory));
                Console.Out.WriteLine();
                var verify = sandbox.CaCertificate is { } ca ? $" --sslmode verify-full --sslrootcert {ca}" : string.Empty;
                Console.Out.WriteLine($"Connect with: PGPASSFILE={sandbox.PasswordFile} PGUSER={PgSandbox.Superuser} pgdr lag {sandbox.Primary.Instance.Name}{verify}");
                Console.Out.WriteLine("Check it:     pgdr check --sandbox");
                Console.Out.WriteLine("Status: pgdr sandbox status    Remove: pgdr sandbox down");
            }

            return Runner.Success;
        });
        return command;
    }

    private static Command BuildStatus()
    {
        var command = new Command("status", "Each sandbox node's role, timeline, WAL positions and lag behind its upstream.");
        Runner.SetAction(command, async (parse, progress, ct) =>
        {
            var sandbox = await SandboxService.OpenAsync(parse.GetValue(Directory)!, ct).ConfigureAwait(false);
            var status = await SandboxService.GetStatusAsync(sandbox, ct).ConfigureAwait(false);
            if (parse.GetValue(CommonOptions.Json))
            {
                JsonOutput.Write(status, PgDrJsonContext.Default.IReadOnlyListPgSandboxNodeStatus);
            }
            else
            {
                Table.Write(
                    status,
                    ("Node", s => s.Name),
                    ("Instance", s => s.Instance.Name),
                    ("Role", s => s.Running ? s.Role : "down"),
                    ("TL", s => s.Timeline),
                    ("Current LSN", s => s.CurrentLsn),
                    ("Receive LSN", s => s.ReceiveLsn),
                    ("Replay LSN", s => s.ReplayLsn),
                    ("Upstream", s => s.Upstream),
                    ("State", s => s.Lag?.State),
                    ("Byte lag", s => s.ByteLag?.ToString(CultureInfo.InvariantCulture)),
                    ("Time lag", s => s.TimeLag),
                    ("Error", s => s.Error));
            }

            return status.All(s => s.Running) ? Runner.Success : Runner.Unhealthy;
        });
        return command;
    }

    private static Command BuildDown()
    {
        var command = new Command("down", "Stop every sandbox node and delete the sandbox directory.");
        Runner.SetAction(command, async (parse, progress, ct) =>
        {
            var directory = parse.GetValue(Directory)!;
            await SandboxService.RemoveAsync(directory, progress, ct).ConfigureAwait(false);
            TerminalProgress.Clear();
            Console.Out.WriteLine($"Sandbox in {Path.GetFullPath(directory)} removed.");
            return Runner.Success;
        });
        return command;
    }
}
