using System.Text.Json;
using PgDr.Archive.Configuration;
using PgDr.Hosting;

namespace PgDr.Tests.Fixtures;

/// <summary>Builds PgDr configurations, key files and repository directories for archive tests.</summary>
public static class ArchiveTestSupport
{
    /// <summary>A new directory for a test, owned by the postgres account when running as root (it runs archive_command).</summary>
    public static async Task<string> NewDirectoryAsync(string label)
    {
        var directory = TestDirectories.Path($"{label}-{Guid.NewGuid():N}"[..(label.Length + 9)]);
        Directory.CreateDirectory(directory);
        await OsUser.ForPostgres().TakeOwnershipAsync(directory, CancellationToken.None);
        return directory;
    }

    /// <summary>A 0600 key file owned by the account that will read it.</summary>
    public static async Task<string> NewKeyFileAsync(string directory)
    {
        var path = Path.Combine(directory, "archive.key");
        await File.WriteAllTextAsync(path, Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)));

        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        await OsUser.ForPostgres().TakeOwnershipAsync(path, CancellationToken.None);
        return path;
    }

    public static object FileSystemRepository(string name, string path, bool required = true) =>
        new Dictionary<string, object> { ["name"] = name, ["type"] = "filesystem", ["path"] = path, ["required"] = required };

    public static object S3Repository(string name, S3rverFixture s3, string? endpoint = null, bool required = true)
    {
        Environment.SetEnvironmentVariable("PGDR_TEST_S3_ACCESS_KEY", S3rverFixture.AccessKey);
        Environment.SetEnvironmentVariable("PGDR_TEST_S3_SECRET_KEY", S3rverFixture.SecretKey);
        return new Dictionary<string, object>
        {
            ["name"] = name, ["type"] = "s3", ["bucket"] = S3rverFixture.Bucket, ["prefix"] = "p-" + Guid.NewGuid().ToString("N")[..10],
            ["region"] = "us-east-1", ["endpoint"] = endpoint ?? s3.Endpoint, ["forcePathStyle"] = true,
            ["accessKeyIdEnv"] = "PGDR_TEST_S3_ACCESS_KEY", ["secretAccessKeyEnv"] = "PGDR_TEST_S3_SECRET_KEY", ["required"] = required,
        };
    }

    public static object AzureRepository(string name, AzuriteFixture azurite, bool required = true)
    {
        // One variable per emulator instance: test classes run in parallel, each with its own Azurite.
        var variable = "PGDR_TEST_AZURE_" + Guid.NewGuid().ToString("N")[..10].ToUpperInvariant();
        Environment.SetEnvironmentVariable(variable, azurite.ConnectionString());
        return new Dictionary<string, object>
        {
            ["name"] = name, ["type"] = "azure", ["container"] = AzuriteFixture.Container, ["prefix"] = "p-" + Guid.NewGuid().ToString("N")[..10],
            ["connectionStringEnv"] = variable, ["required"] = required,
        };
    }

    /// <summary>The configuration as JSON text (what a user writes in /etc/pgdr/pgdr.json).</summary>
    public static string ConfigJson(string stanza, IEnumerable<object> repositories, string compression = "zstd", string? keyFile = null, string? spoolPath = null, string? checksum = null, string? codecs = null, object? kms = null)
    {
        var config = new Dictionary<string, object> { ["stanza"] = stanza, ["repositories"] = repositories.ToList(), ["compression"] = compression };
        if (codecs is not null)
        {
            config["codecs"] = codecs;
        }

        if (checksum is not null)
        {
            config["checksum"] = checksum;
        }

        var encryption = new Dictionary<string, object>();
        if (keyFile is not null)
        {
            encryption["keyFile"] = keyFile;
        }

        if (kms is not null)
        {
            encryption["kms"] = kms;
        }

        if (encryption.Count > 0)
        {
            config["encryption"] = encryption;
        }

        if (spoolPath is not null)
        {
            config["async"] = new Dictionary<string, object> { ["spoolPath"] = spoolPath, ["parallel"] = 4 };
        }

        return JsonSerializer.Serialize(config);
    }

    public static PgDrConfig Config(string stanza, IEnumerable<object> repositories, string compression = "zstd", string? keyFile = null, string? spoolPath = null, string? checksum = null) =>
        PgDrConfig.Parse(ConfigJson(stanza, repositories, compression, keyFile, spoolPath, checksum), "test");

    /// <summary>Writes the configuration to a file the postgres account can read.</summary>
    public static async Task<string> WriteConfigAsync(string directory, string json)
    {
        var path = Path.Combine(directory, "pgdr.json");
        await File.WriteAllTextAsync(path, json);
        await OsUser.ForPostgres().TakeOwnershipAsync(path, CancellationToken.None);
        return path;
    }

    public static string Sha256(string path) => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path)));
}
