namespace PgDr.Progress;

/// <summary>
/// One progress report from a long engine operation. Cmdlets show it with Write-Progress, pgdr as a
/// line on a terminal. <see cref="PercentComplete"/> is -1 when the total is unknown.
/// </summary>
public sealed record PgDrProgress(string Activity, string Status, int PercentComplete = -1);

/// <summary>
/// Passes the reports of an operation that runs as one step of a longer one (a standby built by the sandbox, say) on
/// as reports of the longer one, so a progress bar shows one activity instead of jumping between two.
/// </summary>
public sealed class NestedProgress(IProgress<PgDrProgress> outer, Func<PgDrProgress, PgDrProgress> map) : IProgress<PgDrProgress>
{
    public void Report(PgDrProgress value) => outer.Report(map(value));
}
