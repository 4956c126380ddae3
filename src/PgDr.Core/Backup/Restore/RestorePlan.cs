using PgDr.Archive.Configuration;
using PgDr.Backup.Catalog;
using PgDr.Hosting;

namespace PgDr.Backup.Restore;

/// <summary>
/// A checked restore, ready to run: the backup chosen, the target validated against it and the archive, the target
/// directory inspected. <see cref="Preview"/> is what -WhatIf shows; RestoreService.RestoreAsync carries it out.
/// </summary>
public sealed class RestorePlan
{
    internal RestorePlan()
    {
    }

    /// <summary>What the restore would do, before it does it (Applied is false).</summary>
    public required PgRestoreResult Preview { get; init; }

    /// <summary>Files that exist in the target directory and a -Force restore would remove (0 without -Force, or with -Delta).</summary>
    public int FilesToRemove { get; init; }

    /// <summary>Tablespace locations, by oid, as the restore will write them.</summary>
    public required IReadOnlyDictionary<uint, string> TablespaceLocations { get; init; }

    internal PgDrConfig Config { get; init; } = null!;

    internal RestoreRequest Request { get; init; } = null!;

    internal RepositoryEntry Repository { get; init; } = null!;

    internal BackupManifest Manifest { get; init; } = null!;

    internal List<(string Name, string Value)> Settings { get; init; } = null!;

    internal OsUser Account { get; init; } = null!;

    internal string DataDirectory { get; init; } = null!;

    /// <summary>One sentence for ShouldProcess and pgdr --what-if.</summary>
    public string Describe() =>
        $"Restore backup {Preview.Label} ({Preview.Type}, {Bytes.Format(Manifest.Info.OriginalBytes)}, {Manifest.Info.FileCount} files) from repository '{Preview.Repository}' into {DataDirectory}"
        + (Request.Delta ? " as a delta (rewriting only files that differ, removing files the backup does not hold)" : FilesToRemove > 0 ? $", REMOVING the {FilesToRemove} files there now" : string.Empty)
        + $"; recovery to {Preview.Target}; {Preview.SignalFile}; postgresql.auto.conf: {string.Join(", ", Preview.Settings)}";
}
