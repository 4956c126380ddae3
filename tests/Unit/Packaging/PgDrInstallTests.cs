using PgDr.Archive.Server;
using PgDr.Errors;
using PgDr.Hosting;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Packaging;

/// <summary>
/// Install-PgDrExecutable / pgdr install (PgDrInstallService): the NativeAOT pgdr copied where postgres can run it, with
/// -WhatIf writing nothing, an identical copy left alone, a different file replaced by rename, and every refusal made
/// before anything is written.
/// </summary>
public sealed class PgDrInstallTests(NativePgDrFixture native) : IClassFixture<NativePgDrFixture>
{
    private const UnixFileMode Open = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    [Fact]
    public async Task WhatIf_writes_nothing_install_writes_a_pgdr_postgres_runs_and_a_second_install_changes_nothing()
    {
        var target = Path.Combine(NewDirectory("install"), "usr local bin", "pgdr");
        var request = new PgDrInstallRequest { Source = native.ExecutablePath, Path = target };

        var plan = await PgDrInstallService.InstallAsync(request, apply: false, CancellationToken.None);
        var existedAfterPlan = File.Exists(target);
        var installed = await PgDrInstallService.InstallAsync(request, apply: true, CancellationToken.None);
        var again = await PgDrInstallService.InstallAsync(request, apply: true, CancellationToken.None);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var version = await ProcessRunner.RunAsync(target, ["--version"], timeout.Token, OsUser.ForPostgres(), workingDirectory: "/");

        Assert.Equal(PgDrInstallAction.Install, plan.Action);
        Assert.False(plan.Applied);
        Assert.False(existedAfterPlan);
        Assert.Contains($"{target}: (none) -> pgdr {PgDrInstallService.Version} (NativeAot)", plan.Describe(), StringComparison.Ordinal);
        Assert.Equal(PgDrInstallAction.Install, installed.Action);
        Assert.True(installed.Applied);
        Assert.Equal(ArchiveTestSupport.Sha256(native.ExecutablePath), ArchiveTestSupport.Sha256(target));
        Assert.Equal(Open, File.GetUnixFileMode(target));
        Assert.Equal(PgDrInstallAction.None, again.Action);
        Assert.True(version.ExitCode == 0, version.StandardError);
        Assert.StartsWith(PgDrInstallService.Version, version.StandardOutput, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(target)!, ".pgdr-*"));
    }

    [Fact]
    public async Task A_different_file_is_replaced_by_rename_so_a_process_holding_the_old_one_keeps_it()
    {
        var directory = NewDirectory("replace");
        var target = Path.Combine(directory, "pgdr");
        await File.WriteAllTextAsync(target, "#!/bin/sh\necho old\n");
        File.SetUnixFileMode(target, Open);
        await using var held = File.OpenRead(target);

        var replaced = await PgDrInstallService.InstallAsync(new PgDrInstallRequest { Source = native.ExecutablePath, Path = directory }, apply: true, CancellationToken.None);

        Assert.Equal(PgDrInstallAction.Replace, replaced.Action);
        Assert.Equal(target, replaced.Path);
        Assert.Equal(ArchiveTestSupport.Sha256(native.ExecutablePath), ArchiveTestSupport.Sha256(target));
        Assert.Equal("#!/bin/sh\necho old\n", await new StreamReader(held).ReadToEndAsync());
    }

    [Fact]
    public async Task The_framework_dependent_build_and_a_place_postgres_cannot_reach_are_refused_before_anything_is_written()
    {
        var directory = NewDirectory("refuse");
        var closed = Directory.CreateDirectory(Path.Combine(directory, "closed"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute).FullName;

        var slow = await Assert.ThrowsAsync<PgDrInvalidOperationException>(() =>
            PgDrInstallService.InstallAsync(new PgDrInstallRequest { Source = PgDrForPostgres.ExecutablePath, Path = Path.Combine(directory, "pgdr") }, apply: true, CancellationToken.None));
        var unreachable = await Assert.ThrowsAsync<PgDrException>(() =>
            PgDrInstallService.InstallAsync(new PgDrInstallRequest { Source = native.ExecutablePath, Path = Path.Combine(closed, "bin", "pgdr") }, apply: true, CancellationToken.None));
        var nothingToInstall = await Assert.ThrowsAsync<PgDrException>(() =>
            PgDrInstallService.InstallAsync(new PgDrInstallRequest { Path = Path.Combine(directory, "pgdr") }, apply: true, CancellationToken.None));

        Assert.Equal(ErrorIds.PgDrExecutableNotInstallable, slow.ErrorId);
        Assert.Equal(ErrorIds.ServiceAccountAccessDenied, unreachable.ErrorId);
        Assert.Equal(ErrorIds.PgDrExecutableNotFound, nothingToInstall.ErrorId); // the test host carries no pgdr of its own
        Assert.Equal(["closed"], Directory.GetFileSystemEntries(directory).Select(Path.GetFileName));
        Assert.Empty(Directory.GetFileSystemEntries(closed));
    }

    [Fact]
    public async Task Pgdr_install_copies_the_NativeAOT_pgdr_itself_and_the_framework_dependent_one_refuses_in_one_line()
    {
        var directory = NewDirectory("cli-install");
        var target = Path.Combine(directory, "pgdr");
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));

        var whatIf = await native.RunAsync("install", "--path", target, "--what-if");
        var existedAfterWhatIf = File.Exists(target);
        var installed = await native.RunAsync("install", "--path", target);
        var slow = await ProcessRunner.RunAsync(PgDrForPostgres.ExecutablePath, ["install", "--path", Path.Combine(directory, "slow")], timeout.Token);

        Assert.True(whatIf.ExitCode == 0, whatIf.StandardError);
        Assert.StartsWith("What if: ", whatIf.StandardOutput, StringComparison.Ordinal);
        Assert.False(existedAfterWhatIf);
        Assert.True(installed.ExitCode == 0, installed.StandardError);
        Assert.Equal(ArchiveTestSupport.Sha256(native.ExecutablePath), ArchiveTestSupport.Sha256(target));
        Assert.Equal(2, slow.ExitCode);
        Assert.EndsWith($"[{ErrorIds.PgDrExecutableNotInstallable}]", Assert.Single(slow.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(directory, "slow")));
    }

    private static string NewDirectory(string label)
    {
        var directory = TestDirectories.Path($"{label}-{Guid.NewGuid():N}"[..(label.Length + 9)]);
        Directory.CreateDirectory(directory, Open);
        File.SetUnixFileMode(directory, Open);
        return directory;
    }
}
