using System.Management.Automation;
using PgDr.Cmdlets.Infrastructure;
using PgDr.Hosting.Sandbox;

namespace PgDr.Cmdlets.Sandbox;

/// <summary>
/// <para type="synopsis">Builds a local multi-region topology on loopback: a primary (region-a) and standbys streaming through their own slots.</para>
/// <para type="description">Finds PostgreSQL's programs, runs initdb for the primary on a free loopback port with SCRAM authentication, and
/// clones each standby with pg_basebackup through its own physical slot, then waits until every standby streams. Run as
/// root, the servers run as the postgres account, so the directory must be reachable by it. Ctrl+C, or any failure,
/// stops what was started and removes the directory: nothing half-built stays behind.</para>
/// <example><code>$sb = New-PgDrSandbox -StandbyCount 2 -Cascading; $sb.Nodes | Get-PgDrNode</code></example>
/// <example><code>$sb = New-PgDrSandbox -Tls; $sb.Nodes | Test-PgDrConfiguration | Where-Object Area -eq Access</code></example>
/// </summary>
[Cmdlet(VerbsCommon.New, "PgDrSandbox", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(PgSandbox))]
[PgDrCliCommand("sandbox up")]
public sealed class NewPgDrSandboxCommand : PgDrCmdlet
{
    /// <summary>A new or empty directory (default: $env:PGDR_SANDBOX, else pgdr-sandbox in the temp directory).</summary>
    [Parameter(Position = 0)]
    public string? Path { get; set; }

    /// <summary>Standbys streaming from the primary (region-b, region-c, ...).</summary>
    [Parameter]
    [ValidateRange(0, SandboxService.MaxStandbys)]
    public int StandbyCount { get; set; } = 2;

    /// <summary>Adds region-b2, streaming from region-b.</summary>
    [Parameter]
    public SwitchParameter Cascading { get; set; }

    /// <summary>PostgreSQL's bin directory; found automatically otherwise.</summary>
    [Parameter]
    public string? BinDirectory { get; set; }

    /// <summary>TLS everywhere: the sandbox's own CA (in its tls folder), hostssl only, and every node object, connection and stream verify-full against that CA.</summary>
    [Parameter]
    public SwitchParameter Tls { get; set; }

    protected override void EndProcessing()
    {
        var directory = Path is null ? SandboxService.DefaultDirectory : GetUnresolvedProviderPathFromPSPath(Path);
        var what = $"Create a primary and {StandbyCount} standby(s){(Cascading ? " plus a cascading standby" : string.Empty)}, listening on 127.0.0.1{(Tls ? " with TLS only" : string.Empty)}";
        if (!ShouldProcess(directory, what))
        {
            return;
        }

        var spec = new SandboxSpec { Directory = directory, Standbys = StandbyCount, Cascading = Cascading, BinDirectory = BinDirectory, Tls = Tls };
        WriteObject(RunOrTerminate((progress, ct) => SandboxService.CreateAsync(spec, progress, ct)));
    }
}
