using System.Diagnostics;
using System.Text;
using PgDr.Errors;

namespace PgDr.Hosting;

/// <summary>The outcome of one external program run.</summary>
public sealed record ProcessResult(int ExitCode, string StandardOutput, string StandardError);

/// <summary>
/// Runs PostgreSQL's own programs (initdb, pg_ctl, pg_basebackup ...), as <see cref="OsUser"/> when given.
/// Arguments go through ArgumentList, never a shell, so nothing needs quoting and nothing is interpreted.
/// </summary>
public static class ProcessRunner
{
    public static async Task<ProcessResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        CancellationToken cancellationToken,
        OsUser? runAs = null,
        IReadOnlyDictionary<string, string>? environment = null,
        string? workingDirectory = null,
        Action<string>? standardErrorLine = null,
        bool replaceEnvironment = false,
        IEnumerable<string>? withoutVariables = null)
    {
        var start = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Path.GetTempPath(),
        };
        var args = arguments.ToList();
        if (runAs is { SwitchNeeded: true })
        {
            // setpriv keeps the environment (PGPASSFILE, LANG) that su/runuser would reset.
            start.FileName = "setpriv";
            foreach (var a in new[] { "--reuid", runAs.Name, "--regid", runAs.Name, "--init-groups", "--", fileName })
            {
                start.ArgumentList.Add(a);
            }
        }
        else
        {
            start.FileName = fileName;
        }

        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        if (runAs is { SwitchNeeded: true, HomeDirectory: { } home })
        {
            start.Environment["HOME"] = home;
        }

        // Inherited variables the program must not see go first; what the caller sets explicitly is added after.
        foreach (var name in withoutVariables ?? [])
        {
            start.Environment.Remove(name);
        }

        if (environment is not null)
        {
            if (replaceEnvironment)
            {
                // Exactly another process's environment (the postmaster's, for what archive_command will see).
                start.Environment.Clear();
            }

            foreach (var (key, value) in environment)
            {
                start.Environment[key] = value;
            }
        }

        using var process = new Process { StartInfo = start };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new PgDrException(ErrorIds.ExternalCommandFailed, PgDrErrorCategory.NotInstalled, $"Cannot start '{start.FileName}': {ex.Message}.", fileName, ex);
        }

        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = standardErrorLine is null
            ? process.StandardError.ReadToEndAsync(cancellationToken)
            : ReadLinesAsync(process.StandardError, standardErrorLine, cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try
            {
                process.Kill(entireProcessTree: true);

                // A caller that cancelled goes on to clean up after the program (delete the copy pg_basebackup was
                // writing), so the program must be gone first, not merely signalled.
                process.WaitForExit(TimeSpan.FromSeconds(10));
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }

            throw;
        }

        return new ProcessResult(process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
    }

    /// <summary>Runs the program and turns a non-zero exit into ExternalCommandFailed with the end of its stderr.</summary>
    public static async Task<ProcessResult> RunCheckedAsync(
        string fileName,
        IEnumerable<string> arguments,
        CancellationToken cancellationToken,
        OsUser? runAs = null,
        IReadOnlyDictionary<string, string>? environment = null,
        string? workingDirectory = null)
    {
        var result = await RunAsync(fileName, arguments, cancellationToken, runAs, environment, workingDirectory).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new PgDrException(
                ErrorIds.ExternalCommandFailed,
                PgDrErrorCategory.InvalidOperation,
                $"{Path.GetFileName(fileName)} failed (exit {result.ExitCode}): {Tail(result.StandardError.Length > 0 ? result.StandardError : result.StandardOutput)}",
                fileName);
        }

        return result;
    }

    /// <summary>Hands each line to <paramref name="onLine"/> as it arrives (progress), and keeps them all for the result.</summary>
    private static async Task<string> ReadLinesAsync(StreamReader reader, Action<string> onLine, CancellationToken cancellationToken)
    {
        var all = new StringBuilder();
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            all.Append(line).Append('\n');
            onLine(line);
        }

        return all.ToString();
    }

    private static string Tail(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var sb = new StringBuilder();
        foreach (var line in lines.TakeLast(3))
        {
            sb.Append(sb.Length == 0 ? string.Empty : " | ").Append(line);
        }

        return sb.Length == 0 ? "(no output)" : sb.ToString();
    }
}
