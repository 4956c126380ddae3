namespace PgDr.Tests.Fixtures;

/// <summary>
/// The built pgdr, copied where the postgres OS account can run it: archive_command runs as that account, which
/// cannot reach a build folder under root's home.
/// </summary>
public static class PgDrForPostgres
{
    private static readonly Lazy<string> Installed = new(Install, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The path of the pgdr apphost (one copy per test run, shared by the tests that need one).</summary>
    public static string ExecutablePath => Installed.Value;

    private static string Install()
    {
        var directory = TestDirectories.Path("bin-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        var source = AppContext.BaseDirectory;
        var files = new[] { "pgdr", "pgdr.dll", "pgdr.deps.json", "pgdr.runtimeconfig.json" }
            .Select(f => Path.Combine(source, f))
            .Concat(Directory.GetFiles(source, "*.dll"));
        foreach (var file in files.Distinct(StringComparer.Ordinal))
        {
            File.Copy(file, Path.Combine(directory, Path.GetFileName(file)), overwrite: true);
        }

        const UnixFileMode Executable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        File.SetUnixFileMode(directory, Executable);
        File.SetUnixFileMode(Path.Combine(directory, "pgdr"), Executable);
        for (var parent = Path.GetDirectoryName(directory); parent is not null && parent != "/"; parent = Path.GetDirectoryName(parent))
        {
            // Every parent must be traversable by the postgres account (the temp directory usually is).
            var mode = File.GetUnixFileMode(parent);
            if ((mode & UnixFileMode.OtherExecute) == 0)
            {
                File.SetUnixFileMode(parent, mode | UnixFileMode.OtherExecute);
            }
        }

        return Path.Combine(directory, "pgdr");
    }
}
