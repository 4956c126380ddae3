using System.Management.Automation;
using PgDr.Cmdlets.Infrastructure;
using PgDr.Failover.Lease;

namespace PgDr.Cmdlets.Failover;

/// <summary>
/// <para type="synopsis">Reads the cluster's single-writer lease: which node may be the writable primary, and its generation.</para>
/// <para type="description">The lease lives in the configuration's lease repository under the stanza and changes only by
/// compare-and-swap; its generation (fencing term) grows on every change of holder. Writes nothing when no lease was ever taken.</para>
/// <example><code>Get-PgDrLease -ConfigPath /etc/pgdr/pgdr.json | Format-List *</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Get, "PgDrLease")]
[OutputType(typeof(PgDrLease))]
[PgDrCliCommand("lease show")]
public sealed class GetPgDrLeaseCommand : PgDrCmdlet
{
    /// <summary>The PgDr configuration (default: $env:PGDR_CONFIG, else the system file).</summary>
    [Parameter(Position = 0)]
    public string? ConfigPath { get; set; }

    protected override void EndProcessing()
    {
        var path = ConfigPath is null ? null : GetUnresolvedProviderPathFromPSPath(ConfigPath);
        var lease = RunOrTerminate(async (_, ct) =>
        {
            var store = LeaseStore.Open(PgDr.Archive.Configuration.PgDrConfig.Load(path));
            await using (store.ConfigureAwait(false))
            {
                return await store.ReadAsync(ct).ConfigureAwait(false);
            }
        });
        if (lease is not null)
        {
            WriteObject(lease);
        }
    }
}
