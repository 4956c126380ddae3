using System.Globalization;
using System.Text;

namespace PgDr.Backup.Restore;

/// <summary>
/// The recovery settings a restore writes into postgresql.auto.conf (read after postgresql.conf, so they win), as
/// pgBackRest does: recovery settings the backed-up file held are commented out, never silently left to compete, and
/// the new ones follow in one marked block. Only paths and targets are written, never a secret.
/// </summary>
internal static class RecoveryConfiguration
{
    public const string FileName = "postgresql.auto.conf";

    private static readonly HashSet<string> Managed = new(StringComparer.OrdinalIgnoreCase)
    {
        "restore_command", "recovery_target", "recovery_target_time", "recovery_target_xid", "recovery_target_name", "recovery_target_lsn",
        "recovery_target_inclusive", "recovery_target_timeline", "recovery_target_action", "primary_conninfo", "primary_slot_name",
    };

    /// <summary>The settings, in the order they are written (name, unquoted value).</summary>
    public static List<(string Name, string Value)> Settings(RestoreRequest request, string restoreCommand)
    {
        var settings = new List<(string Name, string Value)> { ("restore_command", restoreCommand) };
        if (request.TargetTime is { } time)
        {
            settings.Add(("recovery_target_time", time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture) + "+00"));
        }
        else if (request.TargetLsn is { } lsn)
        {
            settings.Add(("recovery_target_lsn", lsn.ToString()));
        }
        else if (request.TargetXid is { } xid)
        {
            settings.Add(("recovery_target_xid", xid.ToString(CultureInfo.InvariantCulture)));
        }
        else if (request.TargetName is { } name)
        {
            settings.Add(("recovery_target_name", name));
        }
        else if (request.Immediate)
        {
            settings.Add(("recovery_target", "immediate"));
        }

        if (request.TargetExclusive)
        {
            settings.Add(("recovery_target_inclusive", "off"));
        }

        if (request.TargetAction is { } action)
        {
            settings.Add(("recovery_target_action", action.ToString().ToLowerInvariant()));
        }

        if (request.TargetTimeline is { } timeline)
        {
            settings.Add(("recovery_target_timeline", timeline));
        }

        if (request.PrimaryConnInfo is { } conninfo)
        {
            settings.Add(("primary_conninfo", conninfo));
        }

        if (request.PrimarySlotName is { } slot)
        {
            settings.Add(("primary_slot_name", slot));
        }

        if (request.ArchiveMode == RestoreArchiveMode.Off)
        {
            settings.Add(("archive_mode", "off"));
        }

        foreach (var (key, value) in request.Settings ?? new Dictionary<string, string>())
        {
            settings.Add((key, value));
        }

        return settings;
    }

    /// <summary>Comments out what the new settings replace in <paramref name="existing"/> and appends the new block.</summary>
    public static string Rewrite(string existing, IReadOnlyList<(string Name, string Value)> settings, string backupLabel)
    {
        var replaced = new HashSet<string>(Managed.Concat(settings.Select(s => s.Name)), StringComparer.OrdinalIgnoreCase);
        var text = new StringBuilder();
        foreach (var line in existing.Split('\n'))
        {
            var name = line.TrimStart().Split('=', 2)[0].Trim();
            text.Append(line.Length > 0 && !line.TrimStart().StartsWith('#') && replaced.Contains(name) ? "# Replaced by the PgDr restore below: " + line : line);
            text.Append('\n');
        }

        while (text.Length >= 2 && text[^1] == '\n' && text[^2] == '\n')
        {
            text.Length--;
        }

        text.Append(CultureInfo.InvariantCulture, $"\n# Recovery settings written by the PgDr restore of backup {backupLabel} at {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss} UTC\n");
        foreach (var (name, value) in settings)
        {
            text.Append(name).Append(" = ").Append(Quote(value)).Append('\n');
        }

        return text.ToString();
    }

    public static string Quote(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
}
