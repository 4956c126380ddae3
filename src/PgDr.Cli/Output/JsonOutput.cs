using System.Text.Json;
using System.Text.Json.Serialization;
using PgDr.Archive.Server;
using PgDr.Archive.Transfer;
using PgDr.Hosting.Sandbox;
using PgDr.Replication;
using PgDr.Topology;

namespace PgDr.Cli.Output;

/// <summary>--json output through source-generated serializers (no reflection, so pgdr can be published ahead of time).</summary>
internal static class JsonOutput
{
    public static void Write<T>(T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo)
    {
        Console.Out.WriteLine(JsonSerializer.Serialize(value, typeInfo));
    }
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UseStringEnumConverter = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(IReadOnlyList<PgNode>))]
[JsonSerializable(typeof(IReadOnlyList<PgReplicationLag>))]
[JsonSerializable(typeof(IReadOnlyList<PgReplicationSlot>))]
[JsonSerializable(typeof(IReadOnlyList<PgReplicationSlotHealth>))]
[JsonSerializable(typeof(PgReplicationSlotRemoval))]
[JsonSerializable(typeof(PgReplicationSlot))]
[JsonSerializable(typeof(PgDr.Replication.Standby.PgStandby))]
[JsonSerializable(typeof(PgDr.Replication.Synchronous.PgSynchronousReplicationChange))]
[JsonSerializable(typeof(IReadOnlyList<PgSandboxNodeStatus>))]
[JsonSerializable(typeof(IReadOnlyList<PgSandboxNode>))]
[JsonSerializable(typeof(PgWalArchivingChange))]
[JsonSerializable(typeof(PgDr.Archive.Configuration.PgDrConfigCheckResult))]
[JsonSerializable(typeof(IReadOnlyList<PgDr.Archive.Stanza.PgWalRepository>))]
[JsonSerializable(typeof(WalPushResult))]
[JsonSerializable(typeof(WalFetchResult))]
[JsonSerializable(typeof(PgDr.Archive.Async.AsyncWalPushResult))]
[JsonSerializable(typeof(IReadOnlyList<PgWalArchiveTimeline>))]
[JsonSerializable(typeof(IReadOnlyList<PgWalArchiveVerification>))]
[JsonSerializable(typeof(IReadOnlyList<PgWalArchivingHealth>))]
[JsonSerializable(typeof(PgDr.Backup.Create.PgBackupResult))]
[JsonSerializable(typeof(PgDr.Backup.Catalog.PgBackupListing))]
[JsonSerializable(typeof(PgDr.Backup.Restore.PgRestoreResult))]
[JsonSerializable(typeof(IReadOnlyList<PgDr.Backup.Verify.PgBackupTest>))]
[JsonSerializable(typeof(IReadOnlyList<PgDr.Backup.Retention.PgBackupExpiry>))]
[JsonSerializable(typeof(PgDrInstallation))]
[JsonSerializable(typeof(PgDr.Failover.PgFailoverResult))]
[JsonSerializable(typeof(PgDr.Failover.Switchover.PgSwitchoverResult))]
[JsonSerializable(typeof(PgDr.Failover.Rejoin.PgRejoinResult))]
[JsonSerializable(typeof(PgDr.Failover.Lease.PgDrLease))]
[JsonSerializable(typeof(IReadOnlyList<PgDr.Diagnostics.PgDrCheck>))]
[JsonSerializable(typeof(IReadOnlyList<string>))]
[JsonSerializable(typeof(IReadOnlyList<PgDr.Agent.Events.PgDrAgentEvent>))]
[JsonSerializable(typeof(PgDr.Agent.Events.PgDrAgentEvent))]
internal sealed partial class PgDrJsonContext : JsonSerializerContext;
