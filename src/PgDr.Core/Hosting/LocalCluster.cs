using System.Globalization;
using PgDr.Errors;
using PgDr.Hosting.Services;

namespace PgDr.Hosting;

/// <summary>How a stop treats connected clients (pg_ctl -m).</summary>
public enum StopMode
{
    /// <summary>Disconnect clients, checkpoint, stop: the normal clean stop.</summary>
    Fast,

    /// <summary>Abort without a checkpoint, as a crash or a lost host would.</summary>
    Immediate,
}

/// <summary>A PostgreSQL data directory on this host, controlled through pg_ctl (the sandbox, initdb'd clusters, plain hosts).</summary>
public sealed class LocalCluster : IPostgresService
{
    public LocalCluster(PostgresBinaries binaries, string dataDirectory, OsUser runAs)
    {
        Binaries = binaries;
        DataDirectory = dataDirectory;
        RunAs = runAs;
    }

    public PostgresBinaries Binaries { get; }

    public string DataDirectory { get; }

    public OsUser RunAs { get; }

    /// <summary>The server log, kept beside (not inside) the data directory so base backups do not copy it.</summary>
    public string LogFile => DataDirectory + ".log";

    public PgServiceKind Kind => PgServiceKind.PgCtl;

    public string Description => $"pg_ctl -D {DataDirectory}";

    private string WorkingDirectory => Path.GetDirectoryName(DataDirectory) ?? "/";

    /// <remarks>
    /// The server gets this process's environment without libpq's connection variables (<see cref="LibpqEnvironment"/>):
    /// its WAL receiver logs in with primary_conninfo alone, never with the credentials of whoever ran pgdr.
    /// </remarks>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var result = await ProcessRunner.RunAsync(
            Binaries.Tool("pg_ctl"),
            ["-D", DataDirectory, "-l", LogFile, "-w", "-t", "60", "start"],
            cancellationToken,
            RunAs,
            workingDirectory: WorkingDirectory,
            withoutVariables: LibpqEnvironment.Variables).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new PgDrException(
                ErrorIds.ClusterStartFailed,
                PgDrErrorCategory.ResourceUnavailable,
                $"PostgreSQL in {DataDirectory} did not start: {LastLogLines()}",
                DataDirectory);
        }
    }

    public async Task StopAsync(StopMode mode, CancellationToken cancellationToken)
    {
        if (!await IsRunningAsync(cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        var result = await ProcessRunner.RunAsync(
            Binaries.Tool("pg_ctl"),
            ["-D", DataDirectory, "-m", mode == StopMode.Fast ? "fast" : "immediate", "-w", "-t", "60", "stop"],
            cancellationToken,
            RunAs,
            workingDirectory: WorkingDirectory).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new PgDrException(
                ErrorIds.ClusterStopFailed,
                PgDrErrorCategory.InvalidOperation,
                $"PostgreSQL in {DataDirectory} did not stop: {result.StandardError.Trim()}",
                DataDirectory);
        }
    }

    /// <summary>Stops the server however it can: fast, then immediate, then by killing the postmaster.</summary>
    public async Task ForceStopAsync(CancellationToken cancellationToken)
    {
        foreach (var mode in new[] { StopMode.Fast, StopMode.Immediate })
        {
            try
            {
                await StopAsync(mode, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (PgDrException)
            {
                // Try the next, harsher way.
            }
        }

        if (ReadPostmasterPid() is { } pid)
        {
            try
            {
                using var process = System.Diagnostics.Process.GetProcessById(pid);
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ArgumentException)
            {
                // The process is already gone.
            }
        }
    }

    public async Task<bool> IsRunningAsync(CancellationToken cancellationToken)
    {
        if (!Directory.Exists(DataDirectory))
        {
            return false;
        }

        var result = await ProcessRunner.RunAsync(Binaries.Tool("pg_ctl"), ["-D", DataDirectory, "status"], cancellationToken, RunAs, workingDirectory: WorkingDirectory).ConfigureAwait(false);
        return result.ExitCode == 0;
    }

    public override string ToString() => Description;

    private int? ReadPostmasterPid()
    {
        var pidFile = Path.Combine(DataDirectory, "postmaster.pid");
        try
        {
            var first = File.ReadLines(pidFile).FirstOrDefault();
            return int.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private string LastLogLines()
    {
        try
        {
            var lines = File.ReadAllLines(LogFile).TakeLast(3);
            return string.Join(" | ", lines);
        }
        catch (IOException)
        {
            return "(no server log)";
        }
        catch (UnauthorizedAccessException)
        {
            return "(server log not readable)";
        }
    }
}
