using System.Buffers.Binary;
using PgDr.Archive.Stanza;
using PgDr.Archive.Wal;
using PgDr.Tests.Archive.Async;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Archive;

/// <summary>
/// The NativeAOT pgdr that PostgreSQL runs once per segment: built the way that keeps its start-up small, and doing
/// the real work through every repository type (trimming can remove code only reflection reaches; Azure.Core warns of
/// exactly that), including starting its own async worker.
/// </summary>
public sealed class NativePgDrTests(NativePgDrFixture native, WalCorpusFixture corpus, S3rverFixture s3, AzuriteFixture azurite, MotoKmsFixture moto)
    : IClassFixture<NativePgDrFixture>, IClassFixture<WalCorpusFixture>, IClassFixture<S3rverFixture>, IClassFixture<AzuriteFixture>, IClassFixture<MotoKmsFixture>
{
    private const ushort FixedAddressExecutable = 2; // ELF e_type ET_EXEC; a position-independent one is ET_DYN (3)

    [Fact]
    public async Task The_native_pgdr_is_a_fixed_address_executable_and_answers_its_version()
    {
        var header = new byte[18];
        await using (var file = File.OpenRead(native.ExecutablePath))
        {
            await file.ReadExactlyAsync(header);
        }

        var version = await native.RunAsync("--version");

        Assert.Equal("\u007fELF"u8.ToArray(), header[..4]);
        Assert.Equal(FixedAddressExecutable, BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(16)));
        Assert.Equal(0, version.ExitCode);
        Assert.Matches(@"^\d+\.\d+\.\d+", version.StandardOutput);
    }

    [Theory]
    [InlineData("filesystem")]
    [InlineData("s3")]
    [InlineData("azure")]
    public async Task Real_WAL_round_trips_through_each_repository_type(string repositoryType)
    {
        var directory = await ArchiveTestSupport.NewDirectoryAsync("native");
        var repository = repositoryType switch
        {
            "filesystem" => ArchiveTestSupport.FileSystemRepository("local", Directory.CreateDirectory(Path.Combine(directory, "repo")).FullName),
            "s3" => ArchiveTestSupport.S3Repository("s3", s3),
            _ => ArchiveTestSupport.AzureRepository("azure", azurite),
        };
        var config = await ArchiveTestSupport.WriteConfigAsync(
            directory, ArchiveTestSupport.ConfigJson("main", [repository], "zstd", await ArchiveTestSupport.NewKeyFileAsync(directory)));
        var segment = corpus.Segments[0];
        var destination = Path.Combine(directory, "RECOVERYXLOG");

        var pushed = await native.RunAsync("wal", "push", "--config", config, segment);
        var again = await native.RunAsync("wal", "push", "--config", config, segment);
        var fetched = await native.RunAsync("wal", "fetch", "--config", config, Path.GetFileName(segment), destination);
        var missing = await native.RunAsync("wal", "fetch", "--config", config, "0000000100000000000000FF", Path.Combine(directory, "NOPE"));

        Assert.True(pushed.ExitCode == 0, pushed.StandardError);
        Assert.True(again.ExitCode == 0, again.StandardError);
        Assert.True(fetched.ExitCode == 0, fetched.StandardError);
        Assert.Equal(ArchiveTestSupport.Sha256(segment), ArchiveTestSupport.Sha256(destination));
        Assert.Equal(1, missing.ExitCode);
        Assert.Equal(string.Empty, missing.StandardOutput + missing.StandardError);
    }

    [Fact]
    public async Task The_native_pgdr_pushes_and_fetches_through_a_KMS_wrapped_data_key_and_refuses_a_wrong_key_id()
    {
        var (_, alias) = await moto.NewKeyAsync();
        var directory = await ArchiveTestSupport.NewDirectoryAsync("nativekms");
        var repository = ArchiveTestSupport.FileSystemRepository("local", Directory.CreateDirectory(Path.Combine(directory, "repo")).FullName);
        string Config(string keyId) => System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["stanza"] = "main", ["repositories"] = new[] { repository }, ["compression"] = "zstd", ["encryption"] = new Dictionary<string, object> { ["kms"] = moto.KmsConfig(keyId) },
        });
        var config = await ArchiveTestSupport.WriteConfigAsync(directory, Config(alias));
        var wrongDirectory = Directory.CreateDirectory(Path.Combine(directory, "wrong")).FullName;
        var wrong = await ArchiveTestSupport.WriteConfigAsync(wrongDirectory, Config("alias/pgdr-no-such-key"));
        var segment = corpus.Segments[2];
        var destination = Path.Combine(directory, "RECOVERYXLOG");

        var pushed = await native.RunAsync("wal", "push", "--config", config, segment);
        var fetched = await native.RunAsync("wal", "fetch", "--config", config, Path.GetFileName(segment), destination);
        var refused = await native.RunAsync("wal", "push", "--config", wrong, corpus.Segments[1]);

        Assert.True(pushed.ExitCode == 0, pushed.StandardError);
        Assert.True(fetched.ExitCode == 0, fetched.StandardError);
        Assert.Equal(ArchiveTestSupport.Sha256(segment), ArchiveTestSupport.Sha256(destination));
        Assert.Equal(2, refused.ExitCode);
        Assert.EndsWith($"[{PgDr.Errors.ErrorIds.KmsKeyUnusable}]", refused.StandardError.Trim(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("zstd")]
    [InlineData("lz4")]
    public async Task The_native_pgdr_pushes_with_the_managed_codec_and_fetches_with_the_system_library(string compression)
    {
        var directory = await ArchiveTestSupport.NewDirectoryAsync("managed");
        var repository = ArchiveTestSupport.FileSystemRepository("local", Directory.CreateDirectory(Path.Combine(directory, "repo")).FullName);
        var managedDirectory = Directory.CreateDirectory(Path.Combine(directory, "managed")).FullName;
        var managed = await ArchiveTestSupport.WriteConfigAsync(managedDirectory, ArchiveTestSupport.ConfigJson("main", [repository], compression, codecs: "managed"));
        var nativeConfig = await ArchiveTestSupport.WriteConfigAsync(directory, ArchiveTestSupport.ConfigJson("main", [repository], compression, codecs: "native"));
        var segment = corpus.Segments[1];
        var destination = Path.Combine(directory, "RECOVERYXLOG");

        var pushed = await native.RunAsync("wal", "push", "--config", managed, segment);
        var fetched = await native.RunAsync("wal", "fetch", "--config", nativeConfig, Path.GetFileName(segment), destination);

        Assert.True(pushed.ExitCode == 0, pushed.StandardError);
        Assert.True(fetched.ExitCode == 0, fetched.StandardError);
        Assert.Equal(ArchiveTestSupport.Sha256(segment), ArchiveTestSupport.Sha256(destination));
    }

    [Fact]
    public async Task In_async_mode_the_native_pgdr_starts_its_worker_and_returns_once_the_segment_is_archived()
    {
        var setup = await AsyncArchiveSetup.CreateAsync("native-async");
        var names = setup.AddReadySegments(corpus.Segments[0], 3);
        var config = await ArchiveTestSupport.WriteConfigAsync(
            setup.Directory, ArchiveTestSupport.ConfigJson("main", [ArchiveTestSupport.FileSystemRepository("local", setup.Repository)], "zstd:1", spoolPath: setup.Spool));

        foreach (var name in names)
        {
            var pushed = await native.RunAsync("wal", "push", "--config", config, Path.Combine(setup.PgWal, name));

            Assert.True(pushed.ExitCode == 0, pushed.StandardError);
            Assert.True(File.Exists(Path.Combine(setup.Repository, ArchiveLayout.WalKey("main", WalFileName.Parse(name)))), $"{name} is not in the repository");
        }

        Assert.Contains("push-worker", await File.ReadAllTextAsync(Path.Combine(setup.Spool, "push-worker.log")), StringComparison.Ordinal);
    }
}
