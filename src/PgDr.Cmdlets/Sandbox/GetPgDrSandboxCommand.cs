using System.Management.Automation;
using PgDr.Cmdlets.Infrastructure;
using PgDr.Hosting.Sandbox;

namespace PgDr.Cmdlets.Sandbox;

/// <summary>
/// <para type="synopsis">Shows each sandbox node's role, timeline, WAL positions and lag behind its upstream.</para>
/// <para type="description">Reads the sandbox's state file and asks each node for its role, timeline and WAL positions, and each upstream for
/// its standbys' lag, so a stopped or lagging node shows up at once. Pipe New-PgDrSandbox's result, or give -Path.</para>
/// <example><code>Get-PgDrSandbox | Where-Object ByteLag -gt 0</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Get, "PgDrSandbox")]
[OutputType(typeof(PgSandboxNodeStatus))]
[PgDrCliCommand("sandbox status")]
public sealed class GetPgDrSandboxCommand : PgDrCmdlet
{
    /// <summary>The sandbox directory (default: $env:PGDR_SANDBOX, else pgdr-sandbox in the temp directory).</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Directory")]
    public string? Path { get; set; }

    protected override void ProcessRecord()
    {
        var directory = Path is null ? SandboxService.DefaultDirectory : GetUnresolvedProviderPathFromPSPath(Path);
        if (TryRun(async (_, ct) =>
            {
                var sandbox = await SandboxService.OpenAsync(directory, ct).ConfigureAwait(false);
                return await SandboxService.GetStatusAsync(sandbox, ct).ConfigureAwait(false);
            }, out var status))
        {
            WriteObject(status, enumerateCollection: true);
        }
    }
}
