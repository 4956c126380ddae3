using System.CommandLine;
using System.Globalization;
using PgDr.Cli.Output;
using PgDr.Failover;
using PgDr.Failover.Lease;
using PgDr.Failover.Measurement;
using PgDr.Failover.Rejoin;
using PgDr.Failover.Switchover;

namespace PgDr.Cli.Commands;

/// <summary>pgdr failover | switchover | rejoin | lease show: Invoke-PgFailover, Invoke-PgSwitchover, Join-PgCluster, Get-PgDrLease.</summary>
internal static class FailoverCommands
{
    private static readonly Option<string?> Config = new("--config")
    {
        Description = "PgDr configuration whose lease repository keeps the single-writer lease (default: PGDR_CONFIG, else the system file).",
    };

    private static readonly Option<bool> WhatIf = new("--what-if")
    {
        Description = "Run the checks and list every change, old -> new, without making any.",
    };

    public static IEnumerable<Command> Build() => [BuildFailover(), BuildSwitchover(), BuildRejoin(), BuildLease()];

    private static Command BuildFailover()
    {
        var target = CommonOptions.Instance();
        var oldPrimary = new Option<string?>("--old-primary") { Description = "The primary being replaced (default: the lease holder, else the target's upstream)." };
        var maxLoss = new Option<long>("--max-data-loss") { Description = "The most WAL, in bytes, the promotion may leave behind (default 0)." };
        var repoint = new Option<string[]>("--repoint") { Description = "Other standbys to point at the new primary.", AllowMultipleArgumentsPerToken = true };
        var catchUp = new Option<double>("--catch-up-timeout") { Description = "Seconds the target may take, after the fence, to receive the old primary's last WAL.", DefaultValueFactory = _ => 10 };
        var force = new Option<bool>("--force") { Description = "Accept data loss (beyond the limit, or unknown) and promote without fence or lease. Never overrides --what-if." };
        var command = new Command("failover", "Promote a standby when the primary is lost: fence, lease, promote, first write; prints the measured RTO and RPO.");
        command.Arguments.Add(target);
        foreach (var option in new Option[] { oldPrimary, maxLoss, repoint, catchUp, force, Config, WhatIf })
        {
            command.Options.Add(option);
        }

        CommonOptions.AddConnectionOptions(command);
        Runner.SetAction(command, async (parse, progress, ct) =>
        {
            var lease = LeaseStore.OpenConfigured(parse.GetValue(Config));
            await using var leaseScope = Scope(lease).ConfigureAwait(false);
            var request = new FailoverRequest
            {
                Target = CommonOptions.ToInstance(parse, parse.GetValue(target)!),
                OldPrimary = parse.GetValue(oldPrimary) is { } old ? CommonOptions.ToInstance(parse, old) : null,
                Lease = lease,
                MaxDataLossBytes = parse.GetValue(maxLoss),
                Repoint = (parse.GetValue(repoint) ?? []).Select(r => CommonOptions.ToInstance(parse, r)).ToList(),
                CatchUpTimeout = TimeSpan.FromSeconds(parse.GetValue(catchUp)),
                Force = parse.GetValue(force),
            };
            if (parse.GetValue(WhatIf))
            {
                var plan = await FailoverService.PlanAsync(request, ct).ConfigureAwait(false);
                WritePlan(parse, plan.Changes, plan.TargetName);
                return Runner.Success;
            }

            var result = await FailoverService.RunAsync(request, progress, ct).ConfigureAwait(false);
            TerminalProgress.Clear();
            if (parse.GetValue(CommonOptions.Json))
            {
                JsonOutput.Write(result, PgDrJsonContext.Default.PgFailoverResult);
                return Runner.Success;
            }

            Console.Out.WriteLine($"Promoted {result.NewPrimary} ({result.Instance}) on timeline {result.NewTimeline}.");
            Console.Out.WriteLine($"RTO {Seconds(result.Rto)} (call -> first accepted write)   RPO {result.Rpo}");
            Console.Out.WriteLine($"Old primary {result.OldPrimary ?? "(unknown)"}: {(result.OldPrimaryFenced ? "fenced (" + result.FenceMethod + ")" : "NOT fenced")}: {result.FenceDetail}");
            Console.Out.WriteLine($"Lease: {(result.LeaseTaken ? $"held by {result.NewPrimary}, generation {result.LeaseGeneration}" : "not taken: " + result.LeaseDetail)}");
            WriteSteps(result.Steps);
            foreach (var r in result.Repointed)
            {
                Console.Out.WriteLine($"Repoint {r}");
            }

            return Runner.Success;
        });
        return command;
    }

