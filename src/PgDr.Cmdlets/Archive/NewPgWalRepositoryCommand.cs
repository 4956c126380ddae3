using System.Management.Automation;
using PgDr.Archive.Configuration;
using PgDr.Archive.Stanza;
using PgDr.Cmdlets.Infrastructure;

namespace PgDr.Cmdlets.Archive;

/// <summary>
/// <para type="synopsis">Creates the configured WAL repositories for a node's cluster before archiving starts: the directory (owned by the account PostgreSQL runs as), bucket or container, and the stanza's identity; then proves the archiving account can write there.</para>
/// <para type="description">What pgBackRest's stanza-create does. A filesystem repository is created on this host with mode 0750 and handed
/// to the postmaster's account (a node on this host) or the postgres account; a bucket or container is created when missing with the
/// credentials the configuration names. An identity that names another cluster is refused (StanzaMismatch) and nothing is changed;
/// one that names this cluster is kept. -WhatIf lists every step and changes nothing.</para>
/// <example><code>New-PgWalRepository db-a -ConfigPath /etc/pgdr/pgdr.json -WhatIf</code></example>
/// <example><code>New-PgWalRepository db-a -ConfigPath /etc/pgdr/pgdr.json -Repository region-b | Format-List</code></example>
/// </summary>
[Cmdlet(VerbsCommon.New, "PgWalRepository", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(PgWalRepository))]
[PgDrCliCommand("repo create")]
public sealed class NewPgWalRepositoryCommand : PgDrInstanceCmdlet
{
    /// <summary>The PgDr configuration file that names the repositories and the stanza (default: $env:PGDR_CONFIG, else /etc/pgdr/pgdr.json).</summary>
    [Parameter]
    public string? ConfigPath { get; set; }

    /// <summary>Only this repository (by its name in the configuration); by default all of them.</summary>
    [Parameter]
    public string? Repository { get; set; }

    protected override void ProcessRecord()
    {
        var path = ConfigPath is null ? null : GetUnresolvedProviderPathFromPSPath(ConfigPath);
        var config = RunOrTerminate((_, _) => Task.FromResult(PgDrConfig.Load(path)));
        foreach (var instance in Instance)
        {
            var target = Resolve(instance);
            if (!TryRun((_, ct) => WalRepositoryService.PlanAsync(target, config, Repository, ct), out var plans))
            {
                continue;
            }

            foreach (var plan in plans)
            {
                if (ShouldProcess($"{plan.Repository} ({plan.Location})", string.Join("; ", plan.Actions))
                    && TryRun((_, ct) => WalRepositoryService.CreateAsync(target, config, plan.Repository, ct), out var created))
                {
                    WriteObject(created, enumerateCollection: true);
                }
            }
        }
    }
}
