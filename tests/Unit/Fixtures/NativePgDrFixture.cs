using System.Diagnostics;

namespace PgDr.Tests.Fixtures;

/// <summary>
/// The NativeAOT pgdr, the build PostgreSQL should run as archive_command and restore_command (docs/performance.md).
/// It is published into artifacts/pgdr-native exactly as <c>./build.sh native</c> does; <c>./build.sh test</c> has
/// already done that, so here it is an up-to-date check of a few seconds. Without clang and zlib1g-dev the publish
/// fails and so do the tests that need it: the AOT build is what users run, so it is not optional.
/// </summary>
public sealed class NativePgDrFixture : IAsyncLifetime
{
    private string? _path;

    public string ExecutablePath => _path ?? throw new InvalidOperationException("The native pgdr is not published.");

    public async Task InitializeAsync()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "PgDr.sln")))
        {
            root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("PgDr.sln not found above the test output.");
        }

        var output = Path.Combine(root, "artifacts", "pgdr-native");
        var publish = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            ArgumentList =
            {
                "publish", Path.Combine(root, "src", "PgDr.Cli", "PgDr.Cli.csproj"), "-c", "Release", "-r", "linux-x64",
                "-p:PublishAot=true", "-o", output, "-nologo", "-v", "quiet",
            },
        };
        using var process = Process.Start(publish)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"Publishing the NativeAOT pgdr failed (it needs clang and zlib1g-dev; ./build.sh native installs them):\n{await stdout}\n{await stderr}");
        }

        // A private copy per run: a later publish must not replace the binary under a running test.
        var directory = TestDirectories.Path("native-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        _path = Path.Combine(directory, "pgdr");
        File.Copy(Path.Combine(output, "pgdr"), _path);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public async Task<(int ExitCode, string StandardOutput, string StandardError)> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo(ExecutablePath) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
