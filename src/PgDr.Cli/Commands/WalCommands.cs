using System.CommandLine;
using System.Globalization;
using PgDr.Archive.Async;
using PgDr.Archive.Configuration;
using PgDr.Archive.Server;
using PgDr.Archive.Transfer;
using PgDr.Cli.Output;
using PgDr.Errors;

namespace PgDr.Cli.Commands;

/// <summary>
/// pgdr wal push|fetch|list|verify. push and fetch are PostgreSQL's archive_command and restore_command
/// (ARCHITECTURE.md gives their contracts); list is Get-PgWalArchive, verify is Test-PgWalArchive.
/// </summary>
internal static class WalCommands
{
    private static readonly Option<string?> Config = new("--config")
    {
        Description = "The PgDr configuration file (default: $PGDR_CONFIG, else /etc/pgdr/pgdr.json).",
        Recursive = true,
    };

    public static Command Build()
    {
        var command = new Command("wal", "Archive WAL to the configured repositories and fetch it back.");
        command.Options.Add(Config);
        command.Subcommands.Add(BuildPush());
        command.Subcommands.Add(BuildFetch());
        command.Subcommands.Add(BuildList());
        command.Subcommands.Add(BuildVerify());
        command.Subcommands.Add(BuildPushWorker());
        command.Subcommands.Add(BuildFetchWorker());
        return command;
    }

    private static Command BuildPush()
    {
        var path = new Argument<string>("path") { Description = "The WAL file to archive (archive_command's %p)." };
        var command = new Command("push", "Archive one WAL file; exit 0 only when every required repository holds it. Use as archive_command = 'pgdr wal push --config FILE %p'.");
        command.Arguments.Add(path);
        Runner.SetAction(command, async (parse, progress, ct) =>
        {
            if (PgDrBuild.Current == PgDrBuildKind.FrameworkDependent)
            {
                // archive_command's stderr goes to the server log: the one place an admin looks when archiving lags.
                Console.Error.WriteLine(PgDrBuild.SlowBuildWarning);
            }

            var config = PgDrConfig.Load(parse.GetValue(Config));
            if (config.Async is not null)
            {
                // Async mode: the worker pushes (and has usually pushed already); this only collects its verdict.
                var acknowledged = await AsyncWalPush.PushAsync(
                    config, parse.GetValue(path)!, new AsyncWalPushOptions { AcknowledgementTimeout = TimeSpan.FromSeconds(config.Async!.AcknowledgementSeconds) }, ct).ConfigureAwait(false);
                if (parse.GetValue(CommonOptions.Json))
                {
                    JsonOutput.Write(acknowledged, PgDrJsonContext.Default.AsyncWalPushResult);
                }

                return Runner.Success;
            }

            var result = await WalPushService.PushAsync(config, parse.GetValue(path)!, ct).ConfigureAwait(false);
            foreach (var failed in result.Repositories.Where(r => r.Outcome == PushOutcome.Failed))
            {
                // Only repositories that are not required can fail without failing the push: say so, once.
                Console.Error.WriteLine($"pgdr: warning: {failed.Error} [{failed.ErrorId}]");
            }

            if (parse.GetValue(CommonOptions.Json))
            {
                JsonOutput.Write(result, PgDrJsonContext.Default.WalPushResult);
            }

            return Runner.Success;
        });
        return command;
    }

    private static Command BuildFetch()
    {
        var name = new Argument<string>("wal-file") { Description = "The WAL file name (restore_command's %f)." };
        var destination = new Argument<string>("destination") { Description = "Where to put it (restore_command's %p)." };
        var command = new Command("fetch", "Fetch one WAL file, verified, to a destination. Exit 1 quietly when no repository has it. Use as restore_command = 'pgdr wal fetch --config FILE %f %p'.");
        command.Arguments.Add(name);
        command.Arguments.Add(destination);
        command.SetAction(async (parse, ct) =>
        {
            try
            {
                var config = PgDrConfig.Load(parse.GetValue(Config));
                var result = config.Async is null
                    ? await WalFetchService.FetchAsync(config, parse.GetValue(name)!, parse.GetValue(destination)!, ct).ConfigureAwait(false)
                    : await AsyncWalFetch.FetchAsync(config, parse.GetValue(name)!, parse.GetValue(destination)!, options: null, ct).ConfigureAwait(false);
                if (parse.GetValue(CommonOptions.Json))
                {
                    JsonOutput.Write(result, PgDrJsonContext.Default.WalFetchResult);
                }

                return Runner.Success;
            }
            catch (PgDrException ex) when (ex.ErrorId == ErrorIds.WalNotFound)
            {
                // PostgreSQL probes for files that do not exist yet (the next segment, .history files): not worth a line.
                return 1;
            }
            catch (PgDrException ex)
            {
                Runner.WriteError(ex);
                return Runner.Failure;
            }
        });
        return command;
    }

