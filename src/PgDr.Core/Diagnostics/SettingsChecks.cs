using System.Globalization;
using PgDr.Connections;
using PgDr.Replication;
using PgDr.Replication.Synchronous;

namespace PgDr.Diagnostics;

/// <summary>
/// Judges the settings that replication, archiving and a rejoin after failover depend on. Pure: it reads what
/// <see cref="NodeFacts"/> holds, so every rule is tested on its own as well as against a real server.
/// </summary>
internal static class SettingsChecks
{
    private const PgDrCheckArea Area = PgDrCheckArea.Settings;

    public static IEnumerable<PgDrCheck> Judge(NodeFacts facts, CheckWriter w)
    {
        yield return WalLevel(facts, w);
        yield return ArchiveMode(facts, w);
        yield return MaxWalSenders(facts, w);
        yield return MaxReplicationSlots(facts, w);
        yield return HotStandby(facts, w);
        yield return Rewind(facts, w);
        yield return CheckpointCompletionTarget(facts, w);
        yield return MaxSlotWalKeepSize(facts, w);
        if (facts.IsPrimary)
        {
            yield return WalKeepSize(facts, w);
            if (SynchronousStandbys(facts, w) is { } sync)
            {
                yield return sync;
            }
        }
        else
        {
            yield return PrimaryConnInfo(facts, w);
        }
    }

    // The two sizes PgDr judges are in megabytes in pg_settings (-1: unlimited).
    private static readonly string[] Megabytes = ["wal_keep_size", "max_slot_wal_keep_size"];

    private static string Show(NodeFacts facts, string name) =>
        facts.Settings.TryGetValue(name, out var s)
            ? $"{name} = {s.Display}{(Megabytes.Contains(name) && s.Raw != "-1" && s.Raw != "0" ? " MB" : string.Empty)}{(s.PendingRestart ? " (changed, pending restart)" : string.Empty)}"
            : $"{name} unreadable";

    private static PgDrCheck WalLevel(NodeFacts facts, CheckWriter w) =>
        facts.Setting("wal_level") is "replica" or "logical"
            ? w.Pass(Area, CheckIds.WalLevel, Show(facts, "wal_level"))
            : w.Fail(Area, CheckIds.WalLevel, Show(facts, "wal_level") + ": no standby can stream and no WAL can be archived",
                "ALTER SYSTEM SET wal_level = replica, then restart the server.");

    private static PgDrCheck ArchiveMode(NodeFacts facts, CheckWriter w)
    {
        var mode = facts.Setting("archive_mode");
        return (mode, facts.IsPrimary) switch
        {
            ("off", true) => w.Warn(Area, CheckIds.ArchiveMode,
                Show(facts, "archive_mode") + ": no WAL archive, so no point-in-time recovery, and a standby that falls behind its slot cannot catch up",
                "Archive WAL with Set-PgWalArchiving (pgdr archiving set --config FILE), then restart."),
            ("off", false) => w.Warn(Area, CheckIds.ArchiveMode,
                Show(facts, "archive_mode") + ": once promoted, this node archives nothing until it is restarted with archiving on",
                "Set archive_mode = on on the standbys too (Set-PgWalArchiving), so a promoted standby archives at once."),
            _ => w.Pass(Area, CheckIds.ArchiveMode, Show(facts, "archive_mode") + (facts.IsPrimary || mode == "always" ? string.Empty : ": archives once promoted")),
        };
    }

    private static PgDrCheck MaxWalSenders(NodeFacts facts, CheckWriter w)
    {
        var max = Int(facts, "max_wal_senders");
        // Every standby holds a sender; one more is needed for a new standby's pg_basebackup or a rejoining node.
        var standbys = Math.Max(facts.Senders.Count, facts.Slots.Count(s => s.SlotType == "physical"));
        var needed = standbys + 1;
        if (max == 0)
        {
            return w.Fail(Area, CheckIds.MaxWalSenders, Show(facts, "max_wal_senders") + ": no standby can connect",
                $"ALTER SYSTEM SET max_wal_senders = {Math.Max(10, needed)}, then restart.");
        }

        return max < needed
            ? w.Warn(Area, CheckIds.MaxWalSenders, $"{Show(facts, "max_wal_senders")} for {standbys} standby(s): no room for a new standby or a rejoin",
                $"ALTER SYSTEM SET max_wal_senders = {Math.Max(10, needed + 2)}, then restart (standbys need at least the primary's value).")
            : w.Pass(Area, CheckIds.MaxWalSenders, $"{Show(facts, "max_wal_senders")}, {standbys} in use");
    }

