using PgDr.Archive.Compression;
using PgDr.Errors;

namespace PgDr.Tests.Archive.Compression;

public sealed class CompressionSpecTests
{
    [Theory]
    [InlineData("zstd", CompressionAlgorithm.Zstd, 3, "zstd:3")]
    [InlineData("zstd:19", CompressionAlgorithm.Zstd, 19, "zstd:19")]
    [InlineData("ZSTD:1", CompressionAlgorithm.Zstd, 1, "zstd:1")]
    [InlineData("lz4", CompressionAlgorithm.Lz4, 1, "lz4:1")]
    [InlineData("lz4:12", CompressionAlgorithm.Lz4, 12, "lz4:12")]
    [InlineData("gzip", CompressionAlgorithm.Gzip, 6, "gzip:6")]
    [InlineData("gzip:9", CompressionAlgorithm.Gzip, 9, "gzip:9")]
    [InlineData("brotli", CompressionAlgorithm.Brotli, 4, "brotli:4")]
    [InlineData("brotli:11", CompressionAlgorithm.Brotli, 11, "brotli:11")]
    [InlineData("none", CompressionAlgorithm.None, 0, "none")]
    public void Configuration_values_parse_to_algorithm_and_level(string text, CompressionAlgorithm algorithm, int level, string canonical)
    {
        var spec = CompressionSpec.Parse(text);

        Assert.Equal(algorithm, spec.Algorithm);
        Assert.Equal(level, spec.Level);
        Assert.Equal(canonical, spec.ToString());
        Assert.Equal(spec, CompressionSpec.Parse(spec.ToString()));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("xz")]
    [InlineData("zstd:")]
    [InlineData("zstd:abc")]
    [InlineData("zstd:0")]
    [InlineData("zstd:20")]
    [InlineData("zstd:-1")]
    [InlineData("zstd:3:4")]
    [InlineData("lz4:13")]
    [InlineData("gzip:0")]
    [InlineData("gzip:10")]
    [InlineData("brotli:12")]
    [InlineData("none:1")]
    [InlineData("none:0")]
    [InlineData(" zstd")]
    public void Malformed_values_fail_with_InvalidCompressionSpec(string? text)
    {
        Assert.False(CompressionSpec.TryParse(text, out _));
        var ex = Assert.Throws<PgDrArgumentException>(() => CompressionSpec.Parse(text));
        Assert.Equal(ErrorIds.InvalidCompressionSpec, ex.ErrorId);
    }

    [Fact]
    public void Default_is_zstd_level_3()
    {
        Assert.Equal(CompressionSpec.Parse("zstd:3"), CompressionSpec.Default);
    }
}
