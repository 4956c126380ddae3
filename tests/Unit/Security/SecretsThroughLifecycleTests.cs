using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using PgDr.Archive.Configuration;
using PgDr.Backup.Catalog;
using PgDr.Hosting;
using PgDr.Hosting.Sandbox;
using PgDr.Tests.Agent;
using PgDr.Tests.Cli;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Security;

/// <summary>
/// The pgdr subcommands the other secrets tests leave out, run for real with a recognisable password in PGPASSWORD and an
/// archive key: sandbox up, status and down (the sandbox is this test's own, made by pgdr itself), config check, install
/// (a real install into a directory of the test, not /usr/bin), backup create twice and backup expire, a failover,
/// rejoin of the old primary, sync set on and off, the agent run for a few seconds and read over HTTP (/status, /metrics), events. Every
/// output, every argument list seen meanwhile, the environment of every server pgdr started, and every file of the
/// sandbox, the repository and the installed pgdr's directory is searched: the secret is in none of them.
/// </summary>
public sealed class SecretsThroughLifecycleTests
{
    [Fact]
    public async Task Sandbox_config_install_expire_failover_rejoin_agent_and_events_leave_the_password_and_archive_key_nowhere()
    {
        var password = SecretSearch.NewPassword();
        var directory = await ArchiveTestSupport.NewDirectoryAsync("secrets-lifecycle");
        var sandboxDirectory = SandboxFixture.NewDirectory("secrets-sandbox");
        Directory.CreateDirectory(Path.GetDirectoryName(sandboxDirectory)!);
        var keyFile = await ArchiveTestSupport.NewKeyFileAsync(directory);
        var secrets = new SecretSearch((await File.ReadAllTextAsync(keyFile)).Trim());
        var pgdr = await NativePgDrFixture.PrivateCopyAsync();
        var environment = new Dictionary<string, string> { ["PGUSER"] = "pgdr_secret_admin", ["PGPASSWORD"] = password, ["PGPASSFILE"] = "/nonexistent" };
        var processEnvironment = environment.ToDictionary(e => e.Key, e => (string?)e.Value);
        processEnvironment["PGDR_CONFIG"] = null;
        processEnvironment["PGDR_SANDBOX"] = null;
        var outputs = new List<(string Command, string Text)>();
        try
        {
            await using var watcher = new CommandLineWatcher();
            async Task<string> RunAsync(params string[] args)
            {
                var result = await PgDrProcess.RunAsync(processEnvironment, args);
                outputs.Add((string.Join(' ', args), result.StandardOutput + result.StandardError));
                Assert.True(result.ExitCode == 0, $"pgdr {string.Join(' ', args)} exited {result.ExitCode}: {result.StandardOutput}{result.StandardError}");
                return result.StandardOutput;
            }

            // The sandbox, made by pgdr while PGPASSWORD holds another role's password: its standby's copy and its servers
            // must use the sandbox's own password file, never PGPASSWORD.
            await RunAsync("sandbox", "up", "--dir", sandboxDirectory, "--standbys", "1");
            var sandbox = await SandboxService.OpenAsync(sandboxDirectory, CancellationToken.None);
            var (a, b) = (sandbox.Instance("region-a"), sandbox.Instance("region-b"));
            await Sql.ExecuteAsync(a, $"CREATE ROLE pgdr_secret_admin LOGIN SUPERUSER PASSWORD '{password}'");
            await Wait.UntilAsync(
                async _ => await Sql.ScalarAsync<bool>(b, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgdr_secret_admin')"),
                TimeSpan.FromSeconds(60), "the role on region-b", CancellationToken.None);
            await RunAsync("sandbox", "status", "--dir", sandboxDirectory);

            var agentPort = Ports.Closed();
            var events = Path.Combine(directory, "agent-events.jsonl");
            var config = await WriteConfigAsync(directory, keyFile, b.Name, agentPort, events);
            await RunAsync("config", "check", "--config", config);
            var installed = Path.Combine(directory, "installed");
            Directory.CreateDirectory(installed);
            var install = await ProcessRunner.RunAsync(pgdr, ["install", "--path", installed], CancellationToken.None, environment: environment);
            outputs.Add(("install", install.StandardOutput + install.StandardError));
            Assert.True(install.ExitCode == 0, install.StandardOutput + install.StandardError);
            Assert.True(File.Exists(Path.Combine(installed, "pgdr")));

            // Two backups, then expire keeps the newest full one: the older goes, read and removed with the key held.
            await RunAsync("repo", "create", a.Name, "--config", config);
            await RunAsync("archiving", "set", a.Name, "--config", config, "--pgdr", pgdr, "--restart");
            await RunAsync("backup", "create", a.Name, "--config", config);
            await RunAsync("backup", "create", a.Name, "--config", config);
            await RunAsync("backup", "expire", "--keep-full", "1", "--config", config);
            Assert.Single(await BackupCatalog.ListAsync(PgDrConfig.Load(config), null, CancellationToken.None));

            // A real failover, then the old primary rejoins as a standby of region-b and streams.
            await RunAsync("failover", b.Name, "--old-primary", a.Name, "--config", config);
            await RunAsync("rejoin", sandbox.Node("region-a").DataDirectory, "--primary", b.Name, "--config", config);
            await Wait.UntilAsync(
                async _ => await Sql.ScalarAsync<bool>(b, "SELECT EXISTS (SELECT 1 FROM pg_stat_replication WHERE application_name = 'region-a' AND state = 'streaming')"),
                TimeSpan.FromSeconds(60), "region-a to stream from region-b", CancellationToken.None);

            // Synchronous replication set for real (SecretsAbsentTests only asks what it would change), then off again.
            await RunAsync("sync", "set", b.Name, "--standby", "region-a");
            await RunAsync("sync", "set", b.Name, "--off");

            // The agent of the new primary, for a few seconds: it takes the lease, answers over HTTP, stops on SIGTERM. Its
            // port is chosen now: one chosen before the backups could have been taken since by a connection's local port.
            agentPort = Ports.Closed();
            await WriteConfigAsync(directory, keyFile, b.Name, agentPort, events);
            await using (var agent = AgentProcess.Start(config, environment))
            {
                try
                {
                    await AgentTestSupport.WaitForHttpAsync(agentPort, "/primary", HttpStatusCode.OK, TimeSpan.FromSeconds(60));
                }
                catch (PgDr.Errors.PgDrException ex)
                {
                    Assert.Fail($"{ex.Message} The agent wrote: {string.Join(" | ", agent.Lines)}");
                }

                using var http = new HttpClient();
                var status = await http.GetStringAsync($"http://127.0.0.1:{agentPort}/status");
                var metrics = await http.GetStringAsync($"http://127.0.0.1:{agentPort}/metrics");
                outputs.Add(("GET /status", status));
                outputs.Add(("GET /metrics", metrics));
                Assert.Equal(2, JsonNode.Parse(status)!["disks"]!.AsArray().Count);
                Assert.Contains("pgdr_disk_free_bytes{node=\"region-b\",disk=\"pg_wal\"}", metrics, StringComparison.Ordinal);
                Assert.Equal(0, await agent.TerminateAsync());
                outputs.Add(("agent", string.Join('\n', agent.Lines)));
            }

            Assert.Contains("AgentStopped", await RunAsync("events", "--config", config), StringComparison.Ordinal);

            // Before the sandbox goes: the environment every server of it runs with, and every file of it.
            foreach (var node in sandbox.Nodes)
            {
                var pid = File.ReadLines(Path.Combine(node.DataDirectory, "postmaster.pid")).First();
                var environ = await File.ReadAllBytesAsync($"/proc/{pid}/environ");
                Assert.True(secrets.Holder(environ) is null, $"{node.Name}'s server environment holds {secrets.Holder(environ)}");
            }

            var sandboxFiles = Directory.EnumerateFiles(sandboxDirectory, "*", SearchOption.AllDirectories).ToList();
            Assert.Contains(sandboxFiles, f => f.EndsWith("postgresql.auto.conf", StringComparison.Ordinal));
            await secrets.AssertAbsentFromFilesAsync(sandboxFiles);

            await RunAsync("sandbox", "down", "--dir", sandboxDirectory);
            Assert.False(Directory.Exists(sandboxDirectory));

            Assert.Contains(watcher.Seen, line => line.Contains("wal push", StringComparison.Ordinal));
            foreach (var line in watcher.Seen)
            {
                secrets.AssertAbsent("a process argument list", line);
            }
        }
        finally
        {
            if (Directory.Exists(sandboxDirectory))
            {
                await SandboxService.RemoveAsync(sandboxDirectory, progress: null, CancellationToken.None);
            }
        }

        foreach (var (command, text) in outputs)
        {
            secrets.AssertAbsent($"the output of {command}", text);
        }

        // The repository (backups, WAL, lease), the agent's event log, the configuration, the installed pgdr.
        var files = Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).Where(f => f != keyFile).ToList();
        Assert.Contains(files, f => f == Path.Combine(directory, "agent-events.jsonl"));
        Assert.Contains(files, f => f.Contains(Path.Combine(directory, "repository"), StringComparison.Ordinal));
        Assert.NotNull(secrets.Holder(Encoding.UTF8.GetBytes(password)));
        await secrets.AssertAbsentFromFilesAsync(files);
    }

    /// <summary>The configuration: a filesystem repository, the archive key, and the agent section of region-b's host.</summary>
    private static async Task<string> WriteConfigAsync(string directory, string keyFile, string regionB, int agentPort, string events)
    {
        var config = JsonNode.Parse(ArchiveTestSupport.ConfigJson(
            "secrets", [ArchiveTestSupport.FileSystemRepository("local", Path.Combine(directory, "repository"))], "zstd", keyFile))!.AsObject();
        config["agent"] = new JsonObject
        {
            ["node"] = "region-b",
            ["instance"] = regionB,
            ["httpAddress"] = "127.0.0.1",
            ["httpPort"] = agentPort,
            ["eventsPath"] = events,
            ["policy"] = TestPolicy.Json(),
        };
        return await ArchiveTestSupport.WriteConfigAsync(directory, config.ToJsonString());
    }
}
