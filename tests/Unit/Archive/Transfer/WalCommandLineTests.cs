using System.Diagnostics;
using PgDr.Tests.Cli;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Archive.Transfer;

/// <summary>pgdr wal push/fetch as PostgreSQL runs them: exit codes, stderr, and a push killed halfway.</summary>
public sealed class WalCommandLineTests(WalCorpusFixture corpus) : IClassFixture<WalCorpusFixture>
{
    private static async Task<(string Directory, string ConfigPath)> NewConfigAsync(string compression = "zstd")
    {
        var directory = await ArchiveTestSupport.NewDirectoryAsync("cli");
        var repository = Directory.CreateDirectory(Path.Combine(directory, "repo")).FullName;
        var json = ArchiveTestSupport.ConfigJson("main", [ArchiveTestSupport.FileSystemRepository("local", repository)], compression, await ArchiveTestSupport.NewKeyFileAsync(directory));
        return (directory, await ArchiveTestSupport.WriteConfigAsync(directory, json));
    }

    [Fact]
    public async Task Push_exits_0_twice_and_fetch_exits_0_with_the_verified_file_and_1_quietly_for_a_missing_one()
    {
        var (directory, config) = await NewConfigAsync();
        var segment = corpus.Segments[0];

        var first = await PgDrProcess.RunAsync(null, "wal", "push", "--config", config, segment);
        var again = await PgDrProcess.RunAsync(null, "wal", "push", "--config", config, segment);
        var fetched = await PgDrProcess.RunAsync(null, "wal", "fetch", "--config", config, Path.GetFileName(segment), Path.Combine(directory, "RECOVERYXLOG"));
        var missing = await PgDrProcess.RunAsync(null, "wal", "fetch", "--config", config, "0000000100000000000000FF", Path.Combine(directory, "NOPE"));
        var history = await PgDrProcess.RunAsync(null, "wal", "fetch", "--config", config, "00000002.history", Path.Combine(directory, "NOPE"));

        Assert.True(first.ExitCode == 0, first.StandardError);
        Assert.True(again.ExitCode == 0, again.StandardError);
        Assert.Equal(string.Empty, first.StandardOutput + first.StandardError);
        Assert.True(fetched.ExitCode == 0, fetched.StandardError);
        Assert.Equal(ArchiveTestSupport.Sha256(segment), ArchiveTestSupport.Sha256(Path.Combine(directory, "RECOVERYXLOG")));
        Assert.Equal(1, missing.ExitCode);
        Assert.Equal(string.Empty, missing.StandardError + missing.StandardOutput);
        Assert.Equal(1, history.ExitCode);
        Assert.False(File.Exists(Path.Combine(directory, "NOPE")));
    }

    [Fact]
    public async Task Errors_exit_2_with_one_line_naming_the_error_id()
    {
        var (directory, config) = await NewConfigAsync();

        var badName = await PgDrProcess.RunAsync(null, "wal", "fetch", "--config", config, "../../etc/shadow", Path.Combine(directory, "x"));
        var noConfig = await PgDrProcess.RunAsync(null, "wal", "push", "--config", Path.Combine(directory, "absent.json"), corpus.Segments[0]);
        var noFile = await PgDrProcess.RunAsync(null, "wal", "push", "--config", config, Path.Combine(directory, "000000010000000000000009"));

        Assert.Equal(2, badName.ExitCode);
        Assert.EndsWith("[InvalidWalFileName]", Assert.Single(badName.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
        Assert.Equal(2, noConfig.ExitCode);
        Assert.Contains("[ConfigNotFound]", noConfig.StandardError, StringComparison.Ordinal);
        Assert.Equal(2, noFile.ExitCode);
        Assert.Contains("[WalNotFound]", noFile.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_push_killed_halfway_leaves_nothing_fetch_would_accept_and_a_later_push_succeeds()
    {
        var (directory, config) = await NewConfigAsync("none");
        var segment = corpus.Segments[2];
        foreach (var delay in new[] { 150, 250, 400 })
        {
            using var process = Process.Start(new ProcessStartInfo("dotnet")
            {
                ArgumentList = { Path.Combine(AppContext.BaseDirectory, "pgdr.dll"), "wal", "push", "--config", config, segment },
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            await Task.Delay(delay);
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();

            var destination = Path.Combine(directory, $"after-kill-{delay}");
            var fetch = await PgDrProcess.RunAsync(null, "wal", "fetch", "--config", config, Path.GetFileName(segment), destination);
            if (fetch.ExitCode == 0)
            {
                Assert.Equal(ArchiveTestSupport.Sha256(segment), ArchiveTestSupport.Sha256(destination));
            }
            else
            {
                Assert.Equal(1, fetch.ExitCode);
                Assert.False(File.Exists(destination));
            }
        }

        var retry = await PgDrProcess.RunAsync(null, "wal", "push", "--config", config, segment);
        Assert.True(retry.ExitCode == 0, retry.StandardError);
    }
}
