using System.Text.Json;
using PgDr.Archive.Configuration;
using PgDr.Archive.Stanza;
using PgDr.Archive.Transfer;
using PgDr.Archive.Wal;
using PgDr.Tests.Cli;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Archive.Transfer;

/// <summary>pgdr wal verify as a shell runs it: exit 0 readable, 1 an object failed, 2 an error, one line per error.</summary>
public sealed class WalVerifyCommandLineTests(WalCorpusFixture corpus, S3rverFixture s3) : IClassFixture<WalCorpusFixture>, IClassFixture<S3rverFixture>
{
    private sealed record Archive(string Directory, string Repository, string KeyFile, string ConfigPath);

    private async Task<Archive> NewArchiveAsync()
    {
        var directory = await ArchiveTestSupport.NewDirectoryAsync("cli-verify");
        var repository = Directory.CreateDirectory(Path.Combine(directory, "repo")).FullName;
        var keyFile = await ArchiveTestSupport.NewKeyFileAsync(directory);
        var configPath = await ArchiveTestSupport.WriteConfigAsync(directory, ArchiveTestSupport.ConfigJson("main", [ArchiveTestSupport.FileSystemRepository("local", repository)], "zstd", keyFile));
        var config = PgDrConfig.Load(configPath);
        await WalPushService.PushAsync(config, corpus.Segments[0], CancellationToken.None);
        await WalPushService.PushAsync(config, corpus.Segments[1], CancellationToken.None);
        return new Archive(directory, repository, keyFile, configPath);
    }

    [Fact]
    public async Task Verify_exits_0_with_a_table_when_every_object_reads_and_1_naming_the_object_when_one_is_damaged()
    {
        var archive = await NewArchiveAsync();

        var good = await PgDrProcess.RunAsync(null, "wal", "verify", "--config", archive.ConfigPath);
        var json = await PgDrProcess.RunAsync(null, "--json", "wal", "verify", "--config", archive.ConfigPath);
        var damaged = Path.Combine(archive.Repository, ArchiveLayout.WalKey("main", WalFileName.Parse(Path.GetFileName(corpus.Segments[1]))));
        var bytes = await File.ReadAllBytesAsync(damaged);
        bytes[^100] ^= 0x01;
        await File.WriteAllBytesAsync(damaged, bytes);
        var bad = await PgDrProcess.RunAsync(null, "wal", "verify", "--config", archive.ConfigPath);

        Assert.True(good.ExitCode == 0, good.StandardError);
        Assert.Equal(string.Empty, good.StandardError);
        Assert.Matches(@"(?m)^local\s+2\s+0\s", good.StandardOutput);
        Assert.True(json.ExitCode == 0, json.StandardError);
        var repository = Assert.Single(JsonDocument.Parse(json.StandardOutput).RootElement.EnumerateArray());
        Assert.Equal(2, repository.GetProperty("verifiedCount").GetInt64());
        Assert.True(repository.GetProperty("readable").GetBoolean());
        Assert.Equal(1, bad.ExitCode);
        Assert.Equal(string.Empty, bad.StandardError);
        Assert.Matches($@"(?m)^local\s+{Path.GetFileName(corpus.Segments[1])}\s+ArchiveObjectCorrupt\s", bad.StandardOutput);
    }

    [Fact]
    public async Task Errors_exit_2_with_one_line_naming_the_error_id()
    {
        var archive = await NewArchiveAsync();

        var noConfig = await PgDrProcess.RunAsync(null, "wal", "verify", "--config", Path.Combine(archive.Directory, "absent.json"));
        var noRepository = await PgDrProcess.RunAsync(null, "wal", "verify", "--config", archive.ConfigPath, "--repository", "nowhere");
        File.Delete(archive.KeyFile);
        var noKey = await PgDrProcess.RunAsync(null, "wal", "verify", "--config", archive.ConfigPath);

        foreach (var (result, id) in new[] { (noConfig, "ConfigNotFound"), (noRepository, "RepositoryNotFound"), (noKey, "ArchiveKeyNotFound") })
        {
            Assert.Equal(2, result.ExitCode);
            var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("pgdr: ", line, StringComparison.Ordinal);
            Assert.EndsWith($"[{id}]", line, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_repository_out_of_reach_exits_2_with_its_line_after_the_other_repositorys_results()
    {
        var archive = await NewArchiveAsync();
        var json = ArchiveTestSupport.ConfigJson(
            "main",
            [ArchiveTestSupport.FileSystemRepository("local", archive.Repository), ArchiveTestSupport.S3Repository("down", s3, endpoint: $"http://127.0.0.1:{Ports.Closed()}", required: false)],
            "zstd",
            archive.KeyFile);
        var configPath = await ArchiveTestSupport.WriteConfigAsync(archive.Directory, json);

        // The S3 credentials live in this process's environment (ArchiveTestSupport.S3Repository sets them).
        var result = await PgDrProcess.RunAsync(null, "wal", "verify", "--config", configPath);

        Assert.Equal(2, result.ExitCode);
        Assert.EndsWith("[RepositoryUnavailable]", Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
        Assert.Matches(@"(?m)^local\s+2\s+0\s", result.StandardOutput);
    }

    [Fact]
    public void The_key_cannot_be_given_on_the_command_line()
    {
        var verify = PgDr.Cli.PgDrCli.BuildRootCommand().Subcommands.Single(c => c.Name == "wal").Subcommands.Single(c => c.Name == "verify");

        Assert.DoesNotContain(verify.Options, o => o.Name.Contains("key", StringComparison.OrdinalIgnoreCase));
        Assert.Empty(verify.Arguments);
    }
}
