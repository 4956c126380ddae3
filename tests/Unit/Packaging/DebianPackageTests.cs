using System.Globalization;
using System.Text.RegularExpressions;
using PgDr.Hosting;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Packaging;

/// <summary>
/// The pgdr Debian package ./build.sh package makes (build/deb/make-deb.sh): what it holds, and an install on this
/// machine into a throwaway root (dpkg --root, the maintainer scripts run outside a chroot with $DPKG_ROOT set, as dpkg
/// does for such installs), pgdr --version run as postgres from there, then a purge that leaves nothing. The host's own
/// dpkg database and /usr/bin are never touched: other tests on this machine look for /usr/bin/pgdr.
/// </summary>
public sealed class DebianPackageTests
{
    private static readonly string Version = PgDr.Archive.Server.PgDrInstallService.Version;

    private static string Package
    {
        get
        {
            var path = Path.Combine(SourceTree.Root, "artifacts", "package", $"pgdr_{Version}_amd64.deb");
            return File.Exists(path) ? path : throw new InvalidOperationException($"{path} is not built: run ./build.sh package (./build.sh test does).");
        }
    }

    [Fact]
    public async Task The_package_holds_the_NativeAOT_pgdr_an_example_configuration_as_conffile_the_spool_and_the_agent_unit_with_a_sane_control_file()
    {
        var info = await RunCheckedAsync("dpkg-deb", "--info", Package);
        var contents = await RunCheckedAsync("dpkg-deb", "--contents", Package);
        var extracted = NewDirectory("deb-x");
        await RunCheckedAsync("dpkg-deb", "--extract", Package, extracted);

        Assert.Matches(@"(?m)^ Package: pgdr$", info);
        Assert.Matches($@"(?m)^ Version: {Regex.Escape(Version)}$", info);
        Assert.Matches(@"(?m)^ Architecture: amd64$", info);
        Assert.Matches(@"(?m)^ Depends: libc6 \(>= 2\.\d+\), libssl3 \| libssl1\.1$", info);
        Assert.Matches(@"(?m)^ Description: \S.+$", info);
        Assert.Matches(@"(?m)^ Installed-Size: \d+$", info);
        Assert.Contains("conffiles", info, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^-rwxr-xr-x root/root .* \./usr/bin/pgdr$", contents);
        Assert.Matches(@"(?m)^-rw-r----- root/root .* \./etc/pgdr/pgdr\.json$", contents);
        Assert.Matches(@"(?m)^drwx------ root/root .* \./var/spool/pgdr/$", contents);
        Assert.Matches(@"(?m)^-rw-r--r-- root/root .* \./lib/systemd/system/pgdr-agent\.service$", contents);
        // The very binary artifacts/pgdr-native holds, so its benchmark figures are the package's.
        Assert.Equal(ArchiveTestSupport.Sha256(await NativePgDrFixture.PublishedPathAsync()), ArchiveTestSupport.Sha256(Path.Combine(extracted, "usr", "bin", "pgdr")));
        var example = PgDr.Archive.Configuration.PgDrConfig.Load(Path.Combine(extracted, "etc", "pgdr", "pgdr.json"));
        Assert.Equal("/var/spool/pgdr", example.Async?.SpoolPath);
    }

    [Fact]
    public async Task Installed_into_a_throwaway_root_pgdr_runs_as_postgres_with_its_configuration_owned_by_postgres_and_a_purge_leaves_nothing()
    {
        var root = NewDirectory("deb-root");
        var admin = Path.Combine(root, "var", "lib", "dpkg");
        Directory.CreateDirectory(Path.Combine(admin, "info"));
        Directory.CreateDirectory(Path.Combine(admin, "updates"));
        await File.WriteAllTextAsync(Path.Combine(admin, "status"), string.Empty);
        var hostKnewPgdr = (await RunAsync("dpkg", "-s", "pgdr")).ExitCode == 0;

        // --force-depends: the throwaway root's database lists none of pgdr's dependencies (the host has them).
        await RunCheckedAsync("dpkg", $"--root={root}", "--force-script-chrootless", "--force-depends", "--log=/dev/null", "--install", Package);
        var status = await RunCheckedAsync("dpkg", $"--root={root}", "--status", "pgdr");
        var files = await RunCheckedAsync("dpkg", $"--root={root}", "--listfiles", "pgdr");
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var version = await ProcessRunner.RunAsync(Path.Combine(root, "usr", "bin", "pgdr"), ["--version"], timeout.Token, OsUser.ForPostgres(), workingDirectory: "/");
        var configuration = new FileInfo(Path.Combine(root, "etc", "pgdr", "pgdr.json"));
        var spool = new DirectoryInfo(Path.Combine(root, "var", "spool", "pgdr"));
        var owners = await RunCheckedAsync("stat", "-c", "%U:%G", configuration.FullName, spool.FullName);

        Assert.Matches(@"(?m)^Status: install ok installed$", status);
        Assert.Matches($@"(?m)^Version: {Regex.Escape(Version)}$", status);
        Assert.Contains("/usr/bin/pgdr", files, StringComparison.Ordinal);
        Assert.Contains("/etc/pgdr/pgdr.json", files, StringComparison.Ordinal);
        Assert.Contains("/var/spool/pgdr", files, StringComparison.Ordinal);
        Assert.True(version.ExitCode == 0, version.StandardError);
        Assert.StartsWith(Version, version.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, configuration.UnixFileMode);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, spool.UnixFileMode);
        Assert.Equal("postgres:postgres\npostgres:postgres", owners.Trim());

        await RunCheckedAsync("dpkg", $"--root={root}", "--force-script-chrootless", "--log=/dev/null", "--purge", "pgdr");
        var afterPurge = await RunAsync("dpkg", $"--root={root}", "--status", "pgdr");

        Assert.NotEqual(0, afterPurge.ExitCode);
        Assert.False(File.Exists(Path.Combine(root, "usr", "bin", "pgdr")));
        Assert.False(Directory.Exists(Path.Combine(root, "etc", "pgdr")));
        Assert.False(Directory.Exists(spool.FullName));
        Assert.Equal(hostKnewPgdr, (await RunAsync("dpkg", "-s", "pgdr")).ExitCode == 0);
    }