    private static PgDrCheck MaxReplicationSlots(NodeFacts facts, CheckWriter w)
    {
        var max = Int(facts, "max_replication_slots");
        var used = facts.Slots.Count;
        return max == 0 || used >= max
            ? w.Warn(Area, CheckIds.MaxReplicationSlots, $"{Show(facts, "max_replication_slots")}, {used} in use: a new standby cannot get a slot",
                $"ALTER SYSTEM SET max_replication_slots = {Math.Max(10, used + 2)}, then restart.")
            : w.Pass(Area, CheckIds.MaxReplicationSlots, $"{Show(facts, "max_replication_slots")}, {used} in use");
    }

    private static PgDrCheck HotStandby(NodeFacts facts, CheckWriter w) =>
        facts.Setting("hot_standby") == "on"
            ? w.Pass(Area, CheckIds.HotStandby, Show(facts, "hot_standby"))
            : w.Warn(Area, CheckIds.HotStandby, Show(facts, "hot_standby") + ": as a standby this node accepts no connection, so its lag and health cannot be read",
                "ALTER SYSTEM SET hot_standby = on, then restart.");

    private static PgDrCheck Rewind(NodeFacts facts, CheckWriter w) =>
        facts.Setting("wal_log_hints") == "on" || facts.Setting("data_checksums") == "on"
            ? w.Pass(Area, CheckIds.Rewind, $"{Show(facts, "wal_log_hints")}, {Show(facts, "data_checksums")}: pg_rewind can rejoin this node after a failover")
            : w.Warn(Area, CheckIds.Rewind, $"{Show(facts, "wal_log_hints")}, {Show(facts, "data_checksums")}: after a failover this node can only rejoin through a new base backup",
                "ALTER SYSTEM SET wal_log_hints = on, then restart, so Join-PgCluster can use pg_rewind.");

    private static PgDrCheck CheckpointCompletionTarget(NodeFacts facts, CheckWriter w) =>
        double.TryParse(facts.Setting("checkpoint_completion_target"), NumberStyles.Float, CultureInfo.InvariantCulture, out var target) && target < 0.9
            ? w.Warn(Area, CheckIds.CheckpointCompletionTarget, Show(facts, "checkpoint_completion_target") + ": checkpoints write in bursts, I/O spikes that slow replay on standbys",
                "ALTER SYSTEM SET checkpoint_completion_target = 0.9; SELECT pg_reload_conf().")
            : w.Pass(Area, CheckIds.CheckpointCompletionTarget, Show(facts, "checkpoint_completion_target"));

    private static PgDrCheck MaxSlotWalKeepSize(NodeFacts facts, CheckWriter w)
    {
        var unlimited = facts.Setting("max_slot_wal_keep_size") == "-1";
        return unlimited && facts.Slots.Count > 0
            ? w.Warn(Area, CheckIds.MaxSlotWalKeepSize,
                $"{Show(facts, "max_slot_wal_keep_size")} (unlimited) with {facts.Slots.Count} slot(s): a standby that stays away can fill pg_wal until the server stops",
                "ALTER SYSTEM SET max_slot_wal_keep_size to less than pg_wal's free disk space (e.g. '50GB'); SELECT pg_reload_conf().")
            : w.Pass(Area, CheckIds.MaxSlotWalKeepSize, Show(facts, "max_slot_wal_keep_size") + (unlimited ? ", no slots" : string.Empty));
    }

    private static PgDrCheck WalKeepSize(NodeFacts facts, CheckWriter w)
    {
        var keep = facts.Setting("wal_keep_size") ?? "0";
        var withoutSlot = facts.Senders.Count - facts.Slots.Count(s => s.Active);
        return keep == "0" && withoutSlot > 0 && facts.Setting("archive_mode") == "off"
            ? w.Warn(Area, CheckIds.WalKeepSize,
                $"{Show(facts, "wal_keep_size")}, no archive, and {withoutSlot} standby(s) without a slot: one that falls behind needs WAL nobody keeps",
                "Give each standby a slot (New-PgReplicationSlot), or archive WAL, or ALTER SYSTEM SET wal_keep_size = '1GB'.")
            : w.Pass(Area, CheckIds.WalKeepSize, Show(facts, "wal_keep_size"));
    }