    private static Command BuildSwitchover()
    {
        var target = CommonOptions.Instance();
        var oldPrimary = new Option<string?>("--old-primary") { Description = "The primary that becomes a standby (default: the target's upstream)." };
        var maxLag = new Option<long>("--max-lag") { Description = "Refuse when the target is further behind than this many bytes (default 16 MiB).", DefaultValueFactory = _ => 16 * 1024 * 1024 };
        var repoint = new Option<string[]>("--repoint") { Description = "Other standbys to point at the new primary.", AllowMultipleArgumentsPerToken = true };
        var command = new Command("switchover", "Swap the primary and a standby without losing a committed transaction; the old primary becomes a standby.");
        command.Arguments.Add(target);
        foreach (var option in new Option[] { oldPrimary, maxLag, repoint, Config, WhatIf })
        {
            command.Options.Add(option);
        }

        CommonOptions.AddConnectionOptions(command);
        Runner.SetAction(command, async (parse, progress, ct) =>
        {
            var lease = LeaseStore.OpenConfigured(parse.GetValue(Config));
            await using var leaseScope = Scope(lease).ConfigureAwait(false);
            var request = new SwitchoverRequest
            {
                Target = CommonOptions.ToInstance(parse, parse.GetValue(target)!),
                OldPrimary = parse.GetValue(oldPrimary) is { } old ? CommonOptions.ToInstance(parse, old) : null,
                Lease = lease,
                MaxLagBytes = parse.GetValue(maxLag),
                Repoint = (parse.GetValue(repoint) ?? []).Select(r => CommonOptions.ToInstance(parse, r)).ToList(),
            };
            if (parse.GetValue(WhatIf))
            {
                WritePlan(parse, await SwitchoverService.PlanAsync(request, ct).ConfigureAwait(false), request.Target.Name);
                return Runner.Success;
            }

            var result = await SwitchoverService.RunAsync(request, progress, ct).ConfigureAwait(false);
            TerminalProgress.Clear();
            if (parse.GetValue(CommonOptions.Json))
            {
                JsonOutput.Write(result, PgDrJsonContext.Default.PgSwitchoverResult);
                return Runner.Success;
            }

            Console.Out.WriteLine($"{result.OldPrimary} -> {result.NewPrimary} ({result.Instance}), timeline {result.NewTimeline}; final position {result.FinalLsn} replayed before the promotion.");
            Console.Out.WriteLine($"Writes unavailable {Seconds(result.WriteUnavailable)}; RTO {Seconds(result.Rto)}; {result.OldPrimary} {(result.OldPrimaryStreaming ? "streams" : "does NOT stream yet")} from {result.NewPrimary}.");
            WriteSteps(result.Steps);
            return Runner.Success;
        });
        return command;
    }

