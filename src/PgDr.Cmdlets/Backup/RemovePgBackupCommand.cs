using System.Management.Automation;
using PgDr.Archive.Configuration;
using PgDr.Backup.Retention;
using PgDr.Cmdlets.Infrastructure;

namespace PgDr.Cmdlets.Backup;

/// <summary>
/// <para type="synopsis">Expires base backups by count of full backups and/or age, with the archived WAL no kept backup needs and the leftovers of backups that never completed.</para>
/// <para type="description">Backups go by sets: a full backup with the differential and incremental backups built on it. The newest set is always kept,
/// whatever the rules say: it holds the newest recovery point. WAL older than the oldest kept backup's start is removed (timeline history files stay).
/// -WhatIf lists exactly each backup and WAL range that would go, and removes nothing. -Label removes named backups (and those built on them) instead.</para>
/// <example><code>Remove-PgBackup -KeepFull 2 -WhatIf</code></example>
/// <example><code>Remove-PgBackup -ConfigPath /etc/pgdr/pgdr.json -KeepFull 4 -KeepDays 14 -Confirm:$false</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "PgBackup", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = RuleSet)]
[OutputType(typeof(PgBackupExpiry), ParameterSetName = [RuleSet, LabelSet])]
[PgDrCliCommand("backup expire")]
public sealed class RemovePgBackupCommand : PgDrCmdlet
{
    private const string RuleSet = "Rule";
    private const string LabelSet = "Label";

    /// <summary>The PgDr configuration file (default: $env:PGDR_CONFIG, else /etc/pgdr/pgdr.json).</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    public string? ConfigPath { get; set; }

    /// <summary>Keep this many full backups, newest first, with the backups built on them.</summary>
    [Parameter(ParameterSetName = RuleSet)]
    [ValidateRange(1, 10000)]
    public int? KeepFull { get; set; }

    /// <summary>Keep whatever restores to any moment of the last this many days.</summary>
    [Parameter(ParameterSetName = RuleSet)]
    [ValidateRange(1, 36500)]
    public int? KeepDays { get; set; }

    /// <summary>Remove these backups, and the backups built on them.</summary>
    [Parameter(Mandatory = true, ParameterSetName = LabelSet, ValueFromPipelineByPropertyName = true)]
    public string[] Label { get; set; } = [];

    /// <summary>Only this repository (by its name in the configuration).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Repository { get; set; }

    /// <summary>Keep the archived WAL even when no kept backup needs it.</summary>
    [Parameter]
    public SwitchParameter KeepWal { get; set; }

    protected override void ProcessRecord()
    {
        var path = ConfigPath is null ? null : GetUnresolvedProviderPathFromPSPath(ConfigPath);
        var request = new RetentionRequest { KeepFull = KeepFull, KeepDays = KeepDays, Labels = Label, Repository = Repository, ExpireWal = !KeepWal };
        if (!TryRun((_, ct) => LoadAndPlan(path, request, ct), out var planned))
        {
            return;
        }

        var (config, plan) = planned;
        if (plan.Count == 0)
        {
            WriteVerbose("Nothing to remove: every backup is kept by the rules.");
            return;
        }

        foreach (var item in plan)
        {
            if (!ShouldProcess(item.Repository, item.Describe()))
            {
                continue;
            }

            if (TryRun((_, ct) => RetentionService.ExpireAsync(config, item, ct), out var removed))
            {
                WriteObject(removed);
            }
        }
    }

    private static async Task<(PgDrConfig, IReadOnlyList<PgBackupExpiry>)> LoadAndPlan(string? path, RetentionRequest request, CancellationToken cancellationToken)
    {
        var config = PgDrConfig.Load(path);
        return (config, await RetentionService.PlanAsync(config, request, cancellationToken).ConfigureAwait(false));
    }
}
