using System.Globalization;
using Npgsql;
using PgDr.Connections;
using PgDr.Errors;
using PgDr.Hosting;
using PgDr.Hosting.Services;
using PgDr.Settings;

namespace PgDr.Archive.Server;

/// <summary>Points a node's WAL archiving at pgdr through ALTER SYSTEM (Set-PgWalArchiving, pgdr archiving set).</summary>
public static class WalArchivingService
{
    private static readonly string[] ManagedSettings = ["wal_level", "archive_mode", "max_wal_senders", "archive_timeout", "archive_command"];

    /// <summary>
    /// The archive_command that runs pgdr: both paths single-quoted for /bin/sh, which PostgreSQL runs it with.
    /// It names the configuration file and never a secret, because postgresql.auto.conf is readable by anyone who can read the data directory.
    /// </summary>
    public static string ArchiveCommand(string pgdrPath, string configPath) =>
        $"{ShellQuote(pgdrPath)} wal push --config {ShellQuote(configPath)} %p";

    /// <summary>The restore_command counterpart, for standbys and point-in-time recovery.</summary>
    public static string RestoreCommand(string pgdrPath, string configPath) =>
        $"{ShellQuote(pgdrPath)} wal fetch --config {ShellQuote(configPath)} %f %p";

    /// <summary>
    /// Reads the current values and works out the changes; writes them (ALTER SYSTEM, then a reload) unless
    /// <paramref name="apply"/> is false, so -WhatIf shows exactly what would change and changes nothing.
    /// </summary>
    public static async Task<PgWalArchivingChange> SetAsync(PgInstance instance, WalArchivingRequest request, bool apply, bool restart, CancellationToken cancellationToken)
    {
        Validate(request);

        // Before anything is planned or written: on this host, prove the server's account can run this pgdr and read
        // the configuration and key, so a command that can never work is refused instead of set (and -WhatIf says so).
        string? checkedAs = null;
        if (!request.Disable && await LocalNode.FindAsync(instance, cancellationToken).ConfigureAwait(false) is { } node)
        {
            var access = await ArchiveCommandAccess.CheckAsync(node, request.PgDrPath!, request.ConfigPath!, cancellationToken).ConfigureAwait(false);
            if (access.Failure is { } failure)
            {
                throw new PgDrException(
                    failure.ErrorId ?? ErrorIds.PgDrNotExecutable,
                    PgDrErrorCategory.PermissionDenied,
                    $"archive_command would fail on {instance}: {failure.Message}{(failure.Fix is null ? string.Empty : " Fix: " + failure.Fix)}",
                    instance);
            }

            checkedAs = access.CheckedAs;
        }

        var (changes, isStandby) = await PgConnector.RunAsync(instance, async conn =>
        {
            var current = await ReadSettingsAsync(conn, cancellationToken).ConfigureAwait(false);
            using var recovery = new NpgsqlCommand("SELECT pg_is_in_recovery()", conn);
            var inRecovery = (bool)(await recovery.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            return (Plan(current, request), inRecovery);
        }, cancellationToken).ConfigureAwait(false);
        var note = StandbyNote(instance, changes, isStandby);

        if (!apply || changes.All(c => !c.Changed))
        {
            return new PgWalArchivingChange
            {
                Instance = instance,
                Settings = changes,
                Applied = apply,
                RestartPending = apply && await IsRestartPendingAsync(instance, cancellationToken).ConfigureAwait(false),
                AccessCheckedAs = checkedAs,
                IsStandby = isStandby,
                Note = note,
            };
        }

        await ServerSettings.AlterSystemAsync(instance, changes, cancellationToken).ConfigureAwait(false);

        var restarted = false;
        if (restart && changes.Any(c => c.RequiresRestart))
        {
            var service = await PostgresServices.ForInstanceAsync(instance, PgServiceSpec.Auto, cancellationToken).ConfigureAwait(false);
            await service.RestartAsync(cancellationToken).ConfigureAwait(false);
            restarted = true;
        }

        return new PgWalArchivingChange
        {
            Instance = instance,
            Settings = changes,
            Applied = true,
            Restarted = restarted,
            RestartPending = await IsRestartPendingAsync(instance, cancellationToken).ConfigureAwait(false),
            AccessCheckedAs = checkedAs,
            IsStandby = isStandby,
            Note = note,
        };
    }

    /// <summary>
    /// A standby with archive_mode = on archives nothing (PostgreSQL archives there only with always), which is easy to
    /// mistake for working archiving; say so instead of applying silently.
    /// </summary>
    private static string? StandbyNote(PgInstance instance, IReadOnlyList<PgSettingChange> changes, bool isStandby) =>
        isStandby && changes.Single(c => c.Name == "archive_mode").NewValue == "on"
            ? $"{instance} is a standby: with archive_mode = on it archives nothing until it is promoted. To archive on the standby too, use archive_mode = always (-ArchiveOnStandby, pgdr --archive-on-standby)."
            : null;

    internal static IReadOnlyList<PgSettingChange> Plan(IReadOnlyDictionary<string, ServerSetting> current, WalArchivingRequest request)
    {
        var walLevel = current["wal_level"].Display;
        var archiveMode = current["archive_mode"].Display;
        var senders = int.Parse(current["max_wal_senders"].Raw, CultureInfo.InvariantCulture);
        if (request.Disable)
        {
            // Only archive_mode: the rest keeps its value, so turning archiving on again needs nothing but that.
            return ManagedSettings.Select(name => Change(current[name], name == "archive_mode" ? "off" : current[name].Display)).ToList();
        }

        return
        [
            Change(current["wal_level"], walLevel == "logical" ? "logical" : "replica"),
            Change(current["archive_mode"], request.ArchiveOnStandby || archiveMode == "always" ? "always" : "on"),
            Change(current["max_wal_senders"], Math.Max(senders, request.MinWalSenders).ToString(CultureInfo.InvariantCulture)),
            Change(current["archive_timeout"], ((int)request.ArchiveTimeout.TotalSeconds).ToString(CultureInfo.InvariantCulture) + "s"),
            Change(current["archive_command"], ArchiveCommand(request.PgDrPath!, request.ConfigPath!)),
        ];
    }

    private static PgSettingChange Change(ServerSetting setting, string desired) => ServerSettings.Change(setting, desired);

    internal static Task<Dictionary<string, ServerSetting>> ReadSettingsAsync(NpgsqlConnection conn, CancellationToken cancellationToken) =>
        ServerSettings.ReadAsync(conn, ManagedSettings, cancellationToken);

    private static async Task<bool> IsRestartPendingAsync(PgInstance instance, CancellationToken cancellationToken) =>
        await PgConnector.RunAsync(instance, async conn =>
        {
            using var cmd = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM pg_settings WHERE pending_restart)", conn);
            return (bool)(await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }, cancellationToken).ConfigureAwait(false);

    private static void Validate(WalArchivingRequest request)
    {
        if (!request.Disable && (string.IsNullOrWhiteSpace(request.PgDrPath) || string.IsNullOrWhiteSpace(request.ConfigPath)))
        {
            throw new PgDrArgumentException(ErrorIds.InvalidArchivingRequest, "Both the pgdr path and the configuration file path are needed for archive_command (switching archiving off needs neither).", request);
        }

        if (request.ArchiveTimeout < TimeSpan.Zero || request.ArchiveTimeout > TimeSpan.FromDays(1))
        {
            throw new PgDrArgumentException(ErrorIds.InvalidArchivingRequest, $"ArchiveTimeout must be between 0 and 1 day (got {request.ArchiveTimeout}).", request.ArchiveTimeout);
        }

        if (request.MinWalSenders is < 1 or > 262143)
        {
            throw new PgDrArgumentException(ErrorIds.InvalidArchivingRequest, $"MinWalSenders must be between 1 and 262143 (got {request.MinWalSenders}).", request.MinWalSenders);
        }
    }

    /// <summary>
    /// The pgdr path and configuration file of an archive_command that <see cref="ArchiveCommand"/> wrote (or written the
    /// same way by hand); null for any other command.
    /// </summary>
    public static (string PgDrPath, string ConfigPath)? ParseArchiveCommand(string? command)
    {
        var words = ShellWords(command ?? string.Empty);
        return words is [var pgdr, "wal", "push", "--config", var config, "%p"] ? (pgdr, config) : null;
    }

    // The subset of /bin/sh word splitting that ShellQuote produces: blanks between words, '...' quoting, and '\'' for a quote.
    private static List<string>? ShellWords(string command)
    {
        var words = new List<string>();
        var word = new System.Text.StringBuilder();
        var inWord = false;
        for (var i = 0; i < command.Length; i++)
        {
            var c = command[i];
            if (c == '\'')
            {
                var end = command.IndexOf('\'', i + 1);
                if (end < 0)
                {
                    return null;
                }

                word.Append(command, i + 1, end - i - 1);
                i = end;
                inWord = true;
            }
            else if (c == '\\' && i + 1 < command.Length)
            {
                word.Append(command[++i]);
                inWord = true;
            }
            else if (c is ' ' or '\t')
            {
                if (inWord)
                {
                    words.Add(word.ToString());
                    word.Clear();
                    inWord = false;
                }
            }
            else
            {
                word.Append(c);
                inWord = true;
            }
        }

        if (inWord)
        {
            words.Add(word.ToString());
        }

        return words;
    }

    internal static string ShellQuote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
