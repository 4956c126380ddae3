using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using PgDr.Errors;

namespace PgDr.Hosting.Services;

/// <summary>
/// A server run as a Windows service, as pg_ctl register makes it (the EDB installer's postgresql-x64-15): the
/// service runs <c>pg_ctl runservice -N name -D datadir</c>. Controlled through sc.exe, whose start and stop only ask
/// the service manager, so every call waits for the state it asked for.
/// </summary>
public sealed partial class WindowsService : IPostgresService
{
    private const int StateStopped = 1;
    private const int StateRunning = 4;

    // sc.exe exit codes that mean "already as asked".
    private const int ServiceAlreadyRunning = 1056;
    private const int ServiceNotActive = 1062;

    private static readonly TimeSpan StateTimeout = TimeSpan.FromSeconds(120);

    private readonly CommandRunner _run;

    internal WindowsService(string name, string pgCtlPath, string dataDirectory, CommandRunner run)
    {
        Name = name;
        PgCtlPath = pgCtlPath;
        DataDirectory = dataDirectory;
        _run = run;
    }

    /// <summary>The service name (sc.exe's SERVICE_NAME), e.g. postgresql-x64-15.</summary>
    public string Name { get; }

    /// <summary>The pg_ctl.exe the service runs, from its binary path.</summary>
    public string PgCtlPath { get; }

    public PgServiceKind Kind => PgServiceKind.WindowsService;

    public string Description => $"Windows service {Name}";

    public string DataDirectory { get; }

    /// <summary>Reads the service's binary path (sc.exe qc) for its pg_ctl and data directory.</summary>
    public static Task<WindowsService> OpenAsync(string name, CancellationToken cancellationToken) =>
        OpenAsync(name, CommandRunners.Process, cancellationToken);

    internal static async Task<WindowsService> OpenAsync(string name, CommandRunner run, CancellationToken cancellationToken)
    {
        var result = await run("sc.exe", ["qc", name], cancellationToken).ConfigureAwait(false);
        var binaryPath = BinaryPathLine().Match(result.StandardOutput);
        if (result.ExitCode != 0 || !binaryPath.Success)
        {
            throw new PgDrNotFoundException(ErrorIds.ServiceNotFound, $"There is no Windows service '{name}' (sc.exe qc: {FirstLine(result)}).", name);
        }

        return ParseRunService(binaryPath.Groups[1].Value) is var (pgCtl, dataDirectory) && pgCtl is not null && dataDirectory is not null
            ? new WindowsService(name, pgCtl, dataDirectory, run)
            : throw new PgDrInvalidOperationException(
                ErrorIds.ServiceNotControlled,
                $"The Windows service '{name}' does not run pg_ctl runservice -D <data directory> (its binary path is {binaryPath.Groups[1].Value.Trim()}); PgDr controls only services made by pg_ctl register.",
                name);
    }

    /// <summary>The services whose name or display name mentions PostgreSQL (sc.exe query), opened one by one.</summary>
    internal static async Task<IReadOnlyList<WindowsService>> FindAllAsync(CommandRunner run, CancellationToken cancellationToken)
    {
        var list = await run("sc.exe", ["query", "type=", "service", "state=", "all"], cancellationToken).ConfigureAwait(false);
        var found = new List<WindowsService>();
        string? name = null;
        foreach (var line in list.StandardOutput.Split('\n').Select(l => l.Trim()))
        {
            if (line.StartsWith("SERVICE_NAME:", StringComparison.Ordinal))
            {
                name = line["SERVICE_NAME:".Length..].Trim();
            }
            else if (name is not null && line.StartsWith("DISPLAY_NAME:", StringComparison.Ordinal))
            {
                if ((name + line).Contains("postgres", StringComparison.OrdinalIgnoreCase))
                {
                    try
                    {
                        found.Add(await OpenAsync(name, run, cancellationToken).ConfigureAwait(false));
                    }
                    catch (PgDrException)
                    {
                        // Named like PostgreSQL but not a pg_ctl service (pgAgent, pgBouncer ...).
                    }
                }

                name = null;
            }
        }

        return found;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var result = await _run("sc.exe", ["start", Name], cancellationToken).ConfigureAwait(false);
        if (result.ExitCode is not (0 or ServiceAlreadyRunning))
        {
            throw StartFailed(FirstLine(result));
        }

        var state = await WaitForStateAsync(s => s is StateRunning or StateStopped, cancellationToken).ConfigureAwait(false);
        if (state != StateRunning)
        {
            throw StartFailed(state == StateStopped ? "it stopped again (see the server log and the Windows event log)" : $"state {state} after {StateTimeout.TotalSeconds:0} s");
        }
    }

