using System.Management.Automation;
using PgDr.Archive.Configuration;
using PgDr.Archive.Transfer;
using PgDr.Cmdlets.Completion;
using PgDr.Cmdlets.Infrastructure;

namespace PgDr.Cmdlets.Archive;

/// <summary>
/// <para type="synopsis">Shows what each repository holds per timeline: first and last segment, count, size, and the gaps that would break recovery.</para>
/// <para type="description">Lists every repository of the PgDr configuration (filesystem, S3, Azure Blob) and groups the archived WAL by
/// timeline: first and last segment, count, stored size, and the missing segments between them. Continuous is false when
/// a point-in-time recovery through that timeline would stop at a gap. Nothing is downloaded.</para>
/// <example><code>Get-PgWalArchive -ConfigPath /etc/pgdr/pgdr.json | Where-Object -not Continuous</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Get, "PgWalArchive")]
[OutputType(typeof(PgWalArchiveTimeline))]
[PgDrCliCommand("wal list")]
public sealed class GetPgWalArchiveCommand : PgDrCmdlet
{
    /// <summary>The PgDr configuration file (default: $env:PGDR_CONFIG, else /etc/pgdr/pgdr.json).</summary>
    [Parameter(Position = 0)]
    public string? ConfigPath { get; set; }

    /// <summary>Only this repository (by its name in the configuration).</summary>
    [Parameter]
    [ArgumentCompleter(typeof(RepositoryNameCompleter))]
    public string? Repository { get; set; }

    protected override void EndProcessing()
    {
        var path = ConfigPath is null ? null : GetUnresolvedProviderPathFromPSPath(ConfigPath);
        var timelines = RunOrTerminate((_, ct) => WalArchiveCatalog.ListAsync(PgDrConfig.Load(path), Repository, ct));
        WriteObject(timelines, enumerateCollection: true);
    }
}
