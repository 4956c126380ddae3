using System.Management.Automation;
using PgDr.Cmdlets.Infrastructure;
using PgDr.Hosting.Sandbox;

namespace PgDr.Cmdlets.Sandbox;

/// <summary>
/// <para type="synopsis">Stops every node of a sandbox and deletes its directory (only a directory that holds a sandbox).</para>
/// <para type="description">Stops every node and deletes the sandbox directory. A directory without
/// a sandbox's state file is refused (SandboxNotFound), so it never deletes anything else. ConfirmImpact is High: it asks
/// unless -Confirm:$false.</para>
/// <example><code>New-PgDrSandbox -Path ./drill | Remove-PgDrSandbox -Confirm:$false</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "PgDrSandbox", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(void))]
[PgDrCliCommand("sandbox down")]
public sealed class RemovePgDrSandboxCommand : PgDrCmdlet
{
    /// <summary>The sandbox directory (default: $env:PGDR_SANDBOX, else pgdr-sandbox in the temp directory).</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Directory")]
    public string? Path { get; set; }

    protected override void ProcessRecord()
    {
        var directory = Path is null ? SandboxService.DefaultDirectory : GetUnresolvedProviderPathFromPSPath(Path);
        if (ShouldProcess(directory, "Stop every sandbox node and delete the directory with all its data"))
        {
            TryRun(async (progress, ct) =>
            {
                await SandboxService.RemoveAsync(directory, progress, ct).ConfigureAwait(false);
                return true;
            }, out _);
        }
    }
}
