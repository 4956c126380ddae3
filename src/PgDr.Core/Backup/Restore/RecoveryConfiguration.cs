using System.Globalization;
using PgDr.Replication;

namespace PgDr.Backup.Restore;

/// <summary>
/// The recovery settings a restore writes into postgresql.auto.conf (read after postgresql.conf, so they win). Only
/// paths, targets and a primary_conninfo that names a password file are written, never a secret.
/// </summary>
internal static class RecoveryConfiguration
{
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

        if (request.Primary is { } primary)
        {
            var user = request.ReplicationUser ?? primary.Username ?? "postgres";
            var conninfo = PrimaryConnInfo.Build(primary.WithCredential(user, null), user, request.PasswordFile, request.StandbyName ?? "restored");
            settings.Add(("primary_conninfo", conninfo.ToString()));
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

    /// <summary>
    /// What goes into postgresql.auto.conf: every recovery setting the backed-up file held is removed (a stale
    /// recovery_target_xid must not compete with a new recovery_target_time), then the new settings are set.
    /// </summary>
    public static Dictionary<string, string?> Changes(IReadOnlyList<(string Name, string Value)> settings)
    {
        var changes = Managed.ToDictionary(name => name, _ => (string?)null, StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in settings)
        {
            changes.Remove(name);
        }

        foreach (var (name, value) in settings)
        {
            changes[name] = value;
        }

        return changes;
    }
}
