using PgDr.Hosting;

namespace PgDr.Tests.Fixtures;

/// <summary>
/// The NativeAOT pgdr, the build PostgreSQL should run as archive_command and restore_command (docs/performance.md).
/// It is published into artifacts/pgdr-native exactly as <c>./build.sh native</c> does; <c>./build.sh test</c> has
/// already done that, so here it is only a check that no source is newer than the binary. Without clang and zlib1g-dev the publish
/// fails and so do the tests that need it: the AOT build is what users run, so it is not optional.
/// </summary>
public sealed class NativePgDrFixture : IAsyncLifetime
{
    // One publish per test run, however many classes use the fixture: even an up-to-date check takes a while on a busy machine.
    private static readonly Lazy<Task<string>> Published = new(PublishAsync, LazyThreadSafetyMode.ExecutionAndPublication);

    private string? _path;

    public string ExecutablePath => _path ?? throw new InvalidOperationException("The native pgdr is not published.");

    /// <summary>artifacts/pgdr-native/pgdr, as this run published it.</summary>
    public static Task<string> PublishedPathAsync() => Published.Value;

    public async Task InitializeAsync() => _path = await PrivateCopyAsync();

    /// <summary>
    /// A private copy of this run's NativeAOT pgdr where the postgres account can run it (the checkout may be under
    /// root's home): what a fixture points archive_command at. A later publish must not replace the binary under a
    /// running test, hence a copy per caller.
    /// </summary>
    public static async Task<string> PrivateCopyAsync()
    {
        var published = await Published.Value;
        var directory = TestDirectories.Path("native-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "pgdr");
        File.Copy(published, path);
        return path;
    }

    private static async Task<string> PublishAsync()
    {
        var root = SourceTree.Root;
        var output = Path.Combine(root, "artifacts", "pgdr-native");
        var binary = Path.Combine(output, "pgdr");

        // A commit alone changes pgdr's version (the SDK stamps the commit into it), and dotnet publish then recompiles
        // and relinks for 4-12 min although no source changed: a binary newer than every source it is built from is kept.
        if (File.Exists(binary) && !SourcesChangedSince(root, File.GetLastWriteTimeUtc(binary)))
        {
            return binary;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(20)); // a full ILC run took 11.5 min at load 25
        var publish = await ProcessRunner.RunAsync(
            "dotnet",
            ["publish", Path.Combine(root, "src", "PgDr.Cli", "PgDr.Cli.csproj"), "-c", "Release", "-r", "linux-x64", "-p:PublishAot=true", "-o", output, "-nologo", "-v", "quiet"],
            timeout.Token);
        if (publish.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"Publishing the NativeAOT pgdr failed (it needs clang and zlib1g-dev; ./build.sh native installs them):\n{publish.StandardOutput}\n{publish.StandardError}");
        }

        return binary;
    }

    private static bool SourcesChangedSince(string root, DateTime builtUtc)
    {
        var projects = new[] { Path.Combine(root, "src", "PgDr.Core"), Path.Combine(root, "src", "PgDr.Cli") };
        var sources = projects
            .SelectMany(project => Directory.EnumerateFiles(project, "*", SearchOption.AllDirectories)
                .Where(file => !IsBuildOutput(Path.GetRelativePath(project, file))))
            .Concat(Directory.EnumerateFiles(root, "Directory.*.props"));
        return sources.Any(file => File.GetLastWriteTimeUtc(file) > builtUtc);
    }

    private static bool IsBuildOutput(string relativePath) =>
        relativePath.StartsWith("bin" + Path.DirectorySeparatorChar, StringComparison.Ordinal)
        || relativePath.StartsWith("obj" + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    public Task DisposeAsync() => Task.CompletedTask;

    public async Task<ProcessResult> RunAsync(params string[] args)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        return await ProcessRunner.RunAsync(ExecutablePath, args, timeout.Token);
    }
}
