namespace PgDr.Archive.Wal;

/// <summary>The kinds of file PostgreSQL hands to archive_command and asks restore_command for.</summary>
public enum WalFileKind
{
    /// <summary><c>000000010000000000000001</c>: a complete WAL segment.</summary>
    Segment,

    /// <summary><c>000000010000000000000001.partial</c>: the last, incomplete segment of a timeline a standby was promoted away from.</summary>
    Partial,

    /// <summary><c>000000010000000000000001.00000028.backup</c>: the label of a base backup, named after where it started.</summary>
    BackupHistory,

    /// <summary><c>00000002.history</c>: how a timeline branched off its parent.</summary>
    TimelineHistory,
}
