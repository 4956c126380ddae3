using System.Diagnostics;

namespace PgDr.Tests.Cli;

/// <summary>
/// Runs the built pgdr as its own process, as a shell or PostgreSQL would. It is the framework-dependent build, whose
/// wal push writes its slow-build warning first (tests/Unit/Packaging/PgDrBuildTests prove that line); it is counted
/// apart, so these tests see stderr as the NativeAOT pgdr users run writes it.
/// </summary>
public static class PgDrProcess
{
    public sealed record Result(int ExitCode, string StandardOutput, string StandardError, int SlowBuildWarnings = 0);

    public static async Task<Result> RunAsync(IReadOnlyDictionary<string, string?>? environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "pgdr.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        var lines = (await stderr).Split('\n').ToList();
        var warnings = lines.RemoveAll(l => l == PgDr.Archive.Server.PgDrBuild.SlowBuildWarning);
        return new Result(process.ExitCode, await stdout, string.Join('\n', lines), warnings);
    }
}
