using PgDr.Hosting;

namespace PgDr.Tests.Fixtures;

/// <summary>
/// The built pgdr, copied where the postgres OS account can run it (archive_command and restore_command run as
/// that account, and a checkout under /root is closed to it). One copy per test run.
/// </summary>
public static class PgDrInstallation
{
    private static readonly Lazy<string> Executable = new(Install);

    /// <summary>Absolute path of the pgdr launcher.</summary>
    public static string PgDrPath => Executable.Value;

    private static string Install()
    {
        var source = AppContext.BaseDirectory;
        var target = TestDirectories.Path("pgdr-bin-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(source).Where(f => f.EndsWith(".dll", StringComparison.Ordinal) || Path.GetFileName(f).StartsWith("pgdr", StringComparison.Ordinal)))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }

        var launcher = Path.Combine(target, "pgdr");
        File.SetUnixFileMode(launcher, (UnixFileMode)Convert.ToInt32("755", 8));
        File.SetUnixFileMode(target, (UnixFileMode)Convert.ToInt32("755", 8));
        OsUser.ForPostgres().TakeOwnershipAsync(target, CancellationToken.None).GetAwaiter().GetResult();
        return launcher;
    }
}
