using System.Text.Json;
using PgDr.Archive.Repositories;
using PgDr.Errors;

namespace PgDr.Tests.Archive.Repositories;

public sealed class ArchiveRepositoryFactoryTests
{
    private const string ConfigJson = """
        {
          "stanza": "main",
          "repositories": [
            { "name": "region-a", "type": "filesystem", "path": "/srv/pgdr/repo" },
            { "name": "region-b", "type": "s3", "bucket": "dr-archive", "prefix": "pg", "region": "eu-west-1",
              "endpoint": "https://s3.example.test", "forcePathStyle": true,
              "accessKeyIdEnv": "PGDR_TEST_KEY_ID", "secretAccessKeyEnv": "PGDR_TEST_SECRET" },
            { "name": "region-c", "type": "azure", "accountUrl": "https://acct.blob.core.windows.net",
              "container": "dr-archive", "prefix": "pg", "sasEnv": "PGDR_TEST_SAS" }
          ]
        }
        """;

    private const string Secret = "top-secret-value-4711";

    private static readonly Dictionary<string, string> Environment = new()
    {
        ["PGDR_TEST_KEY_ID"] = "AKIDEXAMPLE",
        ["PGDR_TEST_SECRET"] = Secret,
        ["PGDR_TEST_SAS"] = "sv=2023-01-03&ss=b&srt=co&sp=rwdlac&sig=" + Secret,
    };

    private static RepositoryConfig[] Configs()
    {
        using var document = JsonDocument.Parse(ConfigJson);
        return document.RootElement.GetProperty("repositories").Deserialize<RepositoryConfig[]>()!;
    }

    private static string? Env(string name) => Environment.GetValueOrDefault(name);

    [Fact]
    public void The_architecture_documents_configuration_shape_deserialises_into_repository_configs()
    {
        var configs = Configs();

        Assert.Equal(["region-a", "region-b", "region-c"], configs.Select(c => c.Name));
        Assert.Equal("/srv/pgdr/repo", configs[0].Path);
        Assert.Equal(("dr-archive", "pg", "eu-west-1", "https://s3.example.test", true), (configs[1].Bucket, configs[1].Prefix, configs[1].Region, configs[1].Endpoint, configs[1].ForcePathStyle));
        Assert.Equal(("PGDR_TEST_KEY_ID", "PGDR_TEST_SECRET"), (configs[1].AccessKeyIdEnv, configs[1].SecretAccessKeyEnv));
        Assert.Equal(("https://acct.blob.core.windows.net", "dr-archive", "PGDR_TEST_SAS"), (configs[2].AccountUrl, configs[2].Container, configs[2].SasEnv));
    }

    [Fact]
    public async Task Factory_creates_the_repository_type_each_entry_names_and_no_description_holds_a_secret()
    {
        var repositories = Configs().Select(c => ArchiveRepositoryFactory.Create(c, Env)).ToArray();
        try
        {
            Assert.IsType<FileSystemArchiveRepository>(repositories[0]);
            Assert.IsType<S3ArchiveRepository>(repositories[1]);
            Assert.IsType<AzureBlobArchiveRepository>(repositories[2]);
            Assert.Equal(["region-a", "region-b", "region-c"], repositories.Select(r => r.Name));
            Assert.All(repositories, r => Assert.DoesNotContain(Secret, r.ToString(), StringComparison.Ordinal));
            Assert.All(Configs(), c => Assert.DoesNotContain(Secret, c.ToString(), StringComparison.Ordinal));
        }
        finally
        {
            foreach (var repository in repositories)
            {
                await repository.DisposeAsync();
            }
        }
    }

    [Fact]
    public void A_named_secret_variable_that_is_not_set_fails_with_InvalidRepositoryConfig_naming_the_variable()
    {
        var config = Configs()[1];

        var ex = Assert.Throws<PgDrRepositoryException>(() => ArchiveRepositoryFactory.Create(config, name => name == "PGDR_TEST_KEY_ID" ? "AKIDEXAMPLE" : null));

        Assert.Equal(ErrorIds.InvalidRepositoryConfig, ex.ErrorId);
        Assert.Contains("PGDR_TEST_SECRET", ex.Message, StringComparison.Ordinal);
        Assert.Equal("region-b", ex.Target);
    }

    [Theory]
    [InlineData("""{ "name": "x", "type": "ftp" }""", "unknown repository type")]
    [InlineData("""{ "name": "x", "type": "filesystem" }""", "'path'")]
    [InlineData("""{ "name": "x", "type": "s3" }""", "'bucket'")]
    [InlineData("""{ "name": "x", "type": "s3", "bucket": "b", "accessKeyIdEnv": "A" }""", "go together")]
    [InlineData("""{ "name": "x", "type": "azure", "container": "c" }""", "'accountUrl'")]
    [InlineData("""{ "name": "x", "type": "s3", "bucket": "b", "prefix": "../up" }""", "prefix")]
    [InlineData("""{ "type": "filesystem", "path": "/tmp" }""", "'name'")]
    public void Incomplete_or_wrong_entries_fail_with_InvalidRepositoryConfig(string json, string mentioned)
    {
        var config = JsonSerializer.Deserialize<RepositoryConfig>(json)!;

        var ex = Assert.Throws<PgDrRepositoryException>(() => ArchiveRepositoryFactory.Create(config, Env));

        Assert.Equal(ErrorIds.InvalidRepositoryConfig, ex.ErrorId);
        Assert.Contains(mentioned, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_malformed_connection_string_is_refused_without_quoting_it()
    {
        var config = new RepositoryConfig { Name = "region-c", Type = "azure", Container = "c", ConnectionStringEnv = "PGDR_TEST_CS" };

        var ex = Assert.Throws<PgDrRepositoryException>(() => ArchiveRepositoryFactory.Create(config, _ => "AccountKey=" + Secret + ";garbage"));

        Assert.Equal(ErrorIds.InvalidRepositoryConfig, ex.ErrorId);
        Assert.DoesNotContain(Secret, ex.ToString(), StringComparison.Ordinal);
    }
}
