using PgDr.Archive.Compression;
using PgDr.Archive.Configuration;
using PgDr.Archive.Format;
using PgDr.Errors;

namespace PgDr.Tests.Archive.Configuration;

public sealed class PgDrConfigTests
{
    // The example of ARCHITECTURE.md, as users copy it.
    private const string ArchitectureExample = """
        {
          "stanza": "main",
          "repositories": [
            { "name": "region-a", "type": "filesystem", "path": "/srv/pgdr/repo" },
            { "name": "region-b", "type": "s3", "bucket": "dr-archive", "prefix": "pg", "region": "eu-west-1",
              "endpoint": "https://...", "forcePathStyle": false },
            { "name": "region-c", "type": "azure", "accountUrl": "https://acct.blob.core.windows.net",
              "container": "dr-archive", "prefix": "pg" }
          ],
          "compression": "zstd",
          "encryption": { "keyFile": "/etc/pgdr/archive.key" },
          "async": { "spoolPath": "/var/spool/pgdr", "parallel": 4 }
        }
        """;

    [Fact]
    public void The_documented_example_parses_with_every_repository_required()
    {
        var config = PgDrConfig.Parse(ArchitectureExample, "example");

        Assert.Equal("main", config.Stanza);
        Assert.Equal(["region-a", "region-b", "region-c"], config.Repositories.Select(r => r.Name).ToArray());
        Assert.All(config.Repositories, r => Assert.True(r.Required));
        Assert.Equal("s3", config.Repositories[1].ToRepositoryConfig().Type);
        Assert.Equal("dr-archive", config.Repositories[1].ToRepositoryConfig().Bucket);
        Assert.Equal("https://acct.blob.core.windows.net", config.Repositories[2].ToRepositoryConfig().AccountUrl);
        Assert.Equal(CompressionAlgorithm.Zstd, config.CompressionSpec.Algorithm);
        Assert.Equal("/etc/pgdr/archive.key", config.Encryption?.KeyFile);
        Assert.Equal(4, config.Async?.Parallel);
    }

    [Fact]
    public void Keys_left_out_take_their_documented_defaults()
    {
        var config = PgDrConfig.Parse("""{ "stanza": "s", "repositories": [ { "name": "r", "type": "filesystem", "path": "/x" } ], "async": { "spoolPath": "/spool" } }""", "minimal");

        Assert.True(config.Repositories[0].Required);
        Assert.Equal(CompressionAlgorithm.Zstd, config.CompressionSpec.Algorithm);
        Assert.Equal(ContentChecksumAlgorithm.XxHash128, config.ChecksumAlgorithm);
        Assert.Null(config.Encryption);
        Assert.Equal(4, config.Async!.Parallel);
        Assert.Equal(300, config.Async.TimeoutSeconds);
        Assert.Equal(3, config.Async.Retries);
        Assert.Equal(60, config.Async.AcknowledgementSeconds);
    }

    [Theory]
    [InlineData("""{ "stanza": "s", "repositories": [] }""", "lists no repository")]
    [InlineData("""{ "stanza": "s", "repositories": [ { "name": "r", "type": "filesystem", "path": "/x" }, { "name": "r", "type": "filesystem", "path": "/y" } ] }""", "used twice")]
    [InlineData("""{ "stanza": "s", "repositories": [ { "name": "r", "type": "filesystem", "path": "/x", "required": false } ] }""", "at least one repository must be required")]
    [InlineData("""{ "stanza": "s", "repositories": [ { "name": "r", "type": "filesystem", "path": "/x" } ], "compression": "zip" }""", "'compression'")]
    [InlineData("""{ "stanza": "s", "repositories": [ { "name": "r", "type": "filesystem", "path": "/x" } ], "checksum": "md5" }""", "'checksum' must be xxh128 or sha256")]
    [InlineData("""{ "stanza": "s", "repositories": [ { "name": "r", "type": "filesystem", "path": "/x" } ], "encryption": { "keyFile": "/k", "keyEnv": "K" } }""", "exactly one")]
    [InlineData("""{ "stanza": "../etc", "repositories": [ { "name": "r", "type": "filesystem", "path": "/x" } ] }""", "'stanza'")]
    [InlineData("""{ "stanza": "s", "repositories": [ { "name": "r", "type": "filesystem", "path": "/x" } ], "async": { "spoolPath": "/s", "parallel": 0 } }""", "'async'")]
    [InlineData("""{ "stanza": "s", "repositories": [ { "name": "r", "type": "filesystem", "path": "/x" } ], "async": { "spoolPath": "/s", "acknowledgementSeconds": 0 } }""", "acknowledgementSeconds")]
    [InlineData("""{ "stanza": """, "not valid JSON")]
    public void Invalid_configurations_are_refused_with_InvalidConfig_saying_why(string json, string why)
    {
        var ex = Assert.Throws<PgDrException>(() => PgDrConfig.Parse(json, "bad.json"));

        Assert.Equal(ErrorIds.InvalidConfig, ex.ErrorId);
        Assert.Contains(why, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_is_ConfigNotFound_and_PGDR_CONFIG_names_the_file_when_no_path_is_given()
    {
        var missing = Assert.Throws<PgDrException>(() => PgDrConfig.Load("/nonexistent/pgdr.json"));
        Assert.Equal(ErrorIds.ConfigNotFound, missing.ErrorId);

        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, """{ "stanza": "from-env", "repositories": [ { "name": "r", "type": "filesystem", "path": "/x" } ] }""");
            Environment.SetEnvironmentVariable("PGDR_CONFIG", path);
            Assert.Equal("from-env", PgDrConfig.Load(null).Stanza);
        }
        finally
        {
            Environment.SetEnvironmentVariable("PGDR_CONFIG", null);
            File.Delete(path);
        }
    }
}