    [Fact]
    public async Task Without_a_postgres_account_postinst_leaves_the_files_to_root_says_how_to_hand_them_over_and_succeeds()
    {
        var control = NewDirectory("deb-ctl");
        await RunCheckedAsync("dpkg-deb", "--control", Package, control);
        var root = NewDirectory("deb-nopg");
        Directory.CreateDirectory(Path.Combine(root, "etc", "pgdr"));
        Directory.CreateDirectory(Path.Combine(root, "var", "spool", "pgdr"));
        await File.WriteAllTextAsync(Path.Combine(root, "etc", "pgdr", "pgdr.json"), "{}");
        // getent that knows no account: what a host without PostgreSQL answers.
        var bin = NewDirectory("deb-bin");
        await File.WriteAllTextAsync(Path.Combine(bin, "getent"), "#!/bin/sh\nexit 2\n");
        File.SetUnixFileMode(Path.Combine(bin, "getent"), UnixFileMode.UserRead | UnixFileMode.UserExecute);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));

        var run = await ProcessRunner.RunAsync(
            "sh", [Path.Combine(control, "postinst"), "configure"], timeout.Token,
            environment: new Dictionary<string, string> { ["DPKG_ROOT"] = root, ["PATH"] = $"{bin}:/usr/sbin:/usr/bin:/sbin:/bin" });
        var owners = await RunCheckedAsync("stat", "-c", "%U", Path.Combine(root, "etc", "pgdr", "pgdr.json"), Path.Combine(root, "var", "spool", "pgdr"));

        Assert.True(run.ExitCode == 0, run.StandardError);
        Assert.Contains("dpkg-reconfigure pgdr", run.StandardError, StringComparison.Ordinal);
        Assert.Equal("root\nroot", owners.Trim());
    }

    private static string NewDirectory(string label)
    {
        var directory = TestDirectories.Path($"{label}-{Guid.NewGuid():N}"[..(label.Length + 9)]);
        Directory.CreateDirectory(directory);
        File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        return directory;
    }

    private static async Task<ProcessResult> RunAsync(string program, params string[] arguments)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        return await ProcessRunner.RunAsync(program, arguments, timeout.Token);
    }

    private static async Task<string> RunCheckedAsync(string program, params string[] arguments)
    {
        var result = await RunAsync(program, arguments);
        Assert.True(result.ExitCode == 0, $"{program} {string.Join(' ', arguments)}: exit {result.ExitCode.ToString(CultureInfo.InvariantCulture)}\n{result.StandardError}{result.StandardOutput}");
        return result.StandardOutput;
    }
}
