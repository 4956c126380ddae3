using System.Globalization;
using System.Text.Json;
using PgDr.Archive.Configuration;
using PgDr.Archive.Repositories;
using PgDr.Archive.Stanza;
using PgDr.Errors;
using PgDr.Hosting;
using PgDr.Hosting.Sandbox;
using PgDr.Tests.Cli;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Archive.Stanza;

/// <summary>
/// New-PgWalRepository (pgdr repo create) against the three repository types: a directory made on this host and
/// handed to the postgres account, a bucket in s3rver, a container in Azurite; the stanza's identity for the node's
/// cluster; -WhatIf changing nothing; and a stanza of another cluster refused. The node is only read.
/// </summary>
[Collection(SharedTopology.Name)]
public sealed class WalRepositoryCreateTests(SharedTopologyFixture topology, S3rverFixture s3, AzuriteFixture azurite)
    : IClassFixture<S3rverFixture>, IClassFixture<AzuriteFixture>
{
    private readonly PgSandbox _sandbox = topology.Sandbox;

    [Fact]
    public async Task Filesystem_repository_is_created_owned_by_the_servers_account_with_the_clusters_identity_and_again_changes_nothing()
    {
        Assert.True(OsUser.CallerIsRoot, "this test runs as root, as CI does");
        var primary = _sandbox.Primary.Instance;

        // Two levels that do not exist yet, under a directory of root's.
        var root = Path.Combine(TestDirectories.Path("repo-" + Guid.NewGuid().ToString("N")[..8]), "pgdr", "repo");
        var config = ArchiveTestSupport.Config("fs", [ArchiveTestSupport.FileSystemRepository("local", root)]);

        var planned = Assert.Single(await WalRepositoryService.PlanAsync(primary, config, null, CancellationToken.None));
        Assert.False(planned.Applied);
        Assert.True(planned.StoreCreated);
        Assert.True(planned.IdentityCreated);
        Assert.False(Directory.Exists(root));

        var created = Assert.Single(await WalRepositoryService.CreateAsync(primary, config, null, CancellationToken.None));

        Assert.True(created.Applied && created.StoreCreated && created.IdentityCreated && created.AccessChecked);
        Assert.Equal("postgres", created.Owner);
        Assert.Equal(await SystemIdentifierAsync(), created.SystemIdentifier);
        Assert.Equal("postgres", await OwnerOfAsync(root));
        Assert.Equal("postgres", await OwnerOfAsync(Path.Combine(root, "fs", "identity.json")));
        Assert.Equal(
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute,
            File.GetUnixFileMode(root));
        Assert.True(await OsUser.ForPostgres().CanWriteAsync(Path.Combine(root, "fs"), CancellationToken.None));

        var again = Assert.Single(await WalRepositoryService.CreateAsync(primary, config, null, CancellationToken.None));
        Assert.False(again.StoreCreated);
        Assert.False(again.IdentityCreated);
        Assert.True(again.AccessChecked);
    }

    [Fact]
    public async Task A_stanza_that_belongs_to_another_cluster_is_refused_with_StanzaMismatch_even_under_WhatIf()
    {
        var directory = await ArchiveTestSupport.NewDirectoryAsync("mismatch");
        var config = ArchiveTestSupport.Config("other", [ArchiveTestSupport.FileSystemRepository("local", directory)]);
        var repository = ArchiveRepositoryFactory.Create(config.Repositories[0].ToRepositoryConfig());
        await using (repository)
        {
            await RepositoryIdentity.EnsureAsync(repository, "other", new ClusterIdentity(42, 15, 16 * 1024 * 1024), CancellationToken.None);
        }

        var plan = await Assert.ThrowsAsync<PgDrException>(() => WalRepositoryService.PlanAsync(_sandbox.Primary.Instance, config, null, CancellationToken.None));
        var create = await Assert.ThrowsAsync<PgDrException>(() => WalRepositoryService.CreateAsync(_sandbox.Primary.Instance, config, null, CancellationToken.None));

        Assert.Equal(ErrorIds.StanzaMismatch, plan.ErrorId);
        Assert.Equal(ErrorIds.StanzaMismatch, create.ErrorId);
    }

    [Fact]
    public async Task S3_bucket_is_created_with_the_identity_and_the_access_check_leaves_no_object_behind()
    {
        var bucket = "pgdr-create-" + Guid.NewGuid().ToString("N")[..10];
        var entry = (Dictionary<string, object>)ArchiveTestSupport.S3Repository("region-b", s3);
        entry["bucket"] = bucket;
        var config = ArchiveTestSupport.Config("s3", [entry]);

        var created = Assert.Single(await WalRepositoryService.CreateAsync(_sandbox.Primary.Instance, config, null, CancellationToken.None));

        Assert.True(created.StoreCreated && created.IdentityCreated && created.AccessChecked);
        Assert.Null(created.Owner);
        await AssertHoldsOnlyTheIdentityAsync(config, "s3");
        Assert.False(Assert.Single(await WalRepositoryService.CreateAsync(_sandbox.Primary.Instance, config, null, CancellationToken.None)).StoreCreated);
    }

    [Fact]
    public async Task Azure_container_is_created_with_the_identity_and_the_access_check_leaves_no_object_behind()
    {
        var entry = (Dictionary<string, object>)ArchiveTestSupport.AzureRepository("region-c", azurite);
        entry["container"] = "pgdr-create-" + Guid.NewGuid().ToString("N")[..10];
        var config = ArchiveTestSupport.Config("azure", [entry]);

        var planned = Assert.Single(await WalRepositoryService.PlanAsync(_sandbox.Primary.Instance, config, null, CancellationToken.None));
        var created = Assert.Single(await WalRepositoryService.CreateAsync(_sandbox.Primary.Instance, config, null, CancellationToken.None));

        Assert.True(planned.StoreCreated && !planned.AccessChecked);
        Assert.True(created.StoreCreated && created.IdentityCreated && created.AccessChecked);
        await AssertHoldsOnlyTheIdentityAsync(config, "azure");
    }

    [Fact]
    public async Task Pgdr_repo_create_what_if_lists_the_steps_as_json_and_creates_nothing_then_creates()
    {
        var root = Path.Combine(TestDirectories.Path("cli-" + Guid.NewGuid().ToString("N")[..8]), "repo");
        var directory = await ArchiveTestSupport.NewDirectoryAsync("repocli");
        var configPath = await ArchiveTestSupport.WriteConfigAsync(directory, ArchiveTestSupport.ConfigJson("cli", [ArchiveTestSupport.FileSystemRepository("local", root)]));
        var node = $"127.0.0.1:{_sandbox.Primary.Port.ToString(CultureInfo.InvariantCulture)}";
        var environment = new Dictionary<string, string?> { ["PGPASSFILE"] = _sandbox.PasswordFile, ["PGUSER"] = PgSandbox.Superuser };

        var whatIf = await PgDrProcess.RunAsync(environment, "--json", "repo", "create", node, "--config", configPath, "--what-if");
        Assert.True(whatIf.ExitCode == 0, whatIf.StandardError);
        using (var plan = JsonDocument.Parse(whatIf.StandardOutput))
        {
            var row = Assert.Single(plan.RootElement.EnumerateArray());
            Assert.False(row.GetProperty("applied").GetBoolean());
            Assert.Equal(3, row.GetProperty("actions").GetArrayLength());
        }

        Assert.False(Directory.Exists(root));

        var create = await PgDrProcess.RunAsync(environment, "repo", "create", node, "--config", configPath);
        Assert.True(create.ExitCode == 0, create.StandardError);
        Assert.True(File.Exists(Path.Combine(root, "cli", "identity.json")));
    }

    private async Task<string> SystemIdentifierAsync() =>
        (await Sql.ScalarAsync<long>(_sandbox.Primary.Instance, "SELECT system_identifier FROM pg_control_system()")).ToString(CultureInfo.InvariantCulture);

    private static async Task<string> OwnerOfAsync(string path) =>
        (await ProcessRunner.RunCheckedAsync("stat", ["-c", "%U", path], CancellationToken.None)).StandardOutput.Trim();

    private static async Task AssertHoldsOnlyTheIdentityAsync(PgDrConfig config, string stanza)
    {
        var repository = ArchiveRepositoryFactory.Create(config.Repositories[0].ToRepositoryConfig());
        await using (repository)
        {
            var keys = new List<string>();
            await foreach (var item in repository.ListAsync(string.Empty, CancellationToken.None))
            {
                keys.Add(item.Key);
            }

            Assert.Equal([ArchiveLayout.IdentityKey(stanza)], keys);
            var identity = await RepositoryIdentity.ReadAsync(repository, stanza, CancellationToken.None);
            Assert.Equal(stanza, identity?.Stanza);
        }
    }
}
