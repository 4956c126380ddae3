namespace PgDr.Backup.Catalog;

/// <summary>What a base backup stores (pgBackRest's, Barman's and WAL-G's terms).</summary>
public enum BackupType
{
    /// <summary>Every file of the cluster.</summary>
    Full,

    /// <summary>The files changed since the latest full backup; the others are referenced to it.</summary>
    Differential,

    /// <summary>The files changed since the latest backup of any type; the others are referenced to the backups that hold them.</summary>
    Incremental,
}
