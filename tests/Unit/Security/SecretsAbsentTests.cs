using System.Text;
using PgDr.Connections;
using PgDr.Diagnostics;
using PgDr.Errors;
using PgDr.Hosting;
using PgDr.Hosting.Sandbox;
using PgDr.Tests.Cli;
using PgDr.Tests.Fixtures;
using PgDr.Topology;

namespace PgDr.Tests.Security;

/// <summary>A primary and a standby whose logs, configuration and repository are searched for a secret.</summary>
public sealed class SecretsSandboxFixture : SandboxFixture
{
    protected override SandboxSpec Spec(string directory) => new() { Directory = directory, Standbys = 1 };
}

/// <summary>
/// A recognisable password and archive key go through pgdr's subcommands (node, lag, slots, sync, repo create, archiving
/// set and test with a forced switch archived by pgdr itself, wal push and fetch run directly, wal list and verify, lease
/// show, failover --what-if, standby create, check) and through the engine's error paths; then every output stream, every
/// process argument list seen while they ran, every file of the sandbox (server logs, postgresql.auto.conf, sandbox.json,
/// data directories, WAL) and of the repository is searched: the secret is in none of them. The only place the key may
/// be is its own file; the password is only ever in PGPASSWORD and in the new standby's 0600 password file.
/// </summary>
public sealed class SecretsAbsentTests(SecretsSandboxFixture fixture) : IClassFixture<SecretsSandboxFixture>
{
    private readonly PgSandbox _sandbox = fixture.Sandbox;

