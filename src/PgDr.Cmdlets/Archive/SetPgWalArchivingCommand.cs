using System.Management.Automation;
using PgDr.Archive.Server;
using PgDr.Cmdlets.Infrastructure;
using PgDr.Hosting;

namespace PgDr.Cmdlets.Archive;

/// <summary>
/// <para type="synopsis">Points a node's WAL archiving at pgdr: wal_level, archive_mode, max_wal_senders, archive_timeout and archive_command through ALTER SYSTEM.</para>
/// <para type="description">Reports each setting old -> new and whether a restart is pending; -WhatIf shows exactly that and changes nothing.
/// archive_command names the configuration file, never a secret.</para>
/// <example><code>Set-PgWalArchiving db-a -ConfigPath /etc/pgdr/pgdr.json -PgDrPath /usr/local/bin/pgdr -Restart</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Set, "PgWalArchiving", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(PgWalArchivingChange))]
[PgDrCliCommand("archiving set")]
public sealed class SetPgWalArchivingCommand : PgDrInstanceCmdlet
{
    /// <summary>The PgDr configuration file (repositories, compression, key source), as the postgres OS account sees it.</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string ConfigPath { get; set; } = string.Empty;

    /// <summary>The pgdr executable archive_command runs, which the PostgreSQL service account must be able to run. Default: /usr/bin/pgdr (the Debian package), else /usr/local/bin/pgdr (Install-PgDrExecutable), else the module's own bin/&lt;rid&gt;/pgdr when that account can run it; otherwise the cmdlet stops and says how to install one.</summary>
    [Parameter]
    public string? PgDrPath { get; set; }

    /// <summary>Force a segment switch after this long without one (archive_timeout): the RPO of an idle primary. Default 60 seconds.</summary>
    [Parameter]
    public TimeSpan ArchiveTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Switch archiving off (archive_mode = off) instead.</summary>
    [Parameter]
    public SwitchParameter Disable { get; set; }

    /// <summary>
    /// archive_mode = always instead of on, so a standby archives the WAL it receives. With on, a standby archives
    /// nothing until it is promoted (the cmdlet warns when it sets that on a standby).
    /// </summary>
    [Parameter]
    public SwitchParameter ArchiveOnStandby { get; set; }

    /// <summary>Restart the node when a setting needs it, where PgDr controls the service: a server on this host run by pg_ctl, a systemd unit or a Windows service.</summary>
    [Parameter]
    public SwitchParameter Restart { get; set; }

    protected override void ProcessRecord()
    {
        // Located once for every instance: a missing pgdr is a failed precondition, not a per-node failure.
        var explicitPath = PgDrPath is null ? null : GetUnresolvedProviderPathFromPSPath(PgDrPath);
        var pgdr = Disable ? string.Empty : RunOrTerminate((_, ct) => PgDrExecutable.LocateAsync(explicitPath, OsUser.ForPostgres(), ct));
        WriteVerbose($"archive_command runs {pgdr}");
        var request = new WalArchivingRequest
        {
            PgDrPath = pgdr,
            ConfigPath = GetUnresolvedProviderPathFromPSPath(ConfigPath),
            ArchiveTimeout = ArchiveTimeout,
            Disable = Disable,
            ArchiveOnStandby = ArchiveOnStandby,
        };

        foreach (var instance in Instance)
        {
            var target = Resolve(instance);
            if (!TryRun((_, ct) => WalArchivingService.SetAsync(target, request, apply: false, restart: false, ct), out var plan))
            {
                continue;
            }

            if (plan.Note is not null)
            {
                WriteWarning(plan.Note);
            }

            var changes = string.Join("; ", plan.Settings.Where(s => s.Changed).Select(s => s.ToString()));
            if (changes.Length == 0)
            {
                WriteVerbose($"{target}: archiving is already set as asked.");
                WriteObject(plan);
                continue;
            }

            var restart = Restart && plan.Settings.Any(s => s.RequiresRestart);
            if (ShouldProcess(target.ToString(), $"Set WAL archiving: {changes}{(restart ? "; then restart PostgreSQL" : string.Empty)}")
                && TryRun((_, ct) => WalArchivingService.SetAsync(target, request, apply: true, restart, ct), out var applied))
            {
                WriteObject(applied);
            }
        }
    }
}
