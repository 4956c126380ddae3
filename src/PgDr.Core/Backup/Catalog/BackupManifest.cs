using System.Text.Json.Serialization;
using PgDr.Topology;

namespace PgDr.Backup.Catalog;

/// <summary>
/// A backup's summary: what Get-PgBackup lists and what restore needs before the file list. Stored as
/// <c>{label}.info</c> and again inside the manifest.
/// </summary>
public sealed class BackupInfo
{
    public const int CurrentFormat = 1;

    [JsonPropertyName("format")]
    public int Format { get; set; } = CurrentFormat;

    [JsonPropertyName("label")]
    public string Label { get; set; } = string.Empty;

    [JsonPropertyName("type")]
    public BackupType Type { get; set; }

    /// <summary>The backup this one was compared with (differential: the full; incremental: the latest); null for a full backup.</summary>
    [JsonPropertyName("prior")]
    public string? Prior { get; set; }

    /// <summary>Every backup whose objects a restore of this one reads, this one included, oldest first.</summary>
    [JsonPropertyName("references")]
    public List<string> References { get; set; } = [];

    [JsonPropertyName("stanza")]
    public string Stanza { get; set; } = string.Empty;

    /// <summary>As a string: JSON readers in other languages lose precision on 64-bit numbers.</summary>
    [JsonPropertyName("systemIdentifier")]
    public string SystemIdentifier { get; set; } = string.Empty;

    [JsonPropertyName("pgVersionNum")]
    public int PgVersionNum { get; set; }

    [JsonPropertyName("walSegmentSize")]
    public long WalSegmentSize { get; set; }

    /// <summary>The timeline the backup started on (START TIMELINE of backup_label).</summary>
    [JsonPropertyName("timeline")]
    public uint Timeline { get; set; }

    /// <summary>The timeline of the stop position (differs only when a standby's upstream was promoted meanwhile).</summary>
    [JsonPropertyName("stopTimeline")]
    public uint StopTimeline { get; set; }

    /// <summary>Where replay starts (the checkpoint's redo position pg_backup_start returned).</summary>
    [JsonPropertyName("startLsn")]
    public PgLsn StartLsn { get; set; }

    /// <summary>The consistency point: replay must reach it before the restored cluster may open or stop at a target.</summary>
    [JsonPropertyName("stopLsn")]
    public PgLsn StopLsn { get; set; }

    [JsonPropertyName("startWal")]
    public string StartWal { get; set; } = string.Empty;

    [JsonPropertyName("stopWal")]
    public string StopWal { get; set; } = string.Empty;

    /// <summary>When pg_backup_start returned (the checkpoint done).</summary>
    [JsonPropertyName("startTime")]
    public DateTimeOffset StartTime { get; set; }

    /// <summary>When the first file was read: an incremental backup trusts a file's timestamp only when it is older than this.</summary>
    [JsonPropertyName("copyStartTime")]
    public DateTimeOffset CopyStartTime { get; set; }

    /// <summary>When pg_backup_stop returned: no restore target before this is reachable from this backup.</summary>
    [JsonPropertyName("stopTime")]
    public DateTimeOffset StopTime { get; set; }

    /// <summary>When the WAL range was found in every required repository and the backup became complete.</summary>
    [JsonPropertyName("completedTime")]
    public DateTimeOffset CompletedTime { get; set; }

    [JsonPropertyName("fromStandby")]
    public bool FromStandby { get; set; }

    [JsonPropertyName("host")]
    public string Host { get; set; } = string.Empty;

    [JsonPropertyName("dataDirectory")]
    public string DataDirectory { get; set; } = string.Empty;

    /// <summary>The bootstrap superuser (the role with oid 10): a restore test connects as it.</summary>
    [JsonPropertyName("superuser")]
    public string Superuser { get; set; } = "postgres";

    [JsonPropertyName("compression")]
    public string Compression { get; set; } = string.Empty;

    [JsonPropertyName("checksum")]
    public string Checksum { get; set; } = string.Empty;

    [JsonPropertyName("encrypted")]
    public bool Encrypted { get; set; }

    [JsonPropertyName("fileCount")]
    public int FileCount { get; set; }

    /// <summary>Bytes of all files of the backup, as restored.</summary>
    [JsonPropertyName("originalBytes")]
    public long OriginalBytes { get; set; }

    /// <summary>Bytes of the files this backup stored itself (all of them for a full backup).</summary>
    [JsonPropertyName("newBytes")]
    public long NewBytes { get; set; }

    /// <summary>Bytes of this backup's own objects in the repository (compressed, encrypted).</summary>
    [JsonPropertyName("storedBytes")]
    public long StoredBytes { get; set; }

    [JsonPropertyName("objectCount")]
    public int ObjectCount { get; set; }

    [JsonPropertyName("pgdrVersion")]
    public string PgDrVersion { get; set; } = string.Empty;
}

/// <summary>Everything a restore needs: the summary, PostgreSQL's backup_label and tablespace_map, every directory and file.</summary>
public sealed class BackupManifest
{
    [JsonPropertyName("info")]
    public BackupInfo Info { get; set; } = new();

