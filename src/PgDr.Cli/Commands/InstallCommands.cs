using System.CommandLine;
using PgDr.Archive.Server;
using PgDr.Cli.Output;

namespace PgDr.Cli.Commands;

/// <summary>
/// pgdr install: Install-PgDrExecutable. On a host without PowerShell and without the Debian package (a copied
/// artifacts/pgdr/pgdr, a container image), it puts this pgdr where PostgreSQL's service account can run it, the way the
/// cmdlet does with the module's copy: written aside, renamed into place, checked as that account.
/// </summary>
internal static class InstallCommands
{
    public static Command Build()
    {
        var path = new Option<string?>("--path") { Description = $"Where to install it (default {PgDrExecutable.DefaultInstallPath}); an existing directory gets a pgdr inside." };
        var account = new Option<string?>("--service-account") { Description = "The OS account PostgreSQL runs as, which must be able to run it (default postgres)." };
        var whatIf = new Option<bool>("--what-if") { Description = "Say what would be written and write nothing." };
        var command = new Command("install", "Copy this pgdr (the NativeAOT build) where the postgres account can run it, for archive_command and restore_command.");
        command.Options.Add(path);
        command.Options.Add(account);
        command.Options.Add(whatIf);
        Runner.SetAction(command, async (parse, progress, ct) =>
        {
            var request = new PgDrInstallRequest { Path = parse.GetValue(path), ServiceAccount = parse.GetValue(account) };
            var result = await PgDrInstallService.InstallAsync(request, apply: !parse.GetValue(whatIf), ct).ConfigureAwait(false);
            if (parse.GetValue(CommonOptions.Json))
            {
                JsonOutput.Write(result, PgDrJsonContext.Default.PgDrInstallation);
            }
            else
            {
                Console.Out.WriteLine((result.Applied || result.Action == PgDrInstallAction.None ? string.Empty : "What if: ") + result.Describe());
            }

            return Runner.Success;
        });
        return command;
    }
}
