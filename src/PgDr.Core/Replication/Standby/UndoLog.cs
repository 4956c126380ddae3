using PgDr.Errors;

namespace PgDr.Replication.Standby;

/// <summary>
/// What a multi-step change did, so a failure part-way can take back exactly that: each step that changed something
/// records how to undo it, and the undo runs newest first, never touching what existed before.
/// </summary>
internal sealed class UndoLog
{
    private readonly List<(string What, Func<CancellationToken, Task> Undo)> _steps = [];

    public void Add(string what, Func<CancellationToken, Task> undo) => _steps.Add((what, undo));

    /// <summary>Runs every undo newest first, even after the caller was cancelled; returns what could not be undone.</summary>
    public async Task<IReadOnlyList<string>> RunAsync()
    {
        var problems = new List<string>();
        for (var i = _steps.Count - 1; i >= 0; i--)
        {
            try
            {
                await _steps[i].Undo(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is PgDrException or IOException or UnauthorizedAccessException)
            {
                problems.Add($"{_steps[i].What}: {ex.Message}");
            }
        }

        _steps.Clear();
        return problems;
    }
}
