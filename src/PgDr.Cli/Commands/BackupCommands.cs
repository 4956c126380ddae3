using System.CommandLine;
using System.Globalization;
using PgDr.Archive.Configuration;
using PgDr.Backup.Catalog;
using PgDr.Backup.Create;
using PgDr.Backup.Restore;
using PgDr.Cli.Output;
using PgDr.Errors;
using PgDr.Topology;

namespace PgDr.Cli.Commands;

/// <summary>
/// pgdr backup create|list|test|expire and pgdr restore: Backup-PgCluster, Get-PgBackup, Test-PgBackup,
/// Remove-PgBackup and Restore-PgCluster.
/// </summary>
internal static class BackupCommands
{
    private static readonly Option<string?> Config = new("--config")
    {
        Description = "The PgDr configuration file (default: $PGDR_CONFIG, else /etc/pgdr/pgdr.json).",
        Recursive = true,
    };

    public static Command Build()
    {
        var command = new Command("backup", "Base backups in the configured repositories: take, list, prove by restoring, expire.");
        command.Options.Add(Config);
        command.Subcommands.Add(BuildCreate());
        command.Subcommands.Add(BuildList());
        command.Subcommands.Add(BuildTest());
        command.Subcommands.Add(BuildExpire());
        return command;
    }

    private static Command BuildCreate()
    {
        var instance = CommonOptions.Instance();
        var type = new Option<BackupType>("--type") { Description = "full (default), incremental (changes since the latest backup) or differential (since the latest full).", DefaultValueFactory = _ => BackupType.Full };
        var dataDirectory = new Option<string?>("--data-directory") { Description = "The data directory to read (default: the server's data_directory, on this host)." };
        var primary = new Option<string?>("--primary") { Description = "Backing up a standby: its primary, asked for a checkpoint first and a WAL switch at the end." };
        var spread = new Option<bool>("--spread-checkpoint") { Description = "Let pg_backup_start wait for a spread checkpoint instead of a fast one." };
        var archiveTimeout = new Option<int?>("--archive-timeout") { Description = "Seconds to wait for the backup's WAL to reach the repositories (default: backup.archiveTimeoutSeconds, 300)." };
        var compare = new Option<bool>("--compare-checksums") { Description = "Incremental/differential: compare checksums of files whose size and timestamp look unchanged." };
        var parallel = new Option<int?>("--parallel") { Description = "Files read, compressed and uploaded at once (default: backup.parallel, one per core)." };
        var command = new Command("create", "Take a base backup of a cluster on this host (primary or standby) into every configured repository.");
        command.Arguments.Add(instance);
        foreach (var option in new Option[] { type, dataDirectory, primary, spread, archiveTimeout, compare, parallel })
        {
            command.Options.Add(option);
        }

        CommonOptions.AddConnectionOptions(command);
        Runner.SetAction(command, async (parse, progress, ct) =>
        {
            var config = PgDrConfig.Load(parse.GetValue(Config));
            var request = new BackupRequest
            {
                Instance = CommonOptions.ToInstance(parse, parse.GetValue(instance)!),
                Type = parse.GetValue(type),
                DataDirectory = parse.GetValue(dataDirectory),
                Primary = parse.GetValue(primary) is { } p ? CommonOptions.ToInstance(parse, p) : null,
                FastCheckpoint = !parse.GetValue(spread),
                ArchiveTimeout = parse.GetValue(archiveTimeout) is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
                CompareChecksums = parse.GetValue(compare),
                Parallel = parse.GetValue(parallel),
            };
            var result = await BackupService.CreateAsync(config, request, progress, ct).ConfigureAwait(false);
            TerminalProgress.Clear();
            if (parse.GetValue(CommonOptions.Json))
            {
                JsonOutput.Write(result, PgDrJsonContext.Default.PgBackupResult);
            }
            else
            {
                Table.Write(
                    [result],
                    ("Label", r => r.Label),
                    ("Type", r => r.Type),
                    ("Prior", r => r.Prior),
                    ("Files", r => $"{r.StoredFileCount}/{r.FileCount}"),
                    ("Size", r => PgDr.Bytes.Format(r.OriginalBytes)),
                    ("Stored", r => PgDr.Bytes.Format(r.StoredBytes)),
                    ("Duration", r => r.Duration),
                    ("MB/s", r => r.ThroughputMBps.ToString("0", CultureInfo.InvariantCulture)),
                    ("Stop LSN", r => r.StopLsn),
                    ("Repositories", r => r.Repositories));
                foreach (var failed in result.FailedRepositories)
                {
                    Console.Error.WriteLine($"pgdr: warning: {failed}");
                }
            }

            return Runner.Success;
        });
        return command;
    }