    public async Task StopAsync(StopMode mode, CancellationToken cancellationToken)
    {
        // The service's own stop is pg_ctl's fast shutdown; immediate goes to the postmaster through pg_ctl, and the
        // service, which watches the postmaster, reports itself stopped.
        var result = mode == StopMode.Fast
            ? await _run("sc.exe", ["stop", Name], cancellationToken).ConfigureAwait(false)
            : await _run(PgCtlPath, ["stop", "-D", DataDirectory, "-m", "immediate", "-w"], cancellationToken).ConfigureAwait(false);
        if (mode == StopMode.Fast && result.ExitCode is not (0 or ServiceNotActive))
        {
            throw StopFailed(FirstLine(result));
        }

        var state = await WaitForStateAsync(s => s == StateStopped, cancellationToken).ConfigureAwait(false);
        if (state != StateStopped)
        {
            throw StopFailed($"state {state} after {StateTimeout.TotalSeconds:0} s ({FirstLine(result)})");
        }
    }

    public async Task<bool> IsRunningAsync(CancellationToken cancellationToken) =>
        await QueryStateAsync(cancellationToken).ConfigureAwait(false) != StateStopped;

    public override string ToString() => Description;

    /// <summary>pg_ctl.exe and -D of "C:\...\pg_ctl.exe" runservice -N "name" -D "C:\...\data" -w.</summary>
    internal static (string? PgCtl, string? DataDirectory) ParseRunService(string binaryPath)
    {
        var tokens = SplitCommandLine(binaryPath);
        if (tokens.Count < 2 || !tokens.Contains("runservice", StringComparer.OrdinalIgnoreCase)
            || !Path.GetFileName(tokens[0].Replace('\\', '/')).StartsWith("pg_ctl", StringComparison.OrdinalIgnoreCase))
        {
            return (null, null);
        }

        var d = tokens.FindIndex(t => t == "-D");
        return (tokens[0], d >= 0 && d + 1 < tokens.Count ? tokens[d + 1] : null);
    }

    private static List<string> SplitCommandLine(string text)
    {
        var tokens = new List<string>();
        var current = new StringBuilder();
        var quoted = false;
        var any = false;
        foreach (var c in text.Trim())
        {
            if (c == '"')
            {
                quoted = !quoted;
                any = true;
            }
            else if (char.IsWhiteSpace(c) && !quoted)
            {
                if (any)
                {
                    tokens.Add(current.ToString());
                    current.Clear();
                    any = false;
                }
            }
            else
            {
                current.Append(c);
                any = true;
            }
        }

        if (any)
        {
            tokens.Add(current.ToString());
        }

        return tokens;
    }

    private async Task<int> QueryStateAsync(CancellationToken cancellationToken)
    {
        var result = await _run("sc.exe", ["query", Name], cancellationToken).ConfigureAwait(false);
        var match = StateLine().Match(result.StandardOutput);
        return match.Success
            ? int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture)
            : throw new PgDrNotFoundException(ErrorIds.ServiceNotFound, $"sc.exe query {Name} shows no state: {FirstLine(result)}.", Name);
    }

    /// <summary>Polls the service's state until <paramref name="done"/> holds or the time is up; returns the last state.</summary>
    private async Task<int> WaitForStateAsync(Func<int, bool> done, CancellationToken cancellationToken)
    {
        var state = 0;
        try
        {
            await Wait.UntilAsync(
                async ct => done(state = await QueryStateAsync(ct).ConfigureAwait(false)),
                StateTimeout,
                $"{Description} to change state",
                cancellationToken).ConfigureAwait(false);
        }
        catch (PgDrException ex) when (ex.ErrorId == ErrorIds.Timeout)
        {
            // The caller says what the state means.
        }

        return state;
    }

    private PgDrException StartFailed(string why) =>
        new(ErrorIds.ClusterStartFailed, PgDrErrorCategory.ResourceUnavailable, $"{Description} did not start: {why}.", Name);

    private PgDrException StopFailed(string why) =>
        new(ErrorIds.ClusterStopFailed, PgDrErrorCategory.InvalidOperation, $"{Description} did not stop: {why}.", Name);

    private static string FirstLine(ProcessResult result) =>
        (result.StandardOutput + "\n" + result.StandardError).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? $"exit {result.ExitCode}";

    [GeneratedRegex(@"^\s*STATE\s*:\s*(\d+)", RegexOptions.Multiline)]
    private static partial Regex StateLine();

    [GeneratedRegex(@"^\s*BINARY_PATH_NAME\s*:\s*(.+?)\s*$", RegexOptions.Multiline)]
    private static partial Regex BinaryPathLine();
}