    private static Command BuildRejoin()
    {
        var dataDirectory = new Argument<string>("data-directory") { Description = "The node's data directory on this host." };
        var primary = new Option<string?>("--primary") { Description = "The primary to follow (default: the lease holder)." };
        var force = new Option<bool>("--force") { Description = "Rewind even when the node holds committed transactions the new primary lacks (they are discarded)." };
        var command = new Command("rejoin", "Bring a failed old primary back as a standby of the new primary: follow, pg_rewind, or a refusal when it would discard data.");
        command.Arguments.Add(dataDirectory);
        command.Options.Add(primary);
        command.Options.Add(force);
        command.Options.Add(Config);
        CommonOptions.AddConnectionOptions(command);
        Runner.SetAction(command, async (parse, progress, ct) =>
        {
            var lease = LeaseStore.OpenConfigured(parse.GetValue(Config));
            await using var leaseScope = Scope(lease).ConfigureAwait(false);
            var result = await RejoinService.RunAsync(
                new RejoinRequest
                {
                    DataDirectory = Path.GetFullPath(parse.GetValue(dataDirectory)!),
                    NewPrimary = parse.GetValue(primary) is { } p ? CommonOptions.ToInstance(parse, p) : null,
                    Credentials = CommonOptions.ToInstance(parse, "127.0.0.1"),
                    Lease = lease,
                    AllowDataLoss = parse.GetValue(force),
                },
                progress,
                ct).ConfigureAwait(false);
            TerminalProgress.Clear();
            if (parse.GetValue(CommonOptions.Json))
            {
                JsonOutput.Write(result, PgDrJsonContext.Default.PgRejoinResult);
                return Runner.Success;
            }

            Console.Out.WriteLine($"{result.Node} ({result.Instance}): {result.Method}{(result.ForkPoint is { } f ? $" (fork at {f}, {result.DiscardedRecords} record(s) and {result.DiscardedTransactions} transaction(s) discarded)" : string.Empty)}; "
                + $"{(result.Streaming ? "streams" : "does NOT stream yet")} from {result.NewPrimary}.");
            WriteSteps(result.Steps);
            return Runner.Success;
        });
        return command;
    }

    private static Command BuildLease()
    {
        var show = new Command("show", "Read the single-writer lease: holder, generation (fencing term), timeline, TTL. Exit 1 when none was ever taken.");
        show.Options.Add(Config);
        Runner.SetAction(show, async (parse, progress, ct) =>
        {
            var store = LeaseStore.Open(PgDr.Archive.Configuration.PgDrConfig.Load(parse.GetValue(Config)));
            await using var storeScope = store.ConfigureAwait(false);
            var lease = await store.ReadAsync(ct).ConfigureAwait(false);
            if (lease is null)
            {
                Console.Error.WriteLine($"pgdr: no lease was ever taken in repository '{store.Repository}' for stanza '{store.Stanza}'.");
                return Runner.Unhealthy;
            }

            if (parse.GetValue(CommonOptions.Json))
            {
                JsonOutput.Write(lease, PgDrJsonContext.Default.PgDrLease);
            }
            else
            {
                Table.Write(
                    [lease],
                    ("Holder", l => l.Holder),
                    ("Instance", l => l.HolderInstance),
                    ("Generation", l => l.Generation.ToString(CultureInfo.InvariantCulture)),
                    ("TL", l => l.Timeline),
                    ("TTL", l => l.TtlSeconds),
                    ("Acquired", l => l.AcquiredAt.ToString("u", CultureInfo.InvariantCulture)),
                    ("Repository", l => l.Repository),
                    ("Reason", l => l.Reason));
            }

            return Runner.Success;
        });
        var command = new Command("lease", "The cluster's single-writer lease in the WAL repository.");
        command.Subcommands.Add(show);
        return command;
    }

    private static void WritePlan(ParseResult parse, IReadOnlyList<string> changes, string target)
    {
        if (parse.GetValue(CommonOptions.Json))
        {
            JsonOutput.Write(changes, PgDrJsonContext.Default.IReadOnlyListString);
            return;
        }

        Console.Out.WriteLine($"What if: on {target}, in order:");
        foreach (var change in changes)
        {
            Console.Out.WriteLine("  " + change);
        }
    }

    private static void WriteSteps(IReadOnlyList<PgDrStep> steps) =>
        Table.Write(
            steps,
            ("Step", s => s.Name),
            ("ms", s => ((int)s.Duration.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)),
            ("Share of RTO", s => s.CountsTowardsRto ? s.ShareOfRto.ToString("P0", CultureInfo.InvariantCulture) : "-"),
            ("Detail", s => s.Detail));

    /// <summary>The lease store to dispose at the end of a command, or nothing when no lease is kept.</summary>
    private static IAsyncDisposable Scope(LeaseStore? lease) => lease ?? (IAsyncDisposable)NoLease.Instance;

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture) + " s";

    private sealed class NoLease : IAsyncDisposable
    {
        public static readonly NoLease Instance = new();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