    private static Command BuildList()
    {
        var repository = new Option<string?>("--repository") { Description = "Only this repository." };
        var command = new Command("list", "The backups of the stanza in each repository, and the span of time they make restorable, with WAL gaps. Exit 1 when a backup cannot become consistent.");
        command.Options.Add(repository);
        Runner.SetAction(command, async (parse, progress, ct) =>
        {
            var config = PgDrConfig.Load(parse.GetValue(Config));
            var (backups, windows) = await BackupCatalog.ListWithWindowsAsync(config, parse.GetValue(repository), ct).ConfigureAwait(false);
            if (parse.GetValue(CommonOptions.Json))
            {
                JsonOutput.Write(new PgBackupListing { Backups = backups, Windows = windows }, PgDrJsonContext.Default.PgBackupListing);
            }
            else
            {
                Table.Write(
                    backups,
                    ("Repository", b => b.Repository),
                    ("Label", b => b.Label),
                    ("Type", b => b.Type),
                    ("Prior", b => b.Prior),
                    ("Stopped (UTC)", b => b.StopTime.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)),
                    ("Stop LSN", b => b.StopLsn),
                    ("TL", b => b.Timeline.ToString(CultureInfo.InvariantCulture)),
                    ("Size", b => PgDr.Bytes.Format(b.OriginalBytes)),
                    ("Stored", b => PgDr.Bytes.Format(b.StoredBytes)),
                    ("Recoverable until", b => b.Consistent ? b.RecoverableUntilTime?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) : "NOT CONSISTENT"));
                Console.Out.WriteLine();
                foreach (var window in windows)
                {
                    Console.Out.WriteLine(window.From is null
                        ? $"{window.Repository}: nothing restorable."
                        : FormattableString.Invariant($"{window.Repository}: restorable from {window.From.Value.UtcDateTime:yyyy-MM-dd HH:mm:ss} (LSN {window.FromLsn}) to {window.Until?.UtcDateTime:yyyy-MM-dd HH:mm:ss} (LSN {window.UntilLsn}, timeline {window.UntilTimeline})")
                          + (window.Gaps.Count == 0 ? string.Empty : "; WAL gaps: " + string.Join(", ", window.Gaps.Select(g => $"{g.FirstMissing}..{g.LastMissing}"))));
                }
            }

            return backups.All(b => b.Consistent) ? Runner.Success : Runner.Unhealthy;
        });
        return command;
    }

    private static Command BuildTest()
    {
        var label = new Option<string?>("--label") { Description = "The backup to prove (default: the latest)." };
        var since = new Option<string?>("--since") { Description = "Prove every backup whose consistency point is at or after this time (ISO 8601)." };
        var repository = new Option<string?>("--repository") { Description = "The repository to restore from." };
        var time = new Option<string?>("--target-time") { Description = "Replay to this time instead of to consistency." };
        var lsn = new Option<string?>("--target-lsn") { Description = "Replay to this WAL position." };
        var xid = new Option<ulong?>("--target-xid") { Description = "Replay to the commit of this transaction." };
        var name = new Option<string?>("--target-name") { Description = "Replay to this restore point." };
        var tables = new Option<string[]>("--table") { Description = "Count the rows of this table (schema.table; repeatable)." };
        var queries = new Option<string[]>("--query") { Description = "A query that must succeed; a single false result fails (repeatable)." };
        var database = new Option<string>("--database") { Description = "The database of the tables and queries (default postgres).", DefaultValueFactory = _ => "postgres" };
        var noAmcheck = new Option<bool>("--no-amcheck") { Description = "Skip pg_amcheck." };
        var noVerify = new Option<bool>("--no-verify-files") { Description = "Skip pg_verifybackup." };
        var scratch = new Option<string?>("--scratch-directory") { Description = "Where to make the scratch cluster (default: the temp directory)." };
        var binDir = new Option<string?>("--bin-dir") { Description = "PostgreSQL's programs for the backup's major version." };
        var pgdr = new Option<string?>("--pgdr") { Description = "The pgdr the scratch cluster's restore_command runs (default: this pgdr)." };
        var timeout = new Option<int>("--recovery-timeout") { Description = "Seconds replay may take (default 1800).", DefaultValueFactory = _ => 1800 };
        var quiet = new Option<bool>("--quiet") { Description = "Print nothing; the exit code says it: 0 passed, 1 failed." };
        var command = new Command("test", "Prove backups by restoring them into a scratch cluster: restore, pg_verifybackup, start, replay, pg_amcheck, row counts, queries; always cleaned up. Exit 1 when a test fails.");
        foreach (var option in new Option[] { label, since, repository, time, lsn, xid, name, tables, queries, database, noAmcheck, noVerify, scratch, binDir, pgdr, timeout, quiet })
        {
            command.Options.Add(option);
        }

        Runner.SetAction(command, async (parse, progress, ct) =>
        {
            var config = PgDrConfig.Load(parse.GetValue(Config));
            var request = new PgDr.Backup.Verify.BackupTestRequest
            {
                Label = parse.GetValue(label),
                Since = parse.GetValue(since) is { } s ? ParseTime(s) : null,
                Repository = parse.GetValue(repository),
                TargetTime = parse.GetValue(time) is { } t ? ParseTime(t) : null,
                TargetLsn = parse.GetValue(lsn) is { } l ? ParseLsn(l) : null,
                TargetXid = parse.GetValue(xid),
                TargetName = parse.GetValue(name),
                Tables = parse.GetValue(tables) ?? [],
                Queries = parse.GetValue(queries) ?? [],
                Database = parse.GetValue(database)!,
                Amcheck = !parse.GetValue(noAmcheck),
                VerifyFiles = !parse.GetValue(noVerify),
                ScratchDirectory = parse.GetValue(scratch),
                BinDirectory = parse.GetValue(binDir),
                PgDrPath = parse.GetValue(pgdr) ?? OwnExecutable(),
                RecoveryTimeout = TimeSpan.FromSeconds(parse.GetValue(timeout)),
            };
            var results = await PgDr.Backup.Verify.BackupTestService.TestAsync(config, request, progress, ct).ConfigureAwait(false);
            TerminalProgress.Clear();
            if (parse.GetValue(quiet))
            {
                return results.All(r => r.Success) ? Runner.Success : Runner.Unhealthy;
            }

            if (parse.GetValue(CommonOptions.Json))
            {
                JsonOutput.Write(results, PgDrJsonContext.Default.IReadOnlyListPgBackupTest);
            }
            else
            {
                foreach (var result in results)
                {
                    Console.Out.WriteLine(FormattableString.Invariant($"{result.Label} ({result.Repository}, {result.Type}) to {result.Target}: {(result.Success ? "PASSED" : "FAILED")} in {result.TotalDuration.TotalSeconds:0.0} s"));
                    Table.Write(
                        result.Steps,
                        ("Step", s => s.Name),
                        ("Result", s => s.Success is null ? "skipped" : s.Success.Value ? "passed" : "FAILED"),
                        ("Seconds", s => s.Duration.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture)),
                        ("Detail", s => s.Detail));
                    Console.Out.WriteLine();
                }
            }

            return results.All(r => r.Success) ? Runner.Success : Runner.Unhealthy;
        });
        return command;
    }

    private static Command BuildExpire()
    {
        var keepFull = new Option<int?>("--keep-full") { Description = "Keep this many full backups, newest first, with the backups built on them." };
        var keepDays = new Option<int?>("--keep-days") { Description = "Keep whatever restores to any moment of the last this many days." };
        var labels = new Option<string[]>("--label") { Description = "Remove this backup and those built on it (repeatable), instead of a rule." };
        var repository = new Option<string?>("--repository") { Description = "Only this repository." };
        var keepWal = new Option<bool>("--keep-wal") { Description = "Keep the archived WAL even when no kept backup needs it." };
        var whatIf = new Option<bool>("--what-if") { Description = "List exactly what would be removed; remove nothing." };
        var command = new Command("expire", "Remove backups no retention rule keeps (the newest full backup and those built on it always stay), the WAL no kept backup needs, and leftovers of backups that never completed.");
        foreach (var option in new Option[] { keepFull, keepDays, labels, repository, keepWal, whatIf })
        {
            command.Options.Add(option);
        }

        Runner.SetAction(command, async (parse, progress, ct) =>
        {
            var config = PgDrConfig.Load(parse.GetValue(Config));
            var request = new PgDr.Backup.Retention.RetentionRequest
            {
                KeepFull = parse.GetValue(keepFull),
                KeepDays = parse.GetValue(keepDays),
                Labels = parse.GetValue(labels) ?? [],
                Repository = parse.GetValue(repository),
                ExpireWal = !parse.GetValue(keepWal),
            };
            var plan = await PgDr.Backup.Retention.RetentionService.PlanAsync(config, request, ct).ConfigureAwait(false);
            var items = new List<PgDr.Backup.Retention.PgBackupExpiry>();
            foreach (var item in plan)
            {
                items.Add(parse.GetValue(whatIf) ? item : await PgDr.Backup.Retention.RetentionService.ExpireAsync(config, item, ct).ConfigureAwait(false));
            }

            if (parse.GetValue(CommonOptions.Json))
            {
                JsonOutput.Write<IReadOnlyList<PgDr.Backup.Retention.PgBackupExpiry>>(items, PgDrJsonContext.Default.IReadOnlyListPgBackupExpiry);
            }
            else
            {
                foreach (var item in items)
                {
                    Console.Out.WriteLine((parse.GetValue(whatIf) ? "What if: " : "Removed: ") + item.Describe());
                }

                if (items.Count == 0)
                {
                    Console.Out.WriteLine("Nothing to remove.");
                }
            }

            return Runner.Success;
        });
        return command;
    }

    /// <summary>pgdr restore: Restore-PgCluster.</summary>
    public static Command BuildRestore()
    {
        var directory = new Argument<string>("data-directory") { Description = "Where to restore: a new or empty directory (or an existing cluster's with --delta or --force)." };
        var config = new Option<string?>("--config") { Description = "The PgDr configuration file (default: $PGDR_CONFIG, else /etc/pgdr/pgdr.json); restore_command names it too." };
        var label = new Option<string?>("--label") { Description = "The backup to restore (default: the latest one that reaches the target)." };
        var repository = new Option<string?>("--repository") { Description = "The repository to read from (default: the first that holds the backup)." };
        var time = new Option<string?>("--target-time") { Description = "Recover up to this time (ISO 8601; UTC unless an offset is given)." };
        var lsn = new Option<string?>("--target-lsn") { Description = "Recover up to this WAL position (X/X)." };
        var xid = new Option<ulong?>("--target-xid") { Description = "Recover up to the commit of this transaction." };
        var name = new Option<string?>("--target-name") { Description = "Recover up to this restore point (pg_create_restore_point)." };
        var immediate = new Option<bool>("--immediate") { Description = "Stop as soon as the backup is consistent." };
        var action = new Option<RecoveryTargetAction?>("--target-action") { Description = "At the target: pause (PostgreSQL's default), promote or shutdown." };
        var exclusive = new Option<bool>("--target-exclusive") { Description = "Stop just before the target instead of just after it." };
        var timeline = new Option<string?>("--target-timeline") { Description = "A timeline number, current or latest (default)." };
        var standby = new Option<bool>("--as-standby") { Description = "Seed a standby: standby.signal and no target." };
        var primary = new Option<string?>("--primary") { Description = "With --as-standby: the node to stream from (host:port); primary_conninfo is built from it without a password." };
        var replicationUser = new Option<string?>("--replication-user") { Description = "With --as-standby: the role to replicate as." };
        var passwordFile = new Option<string?>("--password-file") { Description = "With --as-standby: the 0600 password file primary_conninfo names (passfile=)." };
        var standbyName = new Option<string?>("--standby-name") { Description = "With --as-standby: the standby's application_name." };
        var slot = new Option<string?>("--primary-slot") { Description = "With --as-standby: primary_slot_name." };
        var delta = new Option<bool>("--delta") { Description = "Rewrite only the files that differ from the backup; remove those it does not hold." };
        var force = new Option<bool>("--force") { Description = "Restore into a non-empty directory by emptying it first." };
        var pgdr = new Option<string?>("--pgdr") { Description = "The pgdr restore_command runs (default: this pgdr)." };
        var archiveMode = new Option<RestoreArchiveMode>("--archive-mode") { Description = "preserve (default) or off: keep the restored cluster from archiving.", DefaultValueFactory = _ => RestoreArchiveMode.Preserve };
        var tablespaces = new Option<string[]>("--tablespace-map") { Description = "oid-or-name=path: where a tablespace goes (repeatable).", AllowMultipleArgumentsPerToken = false };
        var settings = new Option<string[]>("--set") { Description = "name=value: a further setting for postgresql.auto.conf (repeatable)." };
        var osUser = new Option<string?>("--os-user") { Description = "The OS account that runs PostgreSQL and will own the files (default postgres, when run as root)." };
        var parallel = new Option<int?>("--parallel") { Description = "Objects restored at once (default: backup.parallel, one per core)." };
        var whatIf = new Option<bool>("--what-if") { Description = "Check everything and say what would be done; write nothing." };
        var command = new Command("restore", "Restore a base backup into a data directory on this host and set it up to recover from the archive (restore_command = pgdr wal fetch).");
        command.Arguments.Add(directory);
        foreach (var option in new Option[] { config, label, repository, time, lsn, xid, name, immediate, action, exclusive, timeline, standby, primary, replicationUser, passwordFile, standbyName, slot, delta, force, pgdr, archiveMode, tablespaces, settings, osUser, parallel, whatIf })
        {
            command.Options.Add(option);
        }

        Runner.SetAction(command, async (parse, progress, ct) =>
        {
            var configuration = PgDrConfig.Load(parse.GetValue(config));
            var request = new RestoreRequest
            {
                DataDirectory = parse.GetValue(directory)!,
                Label = parse.GetValue(label),
                Repository = parse.GetValue(repository),
                TargetTime = parse.GetValue(time) is { } t ? ParseTime(t) : null,
                TargetLsn = parse.GetValue(lsn) is { } l ? ParseLsn(l) : null,
                TargetXid = parse.GetValue(xid),
                TargetName = parse.GetValue(name),
                Immediate = parse.GetValue(immediate),
                TargetAction = parse.GetValue(action),
                TargetExclusive = parse.GetValue(exclusive),
                TargetTimeline = parse.GetValue(timeline),
                AsStandby = parse.GetValue(standby),
                Primary = parse.GetValue(primary) is { } upstream ? PgDr.Connections.PgInstance.Parse(upstream) : null,
                ReplicationUser = parse.GetValue(replicationUser),
                PasswordFile = parse.GetValue(passwordFile),
                StandbyName = parse.GetValue(standbyName),
                PrimarySlotName = parse.GetValue(slot),
                Delta = parse.GetValue(delta),
                Force = parse.GetValue(force),
                PgDrPath = parse.GetValue(pgdr) ?? OwnExecutable(),
                ArchiveMode = parse.GetValue(archiveMode),
                TablespaceMapping = Pairs(parse.GetValue(tablespaces), "--tablespace-map"),
                Settings = Pairs(parse.GetValue(settings), "--set"),
                OsUser = parse.GetValue(osUser),
                Parallel = parse.GetValue(parallel),
            };
            var plan = await RestoreService.PlanAsync(configuration, request, ct).ConfigureAwait(false);
            if (parse.GetValue(whatIf))
            {
                Console.Out.WriteLine("What if: " + plan.Describe());
                if (parse.GetValue(CommonOptions.Json))
                {
                    JsonOutput.Write(plan.Preview, PgDrJsonContext.Default.PgRestoreResult);
                }

                return Runner.Success;
            }

            var result = await RestoreService.RestoreAsync(plan, progress, ct).ConfigureAwait(false);
            TerminalProgress.Clear();
            if (parse.GetValue(CommonOptions.Json))
            {
                JsonOutput.Write(result, PgDrJsonContext.Default.PgRestoreResult);
            }
            else
            {
                Console.Out.WriteLine(result.ToString());
                Console.Out.WriteLine(FormattableString.Invariant($"{result.FilesWritten} files written, {result.FilesKept} kept, {result.FilesRemoved} removed; {PgDr.Bytes.Format(result.BytesWritten)} at {result.ThroughputMBps:0} MB/s."));
                Console.Out.WriteLine($"Start it as the postgres account: {result.StartCommand}");
            }

            return Runner.Success;
        });
        return command;
    }

    /// <summary>This pgdr, when it runs as its own executable (not through 'dotnet pgdr.dll'): restore_command runs the same build.</summary>
    internal static string? OwnExecutable() =>
        Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "pgdr" ? path : null;

    private static DateTimeOffset ParseTime(string text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)
            ? time
            : throw new PgDrArgumentException(ErrorIds.InvalidRestoreRequest, $"'{text}' is not a time (use ISO 8601, e.g. 2026-11-22T10:15:30Z).", text);

    private static PgLsn ParseLsn(string text)
    {
        try
        {
            return PgLsn.Parse(text);
        }
        catch (FormatException ex)
        {
            throw new PgDrArgumentException(ErrorIds.InvalidRestoreRequest, ex.Message, text);
        }
    }

    private static Dictionary<string, string>? Pairs(string[]? values, string option)
    {
        if (values is null || values.Length == 0)
        {
            return null;
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var value in values)
        {
            var equals = value.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new PgDrArgumentException(ErrorIds.InvalidRestoreRequest, $"{option} takes name=value (got '{value}').", value);
            }

            result[value[..equals]] = value[(equals + 1)..];
        }

        return result;
    }
}
