using PgDr.Archive;
using PgDr.Archive.Compression;
using PgDr.Archive.Configuration;
using PgDr.Archive.Encryption;
using PgDr.Archive.Format;
using PgDr.Errors;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Archive.Compression;

/// <summary>
/// The managed ports (ZstdSharp, K4os.Compression.LZ4) against the system libraries: objects written by either are read
/// by the other, for every codec and a spread of levels, encrypted or not, from a stream and from a mapped file; and
/// the ports report damage and truncation as the native decoders do.
/// </summary>
public sealed class ManagedCodecInteropTests
{
    public static TheoryData<string, CodecImplementation, CodecImplementation> Pairs
    {
        get
        {
            var data = new TheoryData<string, CodecImplementation, CodecImplementation>();
            foreach (var spec in new[] { "zstd:1", "zstd:3", "zstd:19", "lz4:1", "lz4:9", "gzip", "brotli", "none" })
            {
                data.Add(spec, CodecImplementation.Native, CodecImplementation.Managed);
                data.Add(spec, CodecImplementation.Managed, CodecImplementation.Native);
                data.Add(spec, CodecImplementation.Managed, CodecImplementation.Managed);
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Pairs))]
    public async Task An_object_written_by_one_implementation_is_read_by_the_other(string compression, CodecImplementation writer, CodecImplementation reader)
    {
        var input = ArchiveTestData.WalLike(3 * 1024 * 1024 + 4321);
        using var key = ArchiveKey.Generate();
        foreach (var withKey in new[] { (ArchiveKey?)null, key })
        {
            var stored = new MemoryStream();
            var written = await ArchiveObjectWriter.WriteAsync(
                new MemoryStream(input), stored, new ArchiveObjectOptions { Name = "000000010000000000000001", Compression = CompressionSpec.Parse(compression), Codecs = writer, Key = withKey }, CancellationToken.None);
            var restored = new MemoryStream();
            var read = await ArchiveObjectReader.ReadAsync(new MemoryStream(stored.ToArray()), restored, new ArchiveReadOptions { Key = withKey, Codecs = reader }, CancellationToken.None);

            Assert.Equal(input, restored.ToArray());
            Assert.Equal(written.PlaintextChecksum, read.PlaintextChecksum);
        }
    }

    [Theory]
    [InlineData("zstd:3")]
    [InlineData("lz4:1")]
    public async Task A_file_pushed_from_a_mapping_with_the_native_codec_and_a_stream_with_the_managed_one_read_back_alike(string compression)
    {
        var path = Path.Combine(TestDirectories.Root, $"interop-{Guid.NewGuid():N}");
        var input = ArchiveTestData.WalLike(16 * 1024 * 1024);
        await File.WriteAllBytesAsync(path, input);
        try
        {
            foreach (var (writer, reader) in new[] { (CodecImplementation.Native, CodecImplementation.Managed), (CodecImplementation.Managed, CodecImplementation.Native) })
            {
                var stored = new MemoryStream();
                await ArchiveObjectWriter.WriteFileAsync(path, stored, new ArchiveObjectOptions { Name = "000000010000000000000002", Compression = CompressionSpec.Parse(compression), Codecs = writer }, CancellationToken.None);
                var restored = new MemoryStream();
                await ArchiveObjectReader.ReadAsync(new MemoryStream(stored.ToArray()), restored, new ArchiveReadOptions { Codecs = reader }, CancellationToken.None);
                Assert.Equal(input, restored.ToArray());
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData(CompressionAlgorithm.Zstd)]
    [InlineData(CompressionAlgorithm.Lz4)]
    public async Task The_managed_decoders_refuse_damaged_and_truncated_frames_with_InvalidDataException(CompressionAlgorithm algorithm)
    {
        var input = ArchiveTestData.WalLike(512 * 1024);
        var frame = new MemoryStream();
        await using (var compressor = CompressionCodec.For(algorithm, CodecImplementation.Native).CreateCompressor(frame, new CompressionSpec(algorithm), leaveOpen: true))
        {
            await compressor.WriteAsync(input);
        }

        var bytes = frame.ToArray();
        var flipped = (byte[])bytes.Clone();
        flipped[bytes.Length / 2] ^= 0x55;
        var managed = CompressionCodec.For(algorithm, CodecImplementation.Managed);
        foreach (var damaged in new[] { flipped, bytes[..(bytes.Length - 1)], bytes[..(bytes.Length / 2)] })
        {
            await Assert.ThrowsAsync<InvalidDataException>(async () =>
            {
                await using var decompressor = managed.CreateDecompressor(new MemoryStream(damaged), leaveOpen: false);
                await decompressor.CopyToAsync(Stream.Null);
            });
        }
    }

    [Fact]
    public void Auto_takes_the_system_library_where_it_loads_and_names_each_implementation()
    {
        Assert.StartsWith("native", CompressionCodec.For(CompressionAlgorithm.Zstd).Implementation, StringComparison.Ordinal);
        Assert.StartsWith("native", CompressionCodec.For(CompressionAlgorithm.Lz4).Implementation, StringComparison.Ordinal);
        Assert.StartsWith("managed", CompressionCodec.For(CompressionAlgorithm.Zstd, CodecImplementation.Managed).Implementation, StringComparison.Ordinal);
        Assert.StartsWith("managed", CompressionCodec.For(CompressionAlgorithm.Lz4, CodecImplementation.Managed).Implementation, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("auto", CodecImplementation.Auto)]
    [InlineData("Managed", CodecImplementation.Managed)]
    [InlineData("native", CodecImplementation.Native)]
    public void The_configuration_chooses_the_implementation(string codecs, CodecImplementation expected)
    {
        var config = PgDrConfig.Parse($$"""{ "stanza": "s", "repositories": [ { "name": "r", "type": "filesystem", "path": "/x" } ], "codecs": "{{codecs}}" }""", "test");

        Assert.Equal(expected, config.CodecImplementation);
    }

    [Fact]
    public void An_unknown_implementation_is_InvalidConfig()
    {
        var ex = Assert.Throws<PgDrException>(() => PgDrConfig.Parse("""{ "stanza": "s", "repositories": [ { "name": "r", "type": "filesystem", "path": "/x" } ], "codecs": "fastest" }""", "test"));

        Assert.Equal(ErrorIds.InvalidConfig, ex.ErrorId);
    }
}