    /// <summary>Internal: started by pgdr wal push in async mode; documented so an admin who sees it in ps knows what it is.</summary>
    private static Command BuildPushWorker()
    {
        var pgWal = new Option<string>("--pg-wal") { Description = "The cluster's pg_wal directory.", Required = true };
        var command = new Command("push-worker", "Internal (started by 'pgdr wal push' in async mode): pushes the segments PostgreSQL marked ready, several at once, and acknowledges them in the spool; exits when idle.")
        {
            Hidden = true,
        };
        command.Options.Add(pgWal);
        command.SetAction(async (parse, ct) =>
        {
            var config = PgDrConfig.Load(parse.GetValue(Config));
            var spool = AsyncSpool.For(config).EnsureDirectories();
            using var log = WorkerLog.Open(spool.PushLogPath);
            try
            {
                var result = await WalPushWorker.RunAsync(config, new WalPushWorkerOptions { PgWalDirectory = parse.GetValue(pgWal)!, Log = log }, ct).ConfigureAwait(false);
                return result.Failed == 0 ? Runner.Success : Runner.Unhealthy;
            }
            catch (PgDrException ex)
            {
                log.WriteLine($"push-worker: {ex.Message} [{ex.ErrorId}]");
                return Runner.Failure;
            }
        });
        return command;
    }

    /// <summary>Internal: started by pgdr wal fetch in async mode.</summary>
    private static Command BuildFetchWorker()
    {
        var command = new Command("fetch-worker", "Internal (started by 'pgdr wal fetch' in async mode): prefetches the segments after the one last fetched into the spool; exits when idle.")
        {
            Hidden = true,
        };
        command.SetAction(async (parse, ct) =>
        {
            var config = PgDrConfig.Load(parse.GetValue(Config));
            var spool = AsyncSpool.For(config).EnsureDirectories();
            using var log = WorkerLog.Open(spool.FetchLogPath);
            try
            {
                await WalPrefetchWorker.RunAsync(config, new WalPrefetchWorkerOptions { Log = log }, ct).ConfigureAwait(false);
                return Runner.Success;
            }
            catch (PgDrException ex)
            {
                log.WriteLine($"fetch-worker: {ex.Message} [{ex.ErrorId}]");
                return Runner.Failure;
            }
        });
        return command;
    }

    private static Command BuildList()
    {
        var repository = new Option<string?>("--repository") { Description = "Only this repository." };
        var command = new Command("list", "What each repository holds per timeline: first and last segment, count, size, and the gaps that would break recovery. Exit 1 when there are gaps.");
        command.Options.Add(repository);
        Runner.SetAction(command, async (parse, progress, ct) =>
        {
            var config = PgDrConfig.Load(parse.GetValue(Config));
            var timelines = await WalArchiveCatalog.ListAsync(config, parse.GetValue(repository), ct).ConfigureAwait(false);
            if (parse.GetValue(CommonOptions.Json))
            {
                JsonOutput.Write(timelines, PgDrJsonContext.Default.IReadOnlyListPgWalArchiveTimeline);
            }
            else
            {
                Table.Write(
                    timelines,
                    ("Repository", t => t.Repository),
                    ("TL", t => t.Timeline.ToString(CultureInfo.InvariantCulture)),
                    ("First", t => t.FirstSegment),
                    ("Last", t => t.LastSegment),
                    ("Segments", t => t.SegmentCount.ToString(CultureInfo.InvariantCulture)),
                    ("Stored", t => PgDr.Bytes.Format(t.StoredBytes)),
                    ("Gaps", t => t.Gaps.Count == 0 ? "none" : string.Join(", ", t.Gaps.Select(g => $"{g.FirstMissing}..{g.LastMissing}"))));
            }

            return timelines.All(t => t.Continuous) ? Runner.Success : Runner.Unhealthy;
        });
        return command;
    }

    private static Command BuildVerify()
    {
        var repository = new Option<string?>("--repository") { Description = "Only this repository." };
        var command = new Command(
            "verify",
            "Read every archived WAL object back with the configured key (encryption.keyFile or keyEnv) and check it as a restore would, writing nothing. Exit 1 when an object fails verification.");
        command.Options.Add(repository);
        Runner.SetAction(command, async (parse, progress, ct) =>
        {
            // The key comes from the configuration only: an option holding it would show in ps output and shell history.
            var config = PgDrConfig.Load(parse.GetValue(Config));
            var results = await WalArchiveVerifier.VerifyAsync(config, new WalArchiveVerifyOptions { Repository = parse.GetValue(repository) }, progress, ct).ConfigureAwait(false);
            TerminalProgress.Clear();
            if (parse.GetValue(CommonOptions.Json))
            {
                JsonOutput.Write(results, PgDrJsonContext.Default.IReadOnlyListPgWalArchiveVerification);
            }
            else
            {
                Table.Write(
                    results,
                    ("Repository", r => r.Repository),
                    ("Verified", r => r.VerifiedCount.ToString(CultureInfo.InvariantCulture)),
                    ("Failed", r => r.FailedCount.ToString(CultureInfo.InvariantCulture)),
                    ("WAL", r => PgDr.Bytes.Format(r.PlaintextBytes)),
                    ("Stored", r => PgDr.Bytes.Format(r.StoredBytes)),
                    ("Readable", r => r.Readable));
                var failures = results.SelectMany(r => r.Failures.Select(f => (r.Repository, Failure: f))).ToList();
                if (failures.Count > 0)
                {
                    Console.Out.WriteLine();
                    Table.Write(
                        failures,
                        ("Repository", f => f.Repository),
                        ("File", f => f.Failure.WalFileName),
                        ("Error", f => f.Failure.ErrorId),
                        ("Why", f => f.Failure.Message));
                }
            }

            foreach (var failed in results.Where(r => r.Exception is not null))
            {
                Runner.WriteError(failed.Exception!);
            }

            return results.Any(r => r.Exception is not null) ? Runner.Failure
                : results.All(r => r.Readable) ? Runner.Success
                : Runner.Unhealthy;
        });
        return command;
    }
}
