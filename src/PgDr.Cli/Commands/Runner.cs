using System.CommandLine;
using PgDr.Cli.Output;
using PgDr.Errors;
using PgDr.Progress;

namespace PgDr.Cli.Commands;

/// <summary>
/// Runs one command's engine call: progress to a terminal's stderr, PgDrException to one line on stderr
/// with its error id, exit codes: 0 success, 1 a negative verdict (unhealthy), 2 an error.
/// </summary>
internal static class Runner
{
    public const int Success = 0;
    public const int Unhealthy = 1;
    public const int Failure = 2;

    public static void SetAction(Command command, Func<ParseResult, IProgress<PgDrProgress>, CancellationToken, Task<int>> action)
    {
        command.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                return await action(parse, new TerminalProgress(), cancellationToken).ConfigureAwait(false);
            }
            catch (PgDrException ex)
            {
                TerminalProgress.Clear();
                WriteError(ex);
                return Failure;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                TerminalProgress.Clear();
                Console.Error.WriteLine("pgdr: cancelled.");
                return Failure;
            }
        });
    }

    /// <summary>
    /// Runs <paramref name="work"/> for each instance; a failure on one is reported on stderr and the others
    /// go on (as a cmdlet writes a non-terminating error). Returns the results and whether any failed.
    /// </summary>
    public static async Task<(List<T> Results, bool AnyFailed)> ForEachInstanceAsync<T>(
        ParseResult parse, IEnumerable<string> instances, Func<PgDr.Connections.PgInstance, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        var results = new List<T>();
        var failed = false;
        foreach (var text in instances)
        {
            try
            {
                results.Add(await work(CommonOptions.ToInstance(parse, text), cancellationToken).ConfigureAwait(false));
            }
            catch (PgDrException ex)
            {
                WriteError(ex);
                failed = true;
            }
        }

        return (results, failed);
    }

    /// <summary>The one line on stderr that reports an error, ending in its stable id.</summary>
    public static void WriteError(PgDrException ex) => Console.Error.WriteLine($"pgdr: {ex.Message} [{ex.ErrorId}]");
}
