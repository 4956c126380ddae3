using System.Management.Automation;
using PgDr.Archive.Server;
using PgDr.Cmdlets.Infrastructure;

namespace PgDr.Cmdlets.Archive;

/// <summary>
/// <para type="synopsis">Points a node's WAL archiving at pgdr: wal_level, archive_mode, max_wal_senders, archive_timeout and archive_command through ALTER SYSTEM; or, with -Disable, switches archiving off.</para>
/// <para type="description">Reports each setting old -> new and whether a restart is pending; -WhatIf shows exactly that and changes nothing.
/// archive_command names the configuration file, never a secret. On a node on this host it first runs pgdr as the
/// server's OS account, with the server's environment, and refuses a pgdr that account cannot execute or a
/// configuration or key it cannot read (PgDrNotExecutable, ConfigAccessDenied, ArchiveKeyAccessDenied ...), before
/// anything is changed. -Disable sets archive_mode = off (a restart) and leaves the other settings as they are.</para>
/// <example><code>Set-PgWalArchiving db-a -ConfigPath /etc/pgdr/pgdr.json -PgDrPath /usr/local/bin/pgdr -Restart</code></example>
/// <example><code>Set-PgWalArchiving db-a -Disable -Restart</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Set, "PgWalArchiving", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = EnableSet)]
[OutputType(typeof(PgWalArchivingChange))]
[PgDrCliCommand("archiving set")]
public sealed class SetPgWalArchivingCommand : PgDrInstanceCmdlet
{
    private const string EnableSet = "Enable";
    private const string DisableSet = "Disable";

    /// <summary>The PgDr configuration file (repositories, compression, key source), as the postgres OS account sees it.</summary>
    [Parameter(Mandatory = true, ParameterSetName = EnableSet)]
    [ValidateNotNullOrEmpty]
    public string ConfigPath { get; set; } = string.Empty;

    /// <summary>The pgdr executable archive_command runs; by default the pgdr found on PATH.</summary>
    [Parameter(ParameterSetName = EnableSet)]
    public string? PgDrPath { get; set; }

    /// <summary>Force a segment switch after this long without one (archive_timeout): the RPO of an idle primary. Default 60 seconds.</summary>
    [Parameter(ParameterSetName = EnableSet)]
    public TimeSpan ArchiveTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Switch archiving off (archive_mode = off) instead; needs neither -ConfigPath nor -PgDrPath.</summary>
    [Parameter(Mandatory = true, ParameterSetName = DisableSet)]
    public SwitchParameter Disable { get; set; }

    /// <summary>
    /// archive_mode = always instead of on, so a standby archives the WAL it receives. With on, a standby archives
    /// nothing until it is promoted (the cmdlet warns when it sets that on a standby).
    /// </summary>
    [Parameter(ParameterSetName = EnableSet)]
    public SwitchParameter ArchiveOnStandby { get; set; }

    /// <summary>Restart the node when a setting needs it, where PgDr controls the service: a server on this host run by pg_ctl, a systemd unit or a Windows service.</summary>
    [Parameter]
    public SwitchParameter Restart { get; set; }

    protected override void ProcessRecord()
    {
        WalArchivingRequest request;
        try
        {
            // Located once for every instance: a missing pgdr is a failed precondition, not a per-node failure.
            request = Disable
                ? WalArchivingRequest.Disabling()
                : new WalArchivingRequest
                {
                    PgDrPath = PgDrExecutable.Locate(PgDrPath is null ? null : GetUnresolvedProviderPathFromPSPath(PgDrPath)),
                    ConfigPath = GetUnresolvedProviderPathFromPSPath(ConfigPath),
                    ArchiveTimeout = ArchiveTimeout,
                    ArchiveOnStandby = ArchiveOnStandby,
                };
        }
        catch (PgDr.Errors.PgDrException ex)
        {
            ThrowTerminatingError(ToErrorRecord(ex));
            return;
        }

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

            if (plan.AccessCheckedAs is { } account)
            {
                WriteVerbose($"{target}: the OS account '{account}' can run {request.PgDrPath} and read {request.ConfigPath} and its key.");
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
