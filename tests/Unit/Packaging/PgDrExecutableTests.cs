using PgDr.Archive.Server;
using PgDr.Errors;
using PgDr.Hosting;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Packaging;

/// <summary>
/// Which pgdr archive_command and restore_command get when none is named (PgDrExecutable.LocateAsync, the one place
/// Set-PgWalArchiving, New-PgStandby and restores ask): the Debian package's, else Install-PgDrExecutable's, else the
/// copy that came with the running code, each only when the postgres account can run it; else an error that says how to
/// install one. Run as root (CI), so "can run" is asked as postgres itself.
/// </summary>
public sealed class PgDrExecutableTests(NativePgDrFixture native) : IClassFixture<NativePgDrFixture>
{
    private readonly OsUser _postgres = OsUser.ForPostgres();

    [Fact]
    public void The_defaults_are_the_Debian_package_then_the_install_path_then_the_own_copy()
    {
        var candidates = PgDrExecutable.DefaultCandidates();

        Assert.Equal(["/usr/bin/pgdr", "/usr/local/bin/pgdr"], candidates.Take(2));
        Assert.Null(PgDrExecutable.OwnCopy); // the test host is neither pgdr nor the module (its engine is not in Dependencies/)
        Assert.Equal($"linux-{System.Runtime.InteropServices.RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant()}", PgDrExecutable.RuntimeIdentifier);
    }

    [Fact]
    public async Task The_first_candidate_postgres_can_run_wins_and_one_it_cannot_reach_is_passed_over()
    {
        var (runnable, hidden) = Layout("locate-first");
        var absent = Path.Combine(Path.GetDirectoryName(runnable)!, "absent", "pgdr");

        var located = await PgDrExecutable.LocateAsync(null, _postgres, [absent, hidden, runnable], CancellationToken.None);

        Assert.Equal(runnable, located);
    }

    [Fact]
    public async Task When_postgres_can_run_none_the_error_says_how_to_install_one()
    {
        var (_, hidden) = Layout("locate-none");

        var ex = await Assert.ThrowsAsync<PgDrException>(() => PgDrExecutable.LocateAsync(null, _postgres, ["/nonexistent/pgdr", hidden], CancellationToken.None));

        Assert.Equal(ErrorIds.PgDrExecutableNotFound, ex.ErrorId);
        Assert.Equal(PgDrErrorCategory.NotInstalled, ex.Category);
        // What the requirement is about: the way out is named (the package, the cmdlet and its pgdr counterpart, the parameter).
        Assert.All(new[] { "Debian package", "Install-PgDrExecutable", "pgdr install", "-PgDrPath" }, hint => Assert.Contains(hint, ex.Message, StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_explicit_path_must_exist_and_be_runnable_by_postgres()
    {
        var (runnable, hidden) = Layout("locate-explicit");

        var missing = await Assert.ThrowsAsync<PgDrException>(() => PgDrExecutable.LocateAsync(runnable + ".absent", _postgres, CancellationToken.None));
        var denied = await Assert.ThrowsAsync<PgDrException>(() => PgDrExecutable.LocateAsync(hidden, _postgres, CancellationToken.None));
        var located = await PgDrExecutable.LocateAsync(runnable, _postgres, CancellationToken.None);

        Assert.Equal(ErrorIds.PgDrExecutableNotFound, missing.ErrorId);
        Assert.Equal(ErrorIds.ServiceAccountAccessDenied, denied.ErrorId);
        Assert.Equal(runnable, located);
    }

    /// <summary>The native pgdr twice: in a folder postgres can enter, and in one only root can (as under /root's modules folder).</summary>
    private (string Runnable, string Hidden) Layout(string label)
    {
        var directory = TestDirectories.Path($"{label}-{Guid.NewGuid():N}"[..(label.Length + 9)]);
        var open = Directory.CreateDirectory(Path.Combine(directory, "open"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute).FullName;
        var closed = Directory.CreateDirectory(Path.Combine(directory, "closed"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute).FullName;
        File.SetUnixFileMode(directory, File.GetUnixFileMode(open));
        File.Copy(native.ExecutablePath, Path.Combine(open, "pgdr"));
        File.Copy(native.ExecutablePath, Path.Combine(closed, "pgdr"));
        return (Path.Combine(open, "pgdr"), Path.Combine(closed, "pgdr"));
    }
}