    [Fact]
    public async Task A_password_and_an_archive_key_are_in_no_output_argument_list_log_configuration_or_repository_file()
    {
        var password = SecretSearch.NewPassword();
        var primary = _sandbox.Primary.Instance;
        var standby = _sandbox.Instance("region-b");
        await Sql.ExecuteAsync(primary, $"CREATE ROLE pgdr_secret_admin LOGIN SUPERUSER PASSWORD '{password}'");

        var directory = await ArchiveTestSupport.NewDirectoryAsync("secrets");
        var keyFile = await ArchiveTestSupport.NewKeyFileAsync(directory);
        var secrets = new SecretSearch((await File.ReadAllTextAsync(keyFile)).Trim());
        var config = await ArchiveTestSupport.WriteConfigAsync(directory,
            ArchiveTestSupport.ConfigJson("secrets", [ArchiveTestSupport.FileSystemRepository("local", Path.Combine(directory, "repository"))], "zstd", keyFile));
        var environment = new Dictionary<string, string?> { ["PGUSER"] = "pgdr_secret_admin", ["PGPASSWORD"] = password, ["PGPASSFILE"] = "/nonexistent" };
        var wrongPassword = new Dictionary<string, string?>(environment) { ["PGPASSWORD"] = password + "Wrong" };

        var standbyDirectory = Path.Combine(_sandbox.Directory, "secret-standby");
        var standbyPasswordFile = standbyDirectory + ".pgpass";
        var runs = new List<(string Command, PgDrProcess.Result Result)>();
        try
        {
            await RunAndSearchAsync();
        }
        finally
        {
            // The standby pgdr made lives beside the sandbox's nodes; the slot goes with the sandbox.
            if (Directory.Exists(standbyDirectory))
            {
                await new LocalCluster(_sandbox.Binaries, standbyDirectory, _sandbox.RunAs).ForceStopAsync(CancellationToken.None);
            }
        }

        async Task RunAndSearchAsync()
        {
            await using (var watcher = new CommandLineWatcher())
            {
                async Task RunAsync(IReadOnlyDictionary<string, string?> env, params string[] args) =>
                    runs.Add((string.Join(' ', args), await PgDrProcess.RunAsync(env, args)));

                await RunAsync(environment, "node", primary.Name, standby.Name);
                await RunAsync(environment, "lag", primary.Name);
                await RunAsync(environment, "slot", "create", primary.Name, "secret_probe");
                await RunAsync(environment, "slot", "list", primary.Name);
                await RunAsync(environment, "slot", "test", primary.Name);
                await RunAsync(environment, "slot", "drop", primary.Name, "secret_probe");
                await RunAsync(environment, "sync", "set", primary.Name, "--standby", "region-b", "--what-if");
                await RunAsync(environment, "repo", "create", primary.Name, "--config", config);
                // The NativeAOT pgdr, as users install it: `archiving test` rightly fails the framework-dependent one as slow.
                await RunAsync(environment, "archiving", "set", primary.Name, "--config", config, "--pgdr", await NativePgDrFixture.PrivateCopyAsync(), "--restart");
                await RunAsync(environment, "archiving", "test", primary.Name, "--force-switch", "--config", config);
                // archive_command's and restore_command's pgdr, run by hand: the segment just archived, pushed again (recognised
                // as the same content) and fetched back through the encrypted archive.
                var segment = await Sql.ScalarAsync<string>(primary, "SELECT last_archived_wal FROM pg_stat_archiver");
                var copy = Path.Combine(directory, segment);
                File.Copy(Path.Combine(_sandbox.Node("region-a").DataDirectory, "pg_wal", segment), copy);
                var fetched = Path.Combine(directory, "fetched-" + segment);
                await RunAsync(environment, "wal", "push", "--config", config, copy, "--json");
                await RunAsync(environment, "wal", "fetch", "--config", config, segment, fetched);
                Assert.Equal(await File.ReadAllBytesAsync(copy), await File.ReadAllBytesAsync(fetched));

                await RunAsync(environment, "wal", "list", "--config", config);
                await RunAsync(environment, "wal", "verify", "--config", config);
                await RunAsync(environment, "lease", "show", "--config", config);
                await RunAsync(environment, "failover", standby.Name, "--old-primary", primary.Name, "--config", config, "--what-if");

                // A real standby whose replication password arrives in PGPASSWORD: it may only land in its 0600 password file.
                await RunAsync(
                    environment, "standby", "create", primary.Name, "--data-dir", standbyDirectory, "--name", "secret-standby", "--create-slot",
                    "--port", Ports.Closed().ToString(System.Globalization.CultureInfo.InvariantCulture), "--bin-dir", _sandbox.Binaries.Directory);

                await RunAsync(environment, "check", primary.Name, standby.Name);
                await RunAsync(environment, "check", primary.Name, "--json");
                await RunAsync(wrongPassword, "node", primary.Name);
                await RunAsync(wrongPassword, "check", primary.Name);

                // The engine's own error paths, with the password handed in as a PSCredential would.
                var wrong = primary.WithCredential("pgdr_secret_admin", password + "Wrong");
                var refused = await Assert.ThrowsAsync<PgDrConnectionException>(() => NodeInspector.GetNodeAsync(wrong, CancellationToken.None));
                Assert.Equal(ErrorIds.AuthenticationFailed, refused.ErrorId);
                secrets.AssertAbsent("the exception", refused.ToString());
                var checks = await ConfigurationCheckService.CheckAsync([wrong, primary.WithCredential("pgdr_secret_admin", password)], new ConfigurationCheckOptions(), null, CancellationToken.None);
                secrets.AssertAbsent("Test-PgDrConfiguration's results", string.Join('\n', checks.Select(c => $"{c} {c.Instance} {c.Subject}")));

                Assert.Contains(watcher.Seen, line => line.Contains("wal push", StringComparison.Ordinal));
                foreach (var line in watcher.Seen)
                {
                    secrets.AssertAbsent("a process argument list", line);
                }
            }

            // The operations did run: the archive was made, archiving works, the check ran.
            foreach (var (command, result) in runs.Take(runs.Count - 2))
            {
                Assert.True(result.ExitCode is 0 or 1, $"pgdr {command} exited {result.ExitCode}: {result.StandardError}");
            }

            Assert.Equal(0, runs.Single(r => r.Command.StartsWith("archiving test", StringComparison.Ordinal)).Result.ExitCode);
            Assert.Equal(0, runs.Single(r => r.Command.StartsWith("wal push", StringComparison.Ordinal)).Result.ExitCode);
            Assert.Equal(0, runs.Single(r => r.Command.StartsWith("wal fetch", StringComparison.Ordinal)).Result.ExitCode);
            Assert.Equal(0, runs.Single(r => r.Command.StartsWith("failover", StringComparison.Ordinal)).Result.ExitCode);
            Assert.Equal(0, runs.Single(r => r.Command.StartsWith("standby create", StringComparison.Ordinal)).Result.ExitCode);
            Assert.Equal(PgNodeRole.Primary, (await NodeInspector.GetNodeAsync(primary, CancellationToken.None)).Role);
            Assert.Equal(PgNodeRole.Standby, (await NodeInspector.GetNodeAsync(standby, CancellationToken.None)).Role);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(standbyPasswordFile));
            Assert.Contains(password, await File.ReadAllTextAsync(standbyPasswordFile), StringComparison.Ordinal);
            Assert.Contains("[AuthenticationFailed]", runs[^2].Result.StandardError, StringComparison.Ordinal);
            foreach (var (command, result) in runs)
            {
                secrets.AssertAbsent($"the output of pgdr {command}", result.StandardOutput + result.StandardError);
            }

            // Every file: server logs, postgresql.auto.conf, sandbox.json, data directories and WAL, the repository.
            var files = Directory.EnumerateFiles(_sandbox.Directory, "*", SearchOption.AllDirectories)
                .Concat(Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
                .Where(f => f != keyFile && f != standbyPasswordFile)
                .ToList();
            Assert.Contains(files, f => f.EndsWith("postgresql.auto.conf", StringComparison.Ordinal));
            Assert.Contains(files, f => f.Contains(Path.Combine(directory, "repository"), StringComparison.Ordinal));
            // The search itself finds what it looks for: in the key's own file, and in the password's bytes.
            Assert.NotNull(secrets.Holder(await File.ReadAllBytesAsync(keyFile)));
            Assert.NotNull(secrets.Holder(Encoding.UTF8.GetBytes(password)));
            await secrets.AssertAbsentFromFilesAsync(files);
        }
    }
}
