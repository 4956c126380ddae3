using System.CommandLine;
using PgDr.Cli.Output;
using PgDr.Hosting.Services;
using PgDr.Replication.Standby;

namespace PgDr.Cli.Commands;

/// <summary>pgdr standby create: New-PgStandby.</summary>
internal static class StandbyCommands
{
    /// <summary>Where the replication role's password comes from: never the command line, which ps shows.</summary>
    public const string PasswordVariable = "PGDR_REPLICATION_PASSWORD";

    public static Command Build()
    {
        var command = new Command("standby", "Build standbys on this host.");
        command.Subcommands.Add(BuildCreate());
        return command;
    }

    private static Command BuildCreate()
    {
        var upstream = new Argument<string>("upstream") { Description = "The node to copy and stream from: the primary, or a standby for a cascade (host:port, URI or connection string)." };
        var dataDir = new Option<string>("--data-dir", "-D") { Description = "The standby's data directory: new or empty unless --force.", Required = true };
        var name = new Option<string>("--name") { Description = "application_name and cluster_name (default: this host's name).", DefaultValueFactory = _ => Environment.MachineName.ToLowerInvariant() };
        var slot = new Option<string?>("--slot") { Description = "The slot on the upstream (default: made from --name)." };
        var createSlot = new Option<bool>("--create-slot") { Description = "Create the slot on the upstream." };
        var replicationUser = new Option<string?>("--replication-user") { Description = $"The role the standby replicates as (default: --user). Its password comes from {PasswordVariable} (else PGPASSWORD when it is the same user) and goes only into the 0600 password file." };
        var passwordFile = new Option<string?>("--password-file") { Description = "The password file primary_conninfo names: written when a password is given (default: <data dir>.pgpass), else it must hold the entry." };
        var port = new Option<int?>("--port") { Description = "The port the standby listens on (default: the upstream's setting)." };
        var config = new Option<string?>("--config") { Description = "A PgDr configuration: restore_command = pgdr wal fetch from its archive." };
        var pgdr = new Option<string?>("--pgdr") { Description = "The pgdr restore_command runs (default: /usr/bin/pgdr, else /usr/local/bin/pgdr, else this pgdr, the first the postgres account can run)." };
        var systemId = new Option<ulong?>("--system-identifier") { Description = "The system identifier the upstream must have." };
        var service = new Option<string>("--service") { Description = "What starts the standby: auto, pg_ctl, systemd:<unit>, windows:<service>.", DefaultValueFactory = _ => "auto" };
        var binDir = new Option<string?>("--bin-dir") { Description = "PostgreSQL's bin directory (found automatically otherwise)." };
        var account = new Option<string?>("--service-account") { Description = "The OS account PostgreSQL runs as when pgdr runs as root (default postgres)." };
        var timeout = new Option<int>("--timeout") { Description = "Seconds the started standby may take to stream (default 120).", DefaultValueFactory = _ => 120 };
        var force = new Option<bool>("--force") { Description = "Replace a data directory that is not empty (set aside, deleted once the standby streams)." };
        var whatIf = new Option<bool>("--what-if") { Description = "Check everything and list the changes; make none." };
        var command = new Command("create", "Build a standby on this host with pg_basebackup -S slot -X stream -c fast, start it and wait until it streams.");
        command.Arguments.Add(upstream);
        foreach (var option in new Option[] { dataDir, name, slot, createSlot, replicationUser, passwordFile, port, config, pgdr, systemId, service, binDir, account, timeout, force, whatIf })
        {
            command.Options.Add(option);
        }

        CommonOptions.AddConnectionOptions(command);
        Runner.SetAction(command, async (parse, progress, ct) =>
        {
            var upstreamInstance = CommonOptions.ToInstance(parse, parse.GetValue(upstream)!);
            var user = parse.GetValue(replicationUser);
            var password = Environment.GetEnvironmentVariable(PasswordVariable);
            if (string.IsNullOrEmpty(password) && (user is null || user == upstreamInstance.Username))
            {
                // The same role replicates as it checks: the password libpq and Npgsql take from the environment.
                password = Environment.GetEnvironmentVariable("PGPASSWORD");
            }

            var request = new StandbyRequest
            {
                Upstream = upstreamInstance,
                DataDirectory = Path.GetFullPath(parse.GetValue(dataDir)!),
                Name = parse.GetValue(name)!,
                SlotName = parse.GetValue(slot),
                CreateSlot = parse.GetValue(createSlot),
                ReplicationUser = user,
                ReplicationPassword = string.IsNullOrEmpty(password) ? null : password,
                PasswordFile = parse.GetValue(passwordFile) is { } file ? Path.GetFullPath(file) : null,
                Port = parse.GetValue(port),
                ConfigPath = parse.GetValue(config) is { } c ? Path.GetFullPath(c) : null,
                PgDrPath = parse.GetValue(pgdr),
                SystemIdentifier = parse.GetValue(systemId),
                Service = PgServiceSpec.Parse(parse.GetValue(service)).With(parse.GetValue(binDir), parse.GetValue(account)),
                StreamingTimeout = TimeSpan.FromSeconds(parse.GetValue(timeout)),
                Force = parse.GetValue(force),
            };

            if (parse.GetValue(whatIf))
            {
                var plan = await StandbyService.PlanAsync(request, ct).ConfigureAwait(false);
                foreach (var action in plan.Actions)
                {
                    Console.Out.WriteLine("What if: " + action);
                }

                return Runner.Success;
            }

            var standby = await StandbyService.CreateAsync(request, progress, ct).ConfigureAwait(false);
            TerminalProgress.Clear();
            if (parse.GetValue(CommonOptions.Json))
            {
                JsonOutput.Write(standby, PgDrJsonContext.Default.PgStandby);
            }
            else
            {
                Console.Out.WriteLine($"Standby {standby.Name} ({standby.NodeName}) streams from {standby.UpstreamName} through slot {standby.SlotName}; copied {Bytes.Format(standby.CopiedBytes)} in {standby.Duration.TotalSeconds:0.0} s.");
                Table.Write(standby.Steps, ("Step", s => s.Name), ("Took", s => s.Duration));
                foreach (var warning in standby.Warnings)
                {
                    Console.Error.WriteLine("pgdr: warning: " + warning);
                }
            }

            return Runner.Success;
        });
        return command;
    }
}
