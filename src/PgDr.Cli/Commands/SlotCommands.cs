using System.CommandLine;
using System.Globalization;
using PgDr.Cli.Output;
using PgDr.Replication;

namespace PgDr.Cli.Commands;

/// <summary>pgdr slot list|create|drop|test: Get-, New-, Remove-, Test-PgReplicationSlot.</summary>
internal static class SlotCommands
{
    public static Command Build()
    {
        var command = new Command("slot", "Physical replication slots: list, create, drop, test.");
        command.Subcommands.Add(BuildList());
        command.Subcommands.Add(BuildCreate());
        command.Subcommands.Add(BuildDrop());
        command.Subcommands.Add(BuildTest());
        return command;
    }

    private static Command BuildList()
    {
        var instance = CommonOptions.Instance();
        var names = new Option<string[]>("--name") { Description = "Slot names; * and ? match any characters.", AllowMultipleArgumentsPerToken = true };
        var command = new Command("list", "List the replication slots of a node and the WAL each one retains.");
        command.Arguments.Add(instance);
        command.Options.Add(names);
        CommonOptions.AddConnectionOptions(command);
        Runner.SetAction(command, async (parse, progress, ct) =>
        {
            var slots = await ReplicationSlotService.GetSlotsAsync(CommonOptions.ToInstance(parse, parse.GetValue(instance)!), parse.GetValue(names), ct).ConfigureAwait(false);
            if (parse.GetValue(CommonOptions.Json))
            {
                JsonOutput.Write(slots, PgDrJsonContext.Default.IReadOnlyListPgReplicationSlot);
            }
            else
            {
                WriteSlots(slots);
            }

            return Runner.Success;
        });
        return command;
    }

    private static Command BuildCreate()
    {
        var instance = CommonOptions.Instance();
        var name = new Argument<string>("name") { Description = "Slot name: lower-case letters, digits, underscores." };
        var allowStandby = new Option<bool>("--allow-standby") { Description = "Create the slot even though the node is a standby (for a cascading standby)." };
        var command = new Command("create", "Create a physical replication slot that reserves WAL at once.");
        command.Arguments.Add(instance);
        command.Arguments.Add(name);
        command.Options.Add(allowStandby);
        CommonOptions.AddConnectionOptions(command);
        Runner.SetAction(command, async (parse, progress, ct) =>
        {
            var slot = await ReplicationSlotService.CreatePhysicalSlotAsync(
                CommonOptions.ToInstance(parse, parse.GetValue(instance)!), parse.GetValue(name)!, parse.GetValue(allowStandby), ct).ConfigureAwait(false);
            if (parse.GetValue(CommonOptions.Json))
            {
                JsonOutput.Write(slot, PgDrJsonContext.Default.PgReplicationSlot);
            }
            else
            {
                WriteSlots([slot]);
            }

            return Runner.Success;
        });
        return command;
    }

    private static Command BuildDrop()
    {
        var instance = CommonOptions.Instance();
        var name = new Argument<string>("name") { Description = "The slot to drop." };
        var command = new Command("drop", "Drop a replication slot no standby is using, and say how much retained WAL that frees.");
        command.Arguments.Add(instance);
        command.Arguments.Add(name);
        CommonOptions.AddConnectionOptions(command);
        Runner.SetAction(command, async (parse, progress, ct) =>
        {
            var removal = await ReplicationSlotService.DropSlotAsync(CommonOptions.ToInstance(parse, parse.GetValue(instance)!), parse.GetValue(name)!, ct).ConfigureAwait(false);
            if (parse.GetValue(CommonOptions.Json))
            {
                JsonOutput.Write(removal, PgDrJsonContext.Default.PgReplicationSlotRemoval);
            }
            else
            {
                Console.Out.WriteLine($"Dropped slot '{removal.SlotName}' on {removal.NodeName}; it retained {Bytes.Format(removal.FreedBytes)} of WAL ({removal.FreedBytes} bytes).");
            }

            return Runner.Success;
        });
        return command;
    }

    private static Command BuildTest()
    {
        var instance = CommonOptions.Instance();
        var names = new Option<string[]>("--name") { Description = "Slot names; * and ? match any characters.", AllowMultipleArgumentsPerToken = true };
        var maxRetained = new Option<long?>("--max-retained-bytes") { Description = "A slot retaining more WAL than this is unhealthy." };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Print nothing; the exit code says it (0 all healthy, 1 not)." };
        var command = new Command("test", "Judge each slot: active, wal_status, retained WAL. Exit 1 when any slot is unhealthy.");
        command.Arguments.Add(instance);
        command.Options.Add(names);
        command.Options.Add(maxRetained);
        command.Options.Add(quiet);
        CommonOptions.AddConnectionOptions(command);
        Runner.SetAction(command, async (parse, progress, ct) =>
        {
            var results = await ReplicationSlotService.TestSlotsAsync(
                CommonOptions.ToInstance(parse, parse.GetValue(instance)!), parse.GetValue(names), parse.GetValue(maxRetained), ct).ConfigureAwait(false);
            if (parse.GetValue(quiet))
            {
                // Nothing to print.
            }
            else if (parse.GetValue(CommonOptions.Json))
            {
                JsonOutput.Write(results, PgDrJsonContext.Default.IReadOnlyListPgReplicationSlotHealth);
            }
            else
            {
                Table.Write(
                    results,
                    ("Node", h => h.NodeName),
                    ("Slot", h => h.SlotName),
                    ("Active", h => h.Active),
                    ("WAL status", h => h.WalStatus),
                    ("Retained", h => Bytes.Format(h.RetainedBytes)),
                    ("Safe WAL size", h => h.SafeWalSize is { } s ? Bytes.Format(s) : "unlimited"),
                    ("Healthy", h => h.Healthy),
                    ("Reasons", h => h.Reasons));
            }

            return results.All(r => r.Healthy) ? Runner.Success : Runner.Unhealthy;
        });
        return command;
    }

    private static void WriteSlots(IReadOnlyList<PgReplicationSlot> slots) =>
        Table.Write(
            slots,
            ("Node", s => s.NodeName),
            ("Slot", s => s.SlotName),
            ("Type", s => s.SlotType),
            ("Active", s => s.Active),
            ("Restart LSN", s => s.RestartLsn),
            ("WAL status", s => s.WalStatus),
            ("Retained", s => Bytes.Format(s.RetainedBytes)),
            ("Retained bytes", s => s.RetainedBytes.ToString(CultureInfo.InvariantCulture)));
}
