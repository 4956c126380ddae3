using System.Management.Automation;
using PgDr.Connections;
using PgDr.Failover.Lease;

namespace PgDr.Cmdlets.Infrastructure;

/// <summary>
/// Base of the cmdlets that change who is primary (failover, switchover, rejoin): the configuration whose lease
/// repository keeps the single-writer lease, and one credential for every node of the cluster.
/// </summary>
public abstract class PgDrFailoverCmdlet : PgDrCmdlet
{
    /// <summary>The PgDr configuration whose lease repository keeps the lease (default: $env:PGDR_CONFIG, else the system file).</summary>
    [Parameter]
    public string? ConfigPath { get; set; }

    /// <summary>User and password for every node; otherwise PGUSER/PGPASSWORD or the pgpass file apply.</summary>
    [Parameter]
    [Credential]
    public PSCredential? Credential { get; set; }

    /// <summary>The instance with -Credential applied.</summary>
    protected PgInstance WithCredential(PgInstance instance) =>
        Credential is null ? instance : instance.WithCredential(Credential.UserName, Credential.GetNetworkCredential().Password);

    /// <summary>Runs <paramref name="body"/> with the configured lease store (null when no configuration exists), closed afterwards.</summary>
    protected void WithLease(Action<LeaseStore?> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var path = ConfigPath is null ? null : GetUnresolvedProviderPathFromPSPath(ConfigPath);
        var lease = RunOrTerminate((_, _) => Task.FromResult(LeaseStore.OpenConfigured(path)));
        try
        {
            body(lease);
        }
        finally
        {
            lease?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}
