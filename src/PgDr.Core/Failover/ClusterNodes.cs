using System.Globalization;
using Npgsql;
using PgDr.Connections;
using PgDr.Errors;
using PgDr.Topology;

namespace PgDr.Failover;

/// <summary>How failover, switchover and rejoin name nodes, reach the ones they are not given, and read settings.</summary>
public static class ClusterNodes
{
    /// <summary>A node's name in the lease and in results: its cluster_name, else host:port.</summary>
    public static string NameOf(PgNode node) => node.ClusterName ?? node.Name;

    /// <summary>
    /// The node at <paramref name="hostPort"/> (host:port, as a lease or primary_conninfo names it) with the user,
    /// password and TLS settings of <paramref name="template"/>: every node of one cluster is reached alike.
    /// </summary>
    public static PgInstance WithCredentialsOf(PgInstance template, string hostPort)
    {
        ArgumentNullException.ThrowIfNull(template);
        var parsed = PgInstance.Parse(hostPort);
        return new PgInstance(parsed.Host, parsed.Port, template.Database, template.Username, template.Password, template.SslMode, template.RootCertificate, template.ClientCertificate, template.ClientKey);
    }

    /// <summary>The upstream a standby is configured to stream from (its primary_conninfo), or null when it names none.</summary>
    public static async Task<PgInstance?> ConfiguredUpstreamAsync(PgInstance standby, CancellationToken cancellationToken)
    {
        var conninfo = await SettingAsync(standby, "primary_conninfo", cancellationToken).ConfigureAwait(false);
        if (string.IsNullOrWhiteSpace(conninfo) || !ConnInfo.TryParse(conninfo, out var parsed, out _) || parsed["host"] is not { Length: > 0 } host)
        {
            return null;
        }

        var port = int.TryParse(parsed["port"], NumberStyles.None, CultureInfo.InvariantCulture, out var p) ? p : PgInstance.DefaultPort;
        return WithCredentialsOf(standby, new PgInstance(host, port).Name);
    }

    /// <summary>current_setting(name) on a node; empty when the setting is empty.</summary>
    public static Task<string> SettingAsync(PgInstance instance, string name, CancellationToken cancellationToken) =>
        PgConnector.RunAsync(instance, conn => SettingAsync(conn, name, cancellationToken), cancellationToken);

    public static async Task<string> SettingAsync(NpgsqlConnection connection, string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using var cmd = new NpgsqlCommand("SELECT current_setting($1)", connection);
        cmd.Parameters.AddWithValue(name);
        return (string)(await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>Reads a node, or returns why it could not be read (unreachable, refused): for nodes that may be gone.</summary>
    public static async Task<(PgNode? Node, PgDrException? Failure)> TryReadAsync(PgInstance instance, CancellationToken cancellationToken)
    {
        try
        {
            return (await NodeInspector.GetNodeAsync(instance, cancellationToken).ConfigureAwait(false), null);
        }
        catch (PgDrConnectionException ex)
        {
            return (null, ex);
        }
    }

    /// <summary>
    /// The same, but a node that does not answer within <paramref name="timeout"/> (null: the connection timeout) counts as
    /// unreachable: across a partition a connection attempt hangs instead of failing.
    /// </summary>
    public static async Task<(PgNode? Node, PgDrException? Failure)> TryReadAsync(PgInstance instance, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        if (timeout is not { } limit)
        {
            return await TryReadAsync(instance, cancellationToken).ConfigureAwait(false);
        }

        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(limit);
        try
        {
            return await TryReadAsync(instance, bounded.Token).WaitAsync(limit, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException && !cancellationToken.IsCancellationRequested)
        {
            return (null, new PgDrConnectionException(ErrorIds.HostUnreachable, PgDrErrorCategory.ConnectionError, $"Cannot reach {instance}: no answer within {limit.TotalSeconds:0.#} s.", instance, ex));
        }
    }

    /// <summary>Refuses a node of another cluster: physical replication only joins nodes that share pg_control's identifier.</summary>
    public static void RequireSameCluster(PgNode node, ulong systemIdentifier, string whose)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (node.SystemIdentifier != systemIdentifier)
        {
            throw new PgDrInvalidOperationException(
                ErrorIds.SystemIdentifierMismatch,
                $"{node.Name} belongs to cluster {node.SystemIdentifier}, but {whose} is cluster {systemIdentifier}: it is not a standby of this cluster. Nothing was changed.",
                node.Instance);
        }
    }
}
