using System.Text;
using PgDr.Hosting.Sandbox;
using PgDr.Tests.Cli;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Security;

/// <summary>
/// The subcommands that SecretsAbsentTests leaves out because they change the topology or take long, run for real with
/// a recognisable password and archive key: archiving through the async spool (the push and prefetch workers), a base
/// backup taken, listed, proven by restoring it into a scratch cluster and restored into a directory, a switchover. Every output, every argument list seen meanwhile, and every file of the sandbox, the spool, the restored
/// directory and the repository is searched: the secret is in none of them. A sandbox of its own (a class fixture is one
/// per class): the test swaps primary and standby.
/// </summary>
public sealed class SecretsThroughChangesTests(SecretsSandboxFixture fixture) : IClassFixture<SecretsSandboxFixture>
{
    private readonly PgSandbox _sandbox = fixture.Sandbox;

    [Fact]
    public async Task Async_archiving_backups_and_a_switchover_leave_the_password_and_archive_key_nowhere()
    {
        var password = SecretSearch.NewPassword();
        var primary = _sandbox.Primary.Instance;
        var standby = _sandbox.Instance("region-b");
        await Sql.ExecuteAsync(primary, $"CREATE ROLE pgdr_secret_admin LOGIN SUPERUSER PASSWORD '{password}'");

        var directory = await ArchiveTestSupport.NewDirectoryAsync("secrets-changes");
        var keyFile = await ArchiveTestSupport.NewKeyFileAsync(directory);
        var secrets = new SecretSearch((await File.ReadAllTextAsync(keyFile)).Trim());
        var config = await ArchiveTestSupport.WriteConfigAsync(directory, ArchiveTestSupport.ConfigJson(
            "secrets", [ArchiveTestSupport.FileSystemRepository("local", Path.Combine(directory, "repository"))], "zstd", keyFile, spoolPath: Path.Combine(directory, "spool")));
        var pgdr = await NativePgDrFixture.PrivateCopyAsync();
        var environment = new Dictionary<string, string?> { ["PGUSER"] = "pgdr_secret_admin", ["PGPASSWORD"] = password, ["PGPASSFILE"] = "/nonexistent" };
        var restored = Path.Combine(_sandbox.Directory, "restored");
        var runs = new List<(string Command, PgDrProcess.Result Result)>();

        await using (var watcher = new CommandLineWatcher())
        {
            async Task<PgDrProcess.Result> RunAsync(params string[] args)
            {
                var result = await PgDrProcess.RunAsync(environment, args);
                runs.Add((string.Join(' ', args), result));
                Assert.True(result.ExitCode == 0, $"pgdr {string.Join(' ', args)} exited {result.ExitCode}: {result.StandardOutput}{result.StandardError}");
                return result;
            }

            await RunAsync("repo", "create", primary.Name, "--config", config);
            await RunAsync("archiving", "set", primary.Name, "--config", config, "--pgdr", pgdr, "--restart");
            await RunAsync("archiving", "test", primary.Name, "--force-switch", "--config", config);

            // Async mode runs as PostgreSQL runs it, as the postgres account: the push worker behind archive_command, and the
            // prefetch worker behind the restore_command of backup test's scratch cluster. (By hand as root, a worker would
            // leave root-owned files in the spool; SecretsAbsentTests runs wal push and fetch by hand, synchronously.)
            await RunAsync("backup", "create", primary.Name, "--config", config);
            await RunAsync("backup", "list", "--config", config);
            await RunAsync("backup", "test", "--config", config, "--pgdr", pgdr, "--bin-dir", _sandbox.Binaries.Directory);
            await RunAsync("restore", restored, "--config", config, "--pgdr", pgdr);

            await RunAsync("switchover", standby.Name, "--old-primary", primary.Name, "--config", config);
            await RunAsync("lease", "show", "--config", config);

            Assert.Contains(watcher.Seen, line => line.Contains("wal push-worker", StringComparison.Ordinal));
            foreach (var line in watcher.Seen)
            {
                secrets.AssertAbsent("a process argument list", line);
            }
        }

        // The operations did what they say: region-b is the primary after the switchover, the restore is a data directory.
        Assert.False(await Sql.ScalarAsync<bool>(standby, "SELECT pg_is_in_recovery()"));
        Assert.True(File.Exists(Path.Combine(restored, "PG_VERSION")));
        foreach (var (command, result) in runs)
        {
            secrets.AssertAbsent($"the output of pgdr {command}", result.StandardOutput + result.StandardError);
        }

        // Every file: server logs, postgresql.auto.conf of every node and of the restore, the spool and its worker logs, the repository.
        var files = Directory.EnumerateFiles(_sandbox.Directory, "*", SearchOption.AllDirectories)
            .Concat(Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
            .Where(f => f != keyFile)
            .ToList();
        Assert.Contains(files, f => f == Path.Combine(restored, "postgresql.auto.conf"));
        Assert.Contains(files, f => f.StartsWith(Path.Combine(directory, "spool"), StringComparison.Ordinal) && f.EndsWith(".log", StringComparison.Ordinal));
        Assert.Contains(files, f => f.Contains(Path.Combine(directory, "repository"), StringComparison.Ordinal));
        Assert.NotNull(secrets.Holder(Encoding.UTF8.GetBytes(password)));
        await secrets.AssertAbsentFromFilesAsync(files);
    }
}
