using System.CommandLine;
using PgDr.Cli.Commands;

namespace PgDr.Cli;

/// <summary>The pgdr command tree. Public so tests can check that every cmdlet has a counterpart here.</summary>
public static class PgDrCli
{
    public static RootCommand BuildRootCommand()
    {
        var root = new RootCommand("PgDr: disaster recovery for PostgreSQL (replication health, WAL archiving, backups, failover).");
        root.Options.Add(CommonOptions.Json);
        root.Subcommands.Add(NodeCommands.Build());
        root.Subcommands.Add(LagCommands.Build());
        root.Subcommands.Add(SlotCommands.Build());
        root.Subcommands.Add(StandbyCommands.Build());
        root.Subcommands.Add(SyncCommands.Build());
        root.Subcommands.Add(SandboxCommands.Build());
        root.Subcommands.Add(ArchivingCommands.Build());
        root.Subcommands.Add(WalCommands.Build());
        root.Subcommands.Add(BackupCommands.Build());
        root.Subcommands.Add(BackupCommands.BuildRestore());
        root.Subcommands.Add(InstallCommands.Build());
        root.Subcommands.Add(ConfigCommands.Build());
        root.Subcommands.Add(RepoCommands.Build());
        root.Subcommands.Add(CheckCommands.Build());
        foreach (var command in FailoverCommands.Build().Concat(AgentCommands.Build()))
        {
            root.Subcommands.Add(command);
        }
        return root;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        var parse = BuildRootCommand().Parse(args);
        return await parse.InvokeAsync().ConfigureAwait(false);
    }
}
