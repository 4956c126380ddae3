using System.CommandLine;
using PgDr.Archive.Configuration;
using PgDr.Archive.Stanza;
using PgDr.Cli.Output;

namespace PgDr.Cli.Commands;

/// <summary>pgdr repo create: New-PgWalRepository.</summary>
internal static class RepoCommands
{
    public static Command Build()
    {
        var command = new Command("repo", "Prepare the configured WAL repositories.");
        command.Subcommands.Add(BuildCreate());
        return command;
    }

    private static Command BuildCreate()
    {
        var instance = CommonOptions.Instance();
        var config = new Option<string?>("--config") { Description = "The PgDr configuration file (default: $PGDR_CONFIG, else /etc/pgdr/pgdr.json)." };
        var repository = new Option<string?>("--repository") { Description = "Only this repository." };
        var whatIf = new Option<bool>("--what-if") { Description = "List every step and change nothing." };
        var command = new Command(
            "create",
            "Create each configured repository for the node's cluster (pgBackRest's stanza-create): the directory owned by the account PostgreSQL runs as (mode 0750), or the bucket or container; the stanza's identity; then check the archiving account can write there.");
        command.Arguments.Add(instance);
        command.Options.Add(config);
        command.Options.Add(repository);
        command.Options.Add(whatIf);
        CommonOptions.AddConnectionOptions(command);
        Runner.SetAction(command, async (parse, progress, ct) =>
        {
            var loaded = PgDrConfig.Load(parse.GetValue(config));
            var node = CommonOptions.ToInstance(parse, parse.GetValue(instance)!);
            var results = parse.GetValue(whatIf)
                ? await WalRepositoryService.PlanAsync(node, loaded, parse.GetValue(repository), ct).ConfigureAwait(false)
                : await WalRepositoryService.CreateAsync(node, loaded, parse.GetValue(repository), ct).ConfigureAwait(false);
            if (parse.GetValue(CommonOptions.Json))
            {
                JsonOutput.Write(results, PgDrJsonContext.Default.IReadOnlyListPgWalRepository);
            }
            else
            {
                Table.Write(
                    results,
                    ("Repository", r => r.Repository),
                    ("Type", r => r.Type),
                    ("Location", r => r.Location),
                    ("Stanza", r => r.Stanza),
                    ("Created", r => r.StoreCreated),
                    ("Identity written", r => r.IdentityCreated),
                    ("Owner", r => r.Owner),
                    ("Access checked", r => r.AccessChecked));
                if (parse.GetValue(whatIf))
                {
                    foreach (var result in results)
                    {
                        Console.Out.WriteLine($"What if: {result.Repository}: {string.Join("; ", result.Actions)}");
                    }
                }
            }

            return Runner.Success;
        });
        return command;
    }
}
