using System.CommandLine;
using PgDr.Archive.Configuration;
using PgDr.Cli.Output;

namespace PgDr.Cli.Commands;

/// <summary>pgdr config check: what archive_command and restore_command need, checked as the account that runs it.</summary>
internal static class ConfigCommands
{
    public static Command Build()
    {
        var command = new Command("config", "Check a PgDr configuration file.");
        command.Subcommands.Add(BuildCheck());
        return command;
    }

    private static Command BuildCheck()
    {
        var config = new Option<string?>("--config") { Description = "The PgDr configuration file (default: $PGDR_CONFIG, else /etc/pgdr/pgdr.json)." };
        var command = new Command(
            "check",
            "Read the configuration and the archive key it names exactly as 'pgdr wal push' and 'wal fetch' do. Run it as the account PostgreSQL runs as (sudo -u postgres pgdr config check --config FILE); Set-PgWalArchiving and Test-PgWalArchiving do that for a node on this host.");
        command.Options.Add(config);
        Runner.SetAction(command, (parse, progress, ct) =>
        {
            var result = PgDrConfigCheck.Run(parse.GetValue(config));
            if (parse.GetValue(CommonOptions.Json))
            {
                JsonOutput.Write(result, PgDrJsonContext.Default.PgDrConfigCheckResult);
            }
            else
            {
                Console.Out.WriteLine($"{result.ConfigPath}: stanza '{result.Stanza}', key {result.Encryption}: readable by {result.Account}.");
            }

            return Task.FromResult(Runner.Success);
        });
        return command;
    }
}
