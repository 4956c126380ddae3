using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using PgDr.Archive.Repositories;

namespace PgDr.Tests.Fixtures;

/// <summary>A real s3rver (S3 emulator) on a free loopback port with one bucket, shared by the S3 tests.</summary>
public sealed class S3rverFixture : IAsyncLifetime
{
    /// <summary>s3rver accepts only these credentials.</summary>
    public const string AccessKey = "S3RVER";
    public const string SecretKey = "S3RVER";
    public const string Bucket = "pgdr-test";

    private EmulatorProcess? _emulator;

    public string Endpoint => $"http://127.0.0.1:{(_emulator ?? throw new InvalidOperationException("s3rver is not running.")).Port}";

    public async Task InitializeAsync()
    {
        _emulator = await EmulatorProcess.StartAsync(
            "s3rver",
            (port, directory) => ["--address", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--directory", directory, "--silent"],
            TimeSpan.FromSeconds(120)); // node start-up on 2 busy cores took over 30 s
        try
        {
            using var client = new AmazonS3Client(new BasicAWSCredentials(AccessKey, SecretKey), new AmazonS3Config { ServiceURL = Endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1" });
            await client.PutBucketAsync(new PutBucketRequest { BucketName = Bucket });
        }
        catch
        {
            // xunit does not dispose a fixture whose initialisation failed: stop the emulator here.
            await DisposeAsync();
            throw;
        }
    }

    /// <summary>A repository on the shared bucket under a prefix of its own, so tests never see each other's objects.</summary>
    public S3ArchiveRepository NewRepository(string? bucket = null, string? accessKeyId = null, string? secretKey = null, string? endpoint = null) =>
        new(new S3RepositoryOptions
        {
            Name = "s3-test",
            Bucket = bucket ?? Bucket,
            Prefix = "t-" + Guid.NewGuid().ToString("N")[..12],
            Region = "us-east-1",
            Endpoint = endpoint ?? Endpoint,
            ForcePathStyle = true,
            AccessKeyId = accessKeyId ?? AccessKey,
            SecretAccessKey = secretKey ?? SecretKey,
        });

    public async Task DisposeAsync()
    {
        if (_emulator is not null)
        {
            await _emulator.DisposeAsync();
        }
    }
}
