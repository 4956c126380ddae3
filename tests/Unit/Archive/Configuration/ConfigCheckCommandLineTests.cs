using PgDr.Errors;
using PgDr.Hosting;
using PgDr.Tests.Cli;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Archive.Configuration;

/// <summary>pgdr config check: the configuration and the key read as archive_command reads them, by the account that runs it.</summary>
public sealed class ConfigCheckCommandLineTests
{
    [Fact]
    public async Task Readable_configuration_and_key_exit_0_and_name_the_account()
    {
        var directory = await ArchiveTestSupport.NewDirectoryAsync("check");
        var keyFile = await ArchiveTestSupport.NewKeyFileAsync(directory);
        var config = await ArchiveTestSupport.WriteConfigAsync(directory,
            ArchiveTestSupport.ConfigJson("check", [ArchiveTestSupport.FileSystemRepository("local", directory)], "zstd", keyFile));
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        // As the postgres account, which owns the key (root could read it anyway).
        var result = await ProcessRunner.RunAsync(PgDrForPostgres.ExecutablePath, ["--json", "config", "check", "--config", config], CancellationToken.None, OsUser.ForPostgres());

        Assert.True(result.ExitCode == 0, result.StandardError);
        Assert.Contains($"\"account\": \"{OsUser.ForPostgres().Name}\"", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains($"key file {keyFile}", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_configuration_the_account_cannot_read_is_ConfigAccessDenied_and_a_missing_one_ConfigNotFound()
    {
        Assert.True(OsUser.CallerIsRoot, "this test runs as root, as CI does");
        var directory = await ArchiveTestSupport.NewDirectoryAsync("check");
        var config = Path.Combine(directory, "root-only.json");
        await File.WriteAllTextAsync(config, ArchiveTestSupport.ConfigJson("check", [ArchiveTestSupport.FileSystemRepository("local", directory)]));
        File.SetUnixFileMode(config, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var denied = await ProcessRunner.RunAsync(PgDrForPostgres.ExecutablePath, ["config", "check", "--config", config], CancellationToken.None, OsUser.ForPostgres());
        var missing = await PgDrProcess.RunAsync(null, "config", "check", "--config", Path.Combine(directory, "absent.json"));

        Assert.Equal(2, denied.ExitCode);
        Assert.EndsWith($"[{ErrorIds.ConfigAccessDenied}]", denied.StandardError.Trim(), StringComparison.Ordinal);
        Assert.Contains("'postgres'", denied.StandardError, StringComparison.Ordinal);
        Assert.Equal(2, missing.ExitCode);
        Assert.EndsWith($"[{ErrorIds.ConfigNotFound}]", missing.StandardError.Trim(), StringComparison.Ordinal);
    }
}