    /// <summary>backup_label as pg_backup_stop returned it; restore writes it into the data directory.</summary>
    [JsonPropertyName("backupLabel")]
    public string BackupLabel { get; set; } = string.Empty;

    /// <summary>tablespace_map as pg_backup_stop returned it (empty without tablespaces).</summary>
    [JsonPropertyName("tablespaceMap")]
    public string TablespaceMap { get; set; } = string.Empty;

    [JsonPropertyName("tablespaces")]
    public List<BackupTablespace> Tablespaces { get; set; } = [];

    /// <summary>Every directory, parents first, including those whose contents are never backed up (pg_wal, pg_replslot ...).</summary>
    [JsonPropertyName("directories")]
    public List<BackupDirectory> Directories { get; set; } = [];

    [JsonPropertyName("files")]
    public List<BackupFile> Files { get; set; } = [];

    /// <summary>The objects this backup stored (not those it references).</summary>
    [JsonPropertyName("objects")]
    public List<BackupObject> Objects { get; set; } = [];
}

/// <summary>A tablespace: pg_tblspc/{oid} links to {location}, whose PG_{major}_{catversion} directory is backed up.</summary>
public sealed class BackupTablespace
{
    [JsonPropertyName("oid")]
    public uint Oid { get; set; }

    [JsonPropertyName("name")]
    public string Name { get; set; } = string.Empty;

    [JsonPropertyName("location")]
    public string Location { get; set; } = string.Empty;
}

public sealed class BackupDirectory
{
    /// <summary>Relative to the data directory, '/'-separated.</summary>
    [JsonPropertyName("path")]
    public string Path { get; set; } = string.Empty;

    [JsonPropertyName("mode")]
    public int Mode { get; set; }
}

/// <summary>One file of the cluster and where its content is stored.</summary>
public sealed class BackupFile
{
    /// <summary>Relative to the data directory, '/'-separated (tablespace files under pg_tblspc/{oid}/).</summary>
    [JsonPropertyName("path")]
    public string Path { get; set; } = string.Empty;

    /// <summary>Bytes as read (and restored); a file that grew or shrank while read is stored as it was read.</summary>
    [JsonPropertyName("size")]
    public long Size { get; set; }

    /// <summary>Modification time when the backup looked at it (UTC ticks); an incremental backup compares it.</summary>
    [JsonPropertyName("mtime")]
    public long ModifiedTicks { get; set; }

    [JsonPropertyName("mode")]
    public int Mode { get; set; }

    /// <summary>The content checksum, <c>algorithm:hex</c> (the configuration's checksum, xxh128 by default).</summary>
    [JsonPropertyName("checksum")]
    public string Checksum { get; set; } = string.Empty;

    /// <summary>CRC-32C of the content as PostgreSQL's backup_manifest writes it, so pg_verifybackup can check a restore.</summary>
    [JsonPropertyName("crc32c")]
    public string Crc32C { get; set; } = string.Empty;

    /// <summary>The backup that holds the content (this one, or an earlier one for an unchanged file).</summary>
    [JsonPropertyName("backup")]
    public string Backup { get; set; } = string.Empty;

    /// <summary>The object within that backup.</summary>
    [JsonPropertyName("object")]
    public string Object { get; set; } = string.Empty;

    /// <summary>Where the content starts in the object's plaintext (a pack holds many small files one after another).</summary>
    [JsonPropertyName("offset")]
    public long Offset { get; set; }
}

/// <summary>One data object a backup stored.</summary>
public sealed class BackupObject
{
    [JsonPropertyName("id")]
    public string Id { get; set; } = string.Empty;

    /// <summary>True for a pack of small files, false for one file.</summary>
    [JsonPropertyName("pack")]
    public bool Pack { get; set; }

    [JsonPropertyName("plaintextBytes")]
    public long PlaintextBytes { get; set; }

    [JsonPropertyName("storedBytes")]
    public long StoredBytes { get; set; }

    /// <summary>The object's content checksum (<c>algorithm:hex</c>), as its final record holds it.</summary>
    [JsonPropertyName("checksum")]
    public string Checksum { get; set; } = string.Empty;
}

/// <summary>Written when a backup starts, so the next backup recognises the leftovers of one that was interrupted.</summary>
public sealed class BackupStarted
{
    [JsonPropertyName("label")]
    public string Label { get; set; } = string.Empty;

    [JsonPropertyName("host")]
    public string Host { get; set; } = string.Empty;

    [JsonPropertyName("processId")]
    public int ProcessId { get; set; }

    [JsonPropertyName("startedAt")]
    public DateTimeOffset StartedAt { get; set; }
}

[JsonSourceGenerationOptions(UseStringEnumConverter = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(BackupInfo))]
[JsonSerializable(typeof(BackupManifest))]
[JsonSerializable(typeof(BackupStarted))]
[JsonSerializable(typeof(string))]
internal sealed partial class BackupJsonContext : JsonSerializerContext;
