using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using PgDr.Archive.Repositories;

namespace PgDr.Tests.Fixtures;

/// <summary>
/// A real moto_server (AWS emulator, from pip) on a free loopback port with one bucket. Unlike s3rver it enforces
/// If-None-Match and If-Match on PutObject, as AWS S3 does, so the lease's compare-and-swap is tested against it.
/// </summary>
public sealed class MotoFixture : IAsyncLifetime
{
    public const string Bucket = "pgdr-lease-test";

    private EmulatorProcess? _emulator;

    public string Endpoint => $"http://127.0.0.1:{(_emulator ?? throw new InvalidOperationException("moto_server is not running.")).Port}";

    /// <summary>moto_server on PATH, else in pyenv's shims (where pip puts it on these machines).</summary>
    public static string Locate()
    {
        var candidates = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Append(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".pyenv", "shims"))
            .Append("/root/.pyenv/shims")
            .Select(d => Path.Combine(d, "moto_server"));
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("moto_server is not installed (pip install 'moto[server]'); the S3 compare-and-swap tests need it.");
    }

    public async Task InitializeAsync()
    {
        _emulator = await EmulatorProcess.StartExecutableAsync(
            Locate(),
            (port, _) => ["-H", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            TimeSpan.FromSeconds(120));
        try
        {
            using var client = new AmazonS3Client(new BasicAWSCredentials("moto", "moto"), new AmazonS3Config { ServiceURL = Endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1" });
            await client.PutBucketAsync(new PutBucketRequest { BucketName = Bucket });
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    /// <summary>A repository on the bucket under a prefix of its own.</summary>
    public S3ArchiveRepository NewRepository() =>
        new(new S3RepositoryOptions
        {
            Name = "moto",
            Bucket = Bucket,
            Prefix = "t-" + Guid.NewGuid().ToString("N")[..12],
            Region = "us-east-1",
            Endpoint = Endpoint,
            ForcePathStyle = true,
            AccessKeyId = "moto",
            SecretAccessKey = "moto",
        });

    public async Task DisposeAsync()
    {
        if (_emulator is not null)
        {
            await _emulator.DisposeAsync();
        }
    }
}
