namespace PgDr.Hosting.Services;

/// <summary>
/// How a service control runs its commands (systemctl, sc.exe). Production uses <see cref="ProcessRunner"/>; the unit
/// tests of the Windows and systemd controls record the exact command lines instead, since neither runs here.
/// </summary>
internal delegate Task<ProcessResult> CommandRunner(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken);

internal static class CommandRunners
{
    public static readonly CommandRunner Process = (fileName, arguments, cancellationToken) =>
        ProcessRunner.RunAsync(fileName, arguments, cancellationToken);
}
