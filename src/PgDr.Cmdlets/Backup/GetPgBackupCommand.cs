using System.Management.Automation;
using PgDr.Archive.Configuration;
using PgDr.Backup.Catalog;
using PgDr.Cmdlets.Infrastructure;

namespace PgDr.Cmdlets.Backup;

/// <summary>
/// <para type="synopsis">Lists the base backups of the stanza in each repository, with how far the archived WAL lets each be rolled forward.</para>
/// <para type="description">Each backup shows its label, type, the backup it depends on, start and stop (consistency point) LSN and time, timeline,
/// sizes as restored and as stored, whether its WAL to consistency is archived, and the end of the unbroken WAL after it, with the gaps beyond.
/// -Window gives instead, per repository, the span of time that can be restored to: from the oldest backup's consistency point to the newest archived WAL.</para>
/// <example><code>Get-PgBackup -ConfigPath /etc/pgdr/pgdr.json | Format-Table</code></example>
/// <example><code>Get-PgBackup -Window</code></example>
/// <example><code>Get-PgBackup | Select-Object -Last 1 | Test-PgBackup</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Get, "PgBackup", DefaultParameterSetName = BackupsSet)]
[OutputType(typeof(PgBackup), ParameterSetName = [BackupsSet])]
[OutputType(typeof(PgBackupWindow), ParameterSetName = [WindowSet])]
[PgDrCliCommand("backup list")]
public sealed class GetPgBackupCommand : PgDrCmdlet
{
    private const string BackupsSet = "Backups";
    private const string WindowSet = "Window";

    /// <summary>The PgDr configuration file (default: $env:PGDR_CONFIG, else /etc/pgdr/pgdr.json).</summary>
    [Parameter(Position = 0)]
    public string? ConfigPath { get; set; }

    /// <summary>Only this repository (by its name in the configuration).</summary>
    [Parameter]
    public string? Repository { get; set; }

    /// <summary>Only backups whose label matches (wildcards allowed).</summary>
    [Parameter(ParameterSetName = BackupsSet)]
    [SupportsWildcards]
    public string? Label { get; set; }

    /// <summary>Per repository, the span of time that can be restored to, with the WAL gaps in it.</summary>
    [Parameter(Mandatory = true, ParameterSetName = WindowSet)]
    public SwitchParameter Window { get; set; }

    protected override void EndProcessing()
    {
        var path = ConfigPath is null ? null : GetUnresolvedProviderPathFromPSPath(ConfigPath);
        var (backups, windows) = RunOrTerminate((_, ct) => BackupCatalog.ListWithWindowsAsync(PgDrConfig.Load(path), Repository, ct));
        if (Window)
        {
            WriteObject(windows, enumerateCollection: true);
            return;
        }

        var pattern = Label is null ? null : new WildcardPattern(Label, WildcardOptions.IgnoreCase);
        foreach (var backup in backups.Where(b => pattern is null || pattern.IsMatch(b.Label)))
        {
            WriteObject(backup);
        }
    }
}