    private static PgDrCheck PrimaryConnInfo(NodeFacts facts, CheckWriter w)
    {
        var text = facts.Setting("primary_conninfo");
        if (text is null)
        {
            return w.Warn(Area, CheckIds.PrimaryConnInfo, "primary_conninfo cannot be read by this connection", "Connect as a superuser or a member of pg_read_all_settings.");
        }

        if (text.Length == 0)
        {
            return w.Fail(Area, CheckIds.PrimaryConnInfo, "primary_conninfo is empty: the standby streams from nobody",
                "Point the standby at its upstream (New-PgStandby writes it; or ALTER SYSTEM SET primary_conninfo and reload).");
        }

        if (!ConnInfo.TryParse(text, out var conninfo, out var error))
        {
            return w.Fail(Area, CheckIds.PrimaryConnInfo, $"primary_conninfo cannot be read: {error}", "Rewrite primary_conninfo (Join-PgCluster or New-PgStandby write it).");
        }

        // The value itself is never shown: it might hold the very password this check looks for.
        if (conninfo["password"] is not null)
        {
            return w.Fail(Area, CheckIds.PrimaryConnInfo, "primary_conninfo holds a password, in postgresql.auto.conf for every reader of the data directory and its backups",
                "Move the password to a 0600 password file named by passfile= (what New-PgStandby writes) and remove password= from primary_conninfo.");
        }

        var missing = PgDr.Replication.PrimaryConnInfo.Keepalives.Where(k => conninfo[k.Key] is null).Select(k => k.Key).ToList();
        var keys = string.Join(", ", conninfo.Pairs.Select(p => p.Key));
        return missing.Count > 0
            ? w.Warn(Area, CheckIds.PrimaryConnInfo, $"primary_conninfo ({keys}) has no {string.Join(", ", missing)}: a link that dies silently is noticed only after the kernel's 2 hours",
                "Add keepalives=1 keepalives_idle=60 keepalives_interval=10 keepalives_count=6 to primary_conninfo (Join-PgCluster and New-PgStandby write them).")
            : w.Pass(Area, CheckIds.PrimaryConnInfo, $"primary_conninfo ({keys}): keepalives set, no password");
    }

    private static PgDrCheck? SynchronousStandbys(NodeFacts facts, CheckWriter w)
    {
        var value = facts.Setting("synchronous_standby_names");
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        if (SynchronousStandbyNames.Parse(value) is not { } parsed)
        {
            return w.Fail(Area, CheckIds.SynchronousStandbys, $"synchronous_standby_names = '{value}' cannot be parsed",
                "Set it with Set-PgSynchronousReplication (pgdr sync set), which writes what PostgreSQL reads.");
        }

        return JudgeSynchronous(parsed.Method, parsed.NumSync, parsed.Names, facts.Senders.Select(s => s.ApplicationName).ToList(), value, w);
    }

    /// <summary>Names that match no connected standby, and whether enough remain for a commit to return.</summary>
    internal static PgDrCheck JudgeSynchronous(SynchronousMethod method, int numSync, IReadOnlyList<string> names, IReadOnlyList<string> connected, string value, CheckWriter w)
    {
        // PostgreSQL compares application_name to the listed names ignoring case; * stands for any standby.
        var matched = names.Contains("*")
            ? connected.Count
            : names.Count(n => connected.Contains(n, StringComparer.OrdinalIgnoreCase));
        var absent = names.Where(n => n != "*" && !connected.Contains(n, StringComparer.OrdinalIgnoreCase)).ToList();
        var evidence = $"synchronous_standby_names = '{value}' ({method.ToString().ToUpperInvariant()} {numSync}); connected: {(connected.Count == 0 ? "none" : string.Join(", ", connected))}";
        if (matched < numSync)
        {
            return w.Fail(Area, CheckIds.SynchronousStandbys,
                $"{evidence}; {(absent.Count == 0 ? "too few" : string.Join(", ", absent))} not connected: every commit waits, for ever",
                "Bring the named standbys back, or name connected ones with Set-PgSynchronousReplication (-Off releases waiting commits).");
        }

        return absent.Count > 0
            ? w.Warn(Area, CheckIds.SynchronousStandbys, $"{evidence}; {string.Join(", ", absent)} not connected: one more loss stops commits",
                "Bring the missing standbys back, or stop naming them (Set-PgSynchronousReplication).")
            : w.Pass(Area, CheckIds.SynchronousStandbys, evidence);
    }

    private static long Int(NodeFacts facts, string name) =>
        long.TryParse(facts.Setting(name), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) ? value : 0;
}
