namespace PgDr.Progress;

/// <summary>
/// One progress report from a long engine operation. Cmdlets show it with Write-Progress, pgdr as a
/// line on a terminal. <see cref="PercentComplete"/> is -1 when the total is unknown.
/// </summary>
public sealed record PgDrProgress(string Activity, string Status, int PercentComplete = -1);
