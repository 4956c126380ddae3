using System.Diagnostics;
using System.Reflection;
using PgDr.Errors;

namespace PgDr.Archive.Async;

/// <summary>Starts a pgdr worker process that outlives the archive_command or restore_command that started it.</summary>
public static class WorkerLauncher
{
    /// <summary>Starts <c>pgdr wal push-worker</c> for the cluster whose pg_wal is <paramref name="pgWalDirectory"/>.</summary>
    public static void StartPushWorker(string configPath, string pgWalDirectory) =>
        Start(["wal", "push-worker", "--config", Path.GetFullPath(configPath), "--pg-wal", Path.GetFullPath(pgWalDirectory)]);

    /// <summary>Starts <c>pgdr wal fetch-worker</c>, which prefetches after the segment named in the spool's fetch-request.</summary>
    public static void StartFetchWorker(string configPath) =>
        Start(["wal", "fetch-worker", "--config", Path.GetFullPath(configPath)]);

    /// <summary>
    /// Runs this same pgdr (the apphost, or <c>dotnet pgdr.dll</c>) with <paramref name="arguments"/>, detached from our
    /// standard streams: its stdin, stdout and stderr are pipes whose other ends are closed at once. Inheriting ours
    /// instead would keep PostgreSQL's (or a test's) pipes open until the worker exits, and whoever reads them to their
    /// end would wait for it. Workers write to their log file in the spool.
    /// </summary>
    public static void Start(IReadOnlyList<string> arguments)
    {
        var (program, prefix) = CurrentPgDr();
        var start = new ProcessStartInfo(program)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,

            // Not the data directory: a worker must not keep a directory busy that an admin may move or unmount.
            WorkingDirectory = "/",
        };
        foreach (var argument in prefix.Concat(arguments))
        {
            start.ArgumentList.Add(argument);
        }

        try
        {
            using var process = Process.Start(start)
                ?? throw new PgDrException(ErrorIds.AsyncWorkerStartFailed, PgDrErrorCategory.InvalidOperation, $"{program} did not start.", program);
            process.StandardInput.Close();
            process.StandardOutput.Close();
            process.StandardError.Close();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new PgDrException(ErrorIds.AsyncWorkerStartFailed, PgDrErrorCategory.InvalidOperation, $"Cannot start the async worker {program}: {ex.Message}", program, ex);
        }
    }

    /// <summary>How to run the pgdr that is running now: its apphost, or the dotnet host with pgdr.dll.</summary>
    private static (string Program, IReadOnlyList<string> Prefix) CurrentPgDr()
    {
        var processPath = Environment.ProcessPath
            ?? throw new PgDrException(ErrorIds.AsyncWorkerStartFailed, PgDrErrorCategory.InvalidOperation, "The path of the running pgdr is unknown; the async worker cannot be started.");
        var host = Path.GetFileNameWithoutExtension(processPath);
        if (!string.Equals(host, "dotnet", StringComparison.OrdinalIgnoreCase))
        {
            return (processPath, []);
        }

        // Under the dotnet host the entry assembly sits in the app's base directory (Assembly.Location would be
        // empty in a single-file or NativeAOT build, which never takes this branch anyway).
        var entryName = Assembly.GetEntryAssembly()?.GetName().Name;
        var entry = entryName is null ? null : Path.Combine(AppContext.BaseDirectory, entryName + ".dll");
        return string.IsNullOrEmpty(entry) || !File.Exists(entry)
            ? throw new PgDrException(ErrorIds.AsyncWorkerStartFailed, PgDrErrorCategory.InvalidOperation, "pgdr runs under dotnet but its assembly path is unknown; the async worker cannot be started.")
            : (processPath, [entry]);
    }
}
