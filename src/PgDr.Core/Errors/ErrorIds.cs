namespace PgDr.Errors;

/// <summary>
/// The stable error ids. Once released an id keeps its meaning: runbooks and tests match on these.
/// </summary>
public static class ErrorIds
{
    // The module itself: an assembly of the engine's could not be loaded (an incomplete install)
    public const string ModuleLoadFailed = "ModuleLoadFailed";

    // Connections
    public const string InvalidInstance = "InvalidInstance";
    public const string HostUnreachable = "HostUnreachable";
    public const string AuthenticationFailed = "AuthenticationFailed";
    public const string ConnectionFailed = "ConnectionFailed";
    public const string QueryFailed = "QueryFailed";
    public const string InsufficientPrivilege = "InsufficientPrivilege";
    public const string TlsFailed = "TlsFailed";

    // Topology
    public const string NodeIsStandby = "NodeIsStandby";
    public const string NodeIsPrimary = "NodeIsPrimary";

    // Replication
    public const string InvalidSlotName = "InvalidSlotName";
    public const string ReplicationSlotNotFound = "ReplicationSlotNotFound";
    public const string ReplicationSlotExists = "ReplicationSlotExists";
    public const string ReplicationSlotActive = "ReplicationSlotActive";
    public const string InvalidThreshold = "InvalidThreshold";

    // Standby creation
    public const string InvalidStandbyRequest = "InvalidStandbyRequest";
    public const string DataDirectoryNotEmpty = "DataDirectoryNotEmpty";
    public const string DataDirectoryNotWritable = "DataDirectoryNotWritable";
    public const string DataDirectoryIsUpstream = "DataDirectoryIsUpstream";
    public const string SystemIdentifierMismatch = "SystemIdentifierMismatch";
    public const string ServiceAccountAccessDenied = "ServiceAccountAccessDenied";
    public const string PasswordFileNotFound = "PasswordFileNotFound";
    public const string PasswordFileInsecure = "PasswordFileInsecure";
    public const string BaseBackupFailed = "BaseBackupFailed";
    public const string StandbyNotStreaming = "StandbyNotStreaming";

    // Synchronous replication
    public const string InvalidSynchronousReplication = "InvalidSynchronousReplication";
    public const string SynchronousStandbyNotConnected = "SynchronousStandbyNotConnected";

    // Hosting and sandbox
    public const string PostgresBinariesNotFound = "PostgresBinariesNotFound";
    public const string OsUserNotFound = "OsUserNotFound";
    public const string ExternalCommandFailed = "ExternalCommandFailed";
    public const string SandboxExists = "SandboxExists";
    public const string SandboxNotFound = "SandboxNotFound";
    public const string SandboxDirectoryNotAccessible = "SandboxDirectoryNotAccessible";
    public const string InvalidSandboxSpec = "InvalidSandboxSpec";
    public const string ClusterStartFailed = "ClusterStartFailed";
    public const string ClusterStopFailed = "ClusterStopFailed";
    public const string Timeout = "Timeout";

    // Service control (pg_ctl, systemd, Windows services)
    public const string InvalidServiceSpec = "InvalidServiceSpec";
    public const string ServiceNotFound = "ServiceNotFound";
    public const string ServiceNotControlled = "ServiceNotControlled";

    // Archiving settings on the server
    public const string InvalidArchivingRequest = "InvalidArchivingRequest";
    public const string PgDrExecutableNotFound = "PgDrExecutableNotFound";
    public const string PgDrExecutableNotInstallable = "PgDrExecutableNotInstallable";
    public const string PgDrInstallFailed = "PgDrInstallFailed";

    /// <summary>The OS account the server runs as cannot execute the pgdr that archive_command names.</summary>
    public const string PgDrNotExecutable = "PgDrNotExecutable";

    // Archive
    public const string InvalidWalFileName = "InvalidWalFileName";
    public const string InvalidWalSegmentSize = "InvalidWalSegmentSize";
    public const string NotAWalSegment = "NotAWalSegment";
    public const string InvalidCompressionSpec = "InvalidCompressionSpec";
    public const string CompressionLibraryMissing = "CompressionLibraryMissing";
    public const string ArchiveKeyNotFound = "ArchiveKeyNotFound";

    /// <summary>The key file exists but this OS account may not read it (or a directory above it).</summary>
    public const string ArchiveKeyAccessDenied = "ArchiveKeyAccessDenied";
    public const string InvalidArchiveKey = "InvalidArchiveKey";
    public const string KeyFileInsecure = "KeyFileInsecure";
    public const string ArchiveKeyRequired = "ArchiveKeyRequired";
    public const string ArchiveKeyMismatch = "ArchiveKeyMismatch";
    public const string ArchiveObjectNotEncrypted = "ArchiveObjectNotEncrypted";
    public const string ArchiveObjectCorrupt = "ArchiveObjectCorrupt";
    public const string ArchiveFormatUnsupported = "ArchiveFormatUnsupported";
    public const string InvalidArchiveObjectOptions = "InvalidArchiveObjectOptions";

