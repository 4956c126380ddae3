using PgDr.Connections;
using PgDr.Errors;
using PgDr.Failover.Promotion;
using PgDr.Hosting;
using PgDr.Replication;

namespace PgDr.Failover;

/// <summary>
/// Turns a stopped data directory into a standby of a new primary: standby.signal, primary_conninfo and
/// primary_slot_name in postgresql.auto.conf, a slot on the new primary, the fence's read-only default removed.
/// Switchover does it to the old primary; rejoin after its rewind.
/// </summary>
public static class StandbyConversion
{
    /// <summary>
    /// The primary_conninfo a node uses to stream from <paramref name="newPrimary"/>: the new primary's own former
    /// primary_conninfo (same replication user, password file and TLS settings; a promoted node keeps the setting)
    /// pointed at it, with the node's name as application_name.
    /// </summary>
    public static async Task<ConnInfo> ConnInfoForAsync(PgInstance newPrimary, string nodeName, CancellationToken cancellationToken)
    {
        var template = await ClusterNodes.SettingAsync(newPrimary, "primary_conninfo", cancellationToken).ConfigureAwait(false);
        if (string.IsNullOrWhiteSpace(template))
        {
            throw new PgDrInvalidOperationException(
                ErrorIds.NoReplicationConnInfo,
                $"{newPrimary} has no primary_conninfo to take the replication user and password file from (it was never a standby); make {nodeName} a standby with New-PgStandby instead.",
                newPrimary);
        }

        var conninfo = PrimaryConnInfo.Repoint(template, newPrimary);
        conninfo["application_name"] = nodeName;
        return conninfo;
    }

    /// <summary>Writes the standby settings into the stopped data directory and makes sure its slot exists on the new primary.</summary>
    public static async Task<string> ConfigureAsync(ControlledNode cluster, string nodeName, PgInstance newPrimary, ConnInfo conninfo, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(conninfo);
        var slot = ReplicationSlotName.FromNodeName(nodeName);
        await StandbyRepointer.EnsureSlotAsync(newPrimary, slot, cancellationToken).ConfigureAwait(false);
        PostgresAutoConf.Write(cluster.DataDirectory, new Dictionary<string, string?>
        {
            ["primary_conninfo"] = conninfo.ToString(),
            ["primary_slot_name"] = slot,

            // Put there by the failover's fence; a standby does not need it and a later promotion must not inherit it.
            ["default_transaction_read_only"] = null,
        });
        Fencing.Fence.MarkAsStandby(cluster.DataDirectory);
        return slot;
    }

    /// <summary>Starts the converted standby and waits until it streams from the new primary.</summary>
    public static async Task<bool> StartAndWaitAsync(ControlledNode cluster, PgInstance node, PgInstance newPrimary, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        await cluster.StartAsync(cancellationToken).ConfigureAwait(false);
        return await StandbyRepointer.WaitForStreamingAsync(node, newPrimary, StandbyRepointer.StreamingWait, cancellationToken).ConfigureAwait(false);
    }
}
