namespace PgDr.Diagnostics;

/// <summary>
/// The stable ids of Test-PgDrConfiguration's checks. Once released an id keeps its meaning: runbooks, alerts and Pester
/// tests match on these, never on the evidence text.
/// </summary>
public static class CheckIds
{
    // Connection
    public const string Connection = "Connection";

    // Settings
    public const string WalLevel = "WalLevel";
    public const string ArchiveMode = "ArchiveMode";
    public const string MaxWalSenders = "MaxWalSenders";
    public const string MaxReplicationSlots = "MaxReplicationSlots";
    public const string HotStandby = "HotStandby";
    public const string Rewind = "Rewind";
    public const string CheckpointCompletionTarget = "CheckpointCompletionTarget";
    public const string MaxSlotWalKeepSize = "MaxSlotWalKeepSize";
    public const string WalKeepSize = "WalKeepSize";
    public const string PrimaryConnInfo = "PrimaryConnInfo";
    public const string SynchronousStandbys = "SynchronousStandbys";

    // Access
    public const string ReplicationRole = "ReplicationRole";
    public const string HbaReplication = "HbaReplication";
    public const string HbaAuthentication = "HbaAuthentication";
    public const string PasswordEncryption = "PasswordEncryption";
    public const string Tls = "Tls";
    public const string ReplicationTls = "ReplicationTls";

    // Health
    public const string Archiver = "Archiver";
    public const string ArchiveBacklog = "ArchiveBacklog";
    public const string Repository = "Repository";
    public const string ArchiveSpool = "ArchiveSpool";
    public const string ReplicationSlot = "ReplicationSlot";
    public const string Streaming = "Streaming";
    public const string ReplayLag = "ReplayLag";
    public const string DiskSpace = "DiskSpace";
    public const string ClockSkew = "ClockSkew";

    // Log: one id per known failure line (ServerLogPatterns), and one for the scan itself.
    public const string LogScan = "LogScan";
    public const string LogPrimaryUnreachable = "LogPrimaryUnreachable";
    public const string LogPrimaryTimeout = "LogPrimaryTimeout";
    public const string LogPrimaryAuthentication = "LogPrimaryAuthentication";
    public const string LogTls = "LogTls";
    public const string LogStreamBroken = "LogStreamBroken";
    public const string LogWalRemoved = "LogWalRemoved";
    public const string LogWalMissing = "LogWalMissing";
    public const string LogArchiveFailed = "LogArchiveFailed";
    public const string LogPermissionDenied = "LogPermissionDenied";
    public const string LogHbaRejected = "LogHbaRejected";
    public const string LogPasswordRejected = "LogPasswordRejected";
    public const string LogTooManyWalSenders = "LogTooManyWalSenders";
    public const string LogSlotMissing = "LogSlotMissing";
    public const string LogDiskFull = "LogDiskFull";
    public const string LogReplicationTimeout = "LogReplicationTimeout";
    public const string LogRecoveryConflict = "LogRecoveryConflict";
    public const string LogCheckpointsTooFrequent = "LogCheckpointsTooFrequent";
    public const string LogTimelineDiverged = "LogTimelineDiverged";
    public const string LogSystemIdentifierMismatch = "LogSystemIdentifierMismatch";
    public const string LogPanic = "LogPanic";
}
