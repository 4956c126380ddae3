using PgDr.Errors;
using PgDr.Hosting;

namespace PgDr.Archive.Server;

/// <summary>The outcome of running pgdr as the server's own account, before trusting archive_command to it.</summary>
public sealed record ArchiveCommandAccessResult(string? CheckedAs, WalArchiveFailure? Failure);

/// <summary>
/// For a node on this host: runs <c>pgdr config check</c> the way the archiver runs archive_command (/bin/sh -c), as
/// the postmaster's OS account and with the postmaster's environment, so a pgdr that account cannot execute (exit 126, which
/// pg_stat_archiver never counts), a configuration or key file it cannot read, or a key variable missing from the
/// server's environment is found before archive_command is set or trusted. Without root PgDr can only run it as
/// itself, so the check is skipped when the server runs as another account.
/// </summary>
public static class ArchiveCommandAccess
{
    public static async Task<ArchiveCommandAccessResult> CheckAsync(LocalNode node, string pgdrPath, string configPath, CancellationToken cancellationToken)
    {
        var account = node.ServiceAccount();
        if (account is not { CanRunAs: true })
        {
            return new ArchiveCommandAccessResult(null, null);
        }

        // Through /bin/sh -c, as the archiver's system() runs archive_command: the shell is what reports 126 or 127
        // (running the program directly from setpriv was seen to start it where the shell could not).
        var environment = node.Environment();
        var command = $"{WalArchivingService.ShellQuote(pgdrPath)} config check --config {WalArchivingService.ShellQuote(configPath)}";
        var result = await ProcessRunner.RunAsync(
            "/bin/sh",
            ["-c", command],
            cancellationToken,
            account,
            environment,
            workingDirectory: node.DataDirectory,
            replaceEnvironment: environment is not null).ConfigureAwait(false);
        return new ArchiveCommandAccessResult(account.Name, Judge(result, account.Name, pgdrPath));
    }

    internal static WalArchiveFailure? Judge(ProcessResult result, string account, string pgdrPath)
    {
        if (result.ExitCode == 0)
        {
            return null;
        }

        var output = $"{result.StandardError}\n{result.StandardOutput}".Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var pgdrError = output.Select(l => ArchiveCommandLog.PgDrErrorLine().Match(l)).LastOrDefault(m => m.Success);
        var evidence = $"pgdr config check run as {account}";
        if (pgdrError is not null)
        {
            var id = pgdrError.Groups["id"].Value;
            return new WalArchiveFailure { ErrorId = id, Message = pgdrError.Groups["message"].Value, Fix = ArchiveFailureAdvice.For(id), Evidence = evidence };
        }

        // The shell could not start it: 126 not executable, 127 not found; anything else is not a pgdr.
        var why = output.LastOrDefault() ?? $"exit code {result.ExitCode}";
        return result.ExitCode is 126 or 127
            ? new WalArchiveFailure
            {
                ExitCode = result.ExitCode,
                ErrorId = ErrorIds.PgDrNotExecutable,
                Message = $"The OS account '{account}' cannot run {pgdrPath}: {why}",
                Fix = ArchiveFailureAdvice.For(result.ExitCode == 126 ? ErrorIds.PgDrNotExecutable : null, result.ExitCode),
                Evidence = evidence,
            }
            : new WalArchiveFailure
            {
                ExitCode = result.ExitCode,
                ErrorId = ErrorIds.PgDrNotExecutable,
                Message = $"{pgdrPath} run as '{account}' did not answer as pgdr does (exit {result.ExitCode}: {why}); is it pgdr?",
                Evidence = evidence,
            };
    }
}