    // Envelope encryption (a key service wraps each object's data key)

    /// <summary>The key service refused to use the key: disabled, scheduled for deletion, not found, or not granted to this identity.</summary>
    public const string KmsKeyUnusable = "KmsKeyUnusable";

    /// <summary>The key service could not be reached or failed.</summary>
    public const string KmsUnavailable = "KmsUnavailable";

    // Configuration, push and fetch
    public const string ConfigNotFound = "ConfigNotFound";

    /// <summary>The configuration file exists but this OS account may not read it (or a directory above it).</summary>
    public const string ConfigAccessDenied = "ConfigAccessDenied";
    public const string InvalidConfig = "InvalidConfig";
    public const string StanzaMismatch = "StanzaMismatch";
    public const string WalAlreadyArchivedDifferently = "WalAlreadyArchivedDifferently";
    public const string WalNotFound = "WalNotFound";
    public const string WalFetchFailed = "WalFetchFailed";

    // Async archiving
    public const string AsyncSpoolUnavailable = "AsyncSpoolUnavailable";
    public const string AsyncWorkerStartFailed = "AsyncWorkerStartFailed";
    public const string AsyncAcknowledgementTimeout = "AsyncAcknowledgementTimeout";
    public const string AsyncPushTimeout = "AsyncPushTimeout";

    // Repositories
    public const string InvalidObjectKey = "InvalidObjectKey";
    public const string InvalidRepositoryConfig = "InvalidRepositoryConfig";
    public const string RepositoryNotFound = "RepositoryNotFound";
    public const string RepositoryUnavailable = "RepositoryUnavailable";
    public const string RepositoryAccessDenied = "RepositoryAccessDenied";
    public const string RepositoryFull = "RepositoryFull";
    public const string RepositoryOperationFailed = "RepositoryOperationFailed";

    // Base backups
    public const string InvalidBackupRequest = "InvalidBackupRequest";
    public const string BackupNotFound = "BackupNotFound";
    public const string BackupInProgress = "BackupInProgress";
    public const string BackupSourceMismatch = "BackupSourceMismatch";
    public const string BackupSourceUnreadable = "BackupSourceUnreadable";
    public const string BackupUnsupportedVersion = "BackupUnsupportedVersion";
    public const string BackupWalNotArchived = "BackupWalNotArchived";
    public const string BackupChainBroken = "BackupChainBroken";

    // Restore
    public const string InvalidRestoreRequest = "InvalidRestoreRequest";
    public const string RestoreTargetNotEmpty = "RestoreTargetNotEmpty";
    public const string RestoreTargetRunning = "RestoreTargetRunning";
    public const string RestoreTargetBeforeConsistency = "RestoreTargetBeforeConsistency";
    public const string RestoreTargetAfterArchive = "RestoreTargetAfterArchive";
    public const string RestoreTimelineNotInArchive = "RestoreTimelineNotInArchive";
    public const string RestoreWalGap = "RestoreWalGap";
    public const string RestoreCommandNotUsable = "RestoreCommandNotUsable";

    // Restore tests and retention
    public const string InvalidBackupTestRequest = "InvalidBackupTestRequest";
    public const string BackupTestFailed = "BackupTestFailed";
    public const string InvalidRetention = "InvalidRetention";

    // Failover: the single-writer lease, fencing, promotion, switchover, rejoin
    public const string LeaseConflict = "LeaseConflict";
    public const string LeaseHeldByLiveHolder = "LeaseHeldByLiveHolder";
    public const string LeaseHolderMismatch = "LeaseHolderMismatch";
    public const string LeaseRepositoryUnsupported = "LeaseRepositoryUnsupported";
    public const string DataLossExceedsLimit = "DataLossExceedsLimit";
    public const string DataLossUnknown = "DataLossUnknown";
    public const string FenceNotConfirmed = "FenceNotConfirmed";
    public const string PromotionFailed = "PromotionFailed";
    public const string WriteCheckFailed = "WriteCheckFailed";
    public const string NoReplicationConnInfo = "NoReplicationConnInfo";
    public const string SwitchoverTargetLagging = "SwitchoverTargetLagging";
    public const string RejoinWouldDiscardData = "RejoinWouldDiscardData";
    public const string RejoinNodeHoldsLease = "RejoinNodeHoldsLease";
    public const string RejoinNeedsBaseBackup = "RejoinNeedsBaseBackup";
    public const string RewindFailed = "RewindFailed";

    // The node agent (pgdr agent): its HTTP endpoint's port is taken, or it was asked to run without an agent section
    public const string AgentPortInUse = "AgentPortInUse";
    public const string AgentEventLogNotFound = "AgentEventLogNotFound";

    // Another node's agent (GET /status) did not answer, or answered with something that is not its status
    public const string AgentUnreachable = "AgentUnreachable";
}
