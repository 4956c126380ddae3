using System.Management.Automation;
using PgDr.Archive.Server;
using PgDr.Cmdlets.Infrastructure;

namespace PgDr.Cmdlets.Install;

/// <summary>
/// <para type="synopsis">Copies the module's own pgdr (the NativeAOT build in bin/&lt;rid&gt;/pgdr) where the PostgreSQL service account can run it, for hosts without the pgdr Debian package.</para>
/// <para type="description">archive_command and restore_command run pgdr as the postgres OS account, which usually cannot enter the PowerShell
/// modules folder (often under a home directory), and a module unpacked by a package manager loses its execute bit. This writes the pgdr
/// aside in the target directory, makes it executable (0755) and renames it into place, so a running archive_command keeps the file it
/// started with, then checks that the service account can run it. The default path, /usr/local/bin/pgdr, is one of the places
/// Set-PgWalArchiving and New-PgStandby look when -PgDrPath is not given (after the Debian package's /usr/bin/pgdr). -WhatIf says what
/// would be written (path: old -> new) and writes nothing; an identical pgdr already there is left alone.</para>
/// <example><code>Install-PgDrExecutable -WhatIf
/// Install-PgDrExecutable
/// Set-PgWalArchiving db-a -ConfigPath /etc/pgdr/pgdr.json -Restart</code></example>
/// <example><code>Install-PgDrExecutable -Path /opt/pgdr/bin/pgdr -ServiceAccount postgres</code></example>
/// </summary>
[Cmdlet(VerbsLifecycle.Install, "PgDrExecutable", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(PgDrInstallation))]
[PgDrCliCommand("install")]
public sealed class InstallPgDrExecutableCommand : PgDrCmdlet
{
    /// <summary>Where to install pgdr (default /usr/local/bin/pgdr; on Windows %ProgramFiles%\PgDr\pgdr.exe); an existing directory gets a pgdr inside it.</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    /// <summary>The OS account PostgreSQL runs as, which must be able to run the installed pgdr (default postgres).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ServiceAccount { get; set; }

    protected override void EndProcessing()
    {
        var request = new PgDrInstallRequest
        {
            Path = Path is null ? null : GetUnresolvedProviderPathFromPSPath(Path),
            ServiceAccount = ServiceAccount,
        };
        var plan = RunOrTerminate((_, ct) => PgDrInstallService.InstallAsync(request, apply: false, ct));
        if (plan.Action == PgDrInstallAction.None)
        {
            WriteVerbose(plan.Describe());
            WriteObject(plan);
            return;
        }

        if (ShouldProcess(plan.Path, $"Install pgdr: {plan.Describe()}"))
        {
            WriteObject(RunOrTerminate((_, ct) => PgDrInstallService.InstallAsync(request, apply: true, ct)));
        }
    }
}
