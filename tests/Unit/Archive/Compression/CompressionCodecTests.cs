using System.Diagnostics;
using System.Security.Cryptography;
using PgDr.Archive;
using PgDr.Archive.Compression;
using PgDr.Errors;

namespace PgDr.Tests.Archive.Compression;

public sealed class CompressionCodecTests
{
    public static TheoryData<CompressionAlgorithm> Algorithms => new()
    {
        CompressionAlgorithm.None, CompressionAlgorithm.Gzip, CompressionAlgorithm.Brotli, CompressionAlgorithm.Zstd, CompressionAlgorithm.Lz4,
    };

    public static TheoryData<CompressionAlgorithm, int> Sizes
    {
        get
        {
            var data = new TheoryData<CompressionAlgorithm, int>();
            foreach (var algorithm in Enum.GetValues<CompressionAlgorithm>())
            {
                foreach (var size in new[] { 0, 1, 4095, 65536, 65537, 3 * 1024 * 1024 + 17 })
                {
                    data.Add(algorithm, size);
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public async Task Random_data_round_trips_through_each_codec(CompressionAlgorithm algorithm, int size)
    {
        var input = ArchiveTestData.Random(size, seed: size);

        var compressed = await CompressAsync(algorithm, input, level: null);
        var output = await DecompressAsync(algorithm, compressed);

        Assert.Equal(input, output);
    }

    [Fact]
    public async Task A_zstd_stream_compressed_on_several_worker_threads_decodes_to_the_same_bytes()
    {
        // Several 4 MiB jobs, so the workers really split the frame.
        var input = ArchiveTestData.WalLike(20 * 1024 * 1024);
        var output = new MemoryStream();
        await using (var compressor = CompressionCodec.For(CompressionAlgorithm.Zstd).CreateCompressor(output, new CompressionSpec(CompressionAlgorithm.Zstd, 3), leaveOpen: true, stableInput: false, threads: 3))
        {
            for (var offset = 0; offset < input.Length; offset += 100_000)
            {
                await compressor.WriteAsync(input.AsMemory(offset, Math.Min(100_000, input.Length - offset)));
            }
        }

        Assert.Equal(input, await DecompressAsync(CompressionAlgorithm.Zstd, output.ToArray()));
        Assert.True(output.Length < input.Length / 4);
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public async Task Wal_like_data_round_trips_and_shrinks(CompressionAlgorithm algorithm)
    {
        var input = ArchiveTestData.WalLike(2 * 1024 * 1024);

        var compressed = await CompressAsync(algorithm, input, level: null);
        var output = await DecompressAsync(algorithm, compressed);

        Assert.Equal(input, output);
        if (algorithm != CompressionAlgorithm.None)
        {
            Assert.True(compressed.Length < input.Length / 4, $"{algorithm}: {compressed.Length} of {input.Length}");
        }
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void Stable_input_written_in_contiguous_pieces_round_trips(CompressionAlgorithm algorithm)
    {
        // A pinned array stands in for a mapped file: its slices keep their addresses.
        var input = GC.AllocateArray<byte>(3_000_000, pinned: true);
        ArchiveTestData.WalLike(input.Length).CopyTo(input, 0);
        var codec = CompressionCodec.For(algorithm);
        var compressed = new MemoryStream();
        using (var compressor = codec.CreateCompressor(compressed, new CompressionSpec(algorithm), leaveOpen: true, stableInput: true))
        {
            for (var offset = 0; offset < input.Length; offset += 100_000)
            {
                compressor.Write(input.AsSpan(offset, Math.Min(100_000, input.Length - offset)));
            }
        }

        compressed.Position = 0;
        using var decompressor = codec.CreateDecompressor(compressed, leaveOpen: true);
        var output = new MemoryStream();
        decompressor.CopyTo(output);
        Assert.Equal(input, output.ToArray());
    }

    [Theory]
    [InlineData(CompressionAlgorithm.Zstd)]
    [InlineData(CompressionAlgorithm.Lz4)]
    public void A_compressor_with_stable_input_refuses_a_write_that_does_not_continue_the_last(CompressionAlgorithm algorithm)
    {
        // Only a compressor that really reads in place checks this (for zstd: libzstd 1.5.4 or later, as on these machines).
        var input = GC.AllocateArray<byte>(200_000, pinned: true);
        using var compressor = CompressionCodec.For(algorithm).CreateCompressor(Stream.Null, new CompressionSpec(algorithm), leaveOpen: true, stableInput: true);
        compressor.Write(input.AsSpan(0, 50_000));

        Assert.Throws<InvalidOperationException>(() => compressor.Write(input.AsSpan(60_000, 10_000)));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(19)]
    public void The_history_that_stable_input_must_keep_is_the_codecs_window(int level)
    {
        // zstd's own table for an unknown source size: windowLog 19 at level 1, 21 at level 3, 23 at level 19.
        var expected = level switch { 1 => 1L << 19, 3 => 1L << 21, _ => 1L << 23 };

        Assert.Equal(expected, CompressionCodec.For(CompressionAlgorithm.Zstd).StableInputHistory(level));
        Assert.Equal(64 * 1024, CompressionCodec.For(CompressionAlgorithm.Lz4).StableInputHistory(level));
        Assert.Equal(0, CompressionCodec.For(CompressionAlgorithm.Gzip).StableInputHistory(level));
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void Synchronous_writes_and_reads_work_too(CompressionAlgorithm algorithm)
    {
        var input = ArchiveTestData.WalLike(300_000);
        var codec = CompressionCodec.For(algorithm);
        var compressed = new MemoryStream();
        using (var compressor = codec.CreateCompressor(compressed, new CompressionSpec(algorithm), leaveOpen: true))
        {
            foreach (var piece in input.Chunk(7777))
            {
                compressor.Write(piece);
            }
        }

        compressed.Position = 0;
        using var decompressor = codec.CreateDecompressor(compressed, leaveOpen: true);
        var output = new MemoryStream();
        decompressor.CopyTo(output, 1000);

        Assert.Equal(input, output.ToArray());
    }

    [Theory]
    [InlineData(CompressionAlgorithm.Zstd, 1)]
    [InlineData(CompressionAlgorithm.Zstd, 19)]
    [InlineData(CompressionAlgorithm.Lz4, 1)]
    [InlineData(CompressionAlgorithm.Lz4, 9)]
    [InlineData(CompressionAlgorithm.Gzip, 1)]
    [InlineData(CompressionAlgorithm.Gzip, 9)]
    [InlineData(CompressionAlgorithm.Brotli, 1)]
    [InlineData(CompressionAlgorithm.Brotli, 11)]
    public async Task Every_level_end_of_the_range_round_trips(CompressionAlgorithm algorithm, int level)
    {
        var input = ArchiveTestData.WalLike(500_000);

        var output = await DecompressAsync(algorithm, await CompressAsync(algorithm, input, level));

        Assert.Equal(input, output);
    }

    [Theory]
    [InlineData(CompressionAlgorithm.Zstd)]
    [InlineData(CompressionAlgorithm.Lz4)]
    [InlineData(CompressionAlgorithm.Gzip)]
    [InlineData(CompressionAlgorithm.Brotli)]
    public async Task Sixty_four_MiB_stream_through_each_codec_unchanged(CompressionAlgorithm algorithm)
    {
        const long length = 64L * 1024 * 1024;
        var codec = CompressionCodec.For(algorithm);

        // Generator -> compressor -> pipe -> decompressor -> hash: nothing holds the whole input.
        var pipe = new System.IO.Pipelines.Pipe();
        var produce = Task.Run(async () =>
        {
            var sink = pipe.Writer.AsStream();
            await using (var compressor = codec.CreateCompressor(sink, new CompressionSpec(algorithm, CompressionSpec.LevelRange(algorithm).Minimum), leaveOpen: true))
            {
                await new ArchiveTestData.GeneratedStream(length).CopyToAsync(compressor);
            }

            await pipe.Writer.CompleteAsync();
        });

        var result = new ArchiveTestData.HashingSink();
        await using (var decompressor = codec.CreateDecompressor(pipe.Reader.AsStream(), leaveOpen: false))
        {
            await decompressor.CopyToAsync(result);
        }

        await produce;
        var expected = new ArchiveTestData.HashingSink();
        await new ArchiveTestData.GeneratedStream(length).CopyToAsync(expected);
        Assert.Equal(length, result.Count);
        Assert.Equal(expected.XxHash128(), result.XxHash128());
    }

    // Only the native codecs: .NET's GZipStream and BrotliStream end quietly on truncated input, which is one reason
    // the archive format checks the plaintext length and SHA-256 itself (see ArchiveObjectTests for truncation there).
    [Theory]
    [InlineData(CompressionAlgorithm.Zstd)]
    [InlineData(CompressionAlgorithm.Lz4)]
    public async Task Truncated_compressed_stream_fails_with_InvalidDataException(CompressionAlgorithm algorithm)
    {
        var compressed = await CompressAsync(algorithm, ArchiveTestData.WalLike(200_000), level: null);

        await Assert.ThrowsAsync<InvalidDataException>(() => DecompressAsync(algorithm, compressed[..(compressed.Length / 2)]));
        await Assert.ThrowsAsync<InvalidDataException>(() => DecompressAsync(algorithm, compressed[..^1]));
    }

    [Theory]
    [InlineData(CompressionAlgorithm.Zstd)]
    [InlineData(CompressionAlgorithm.Lz4)]
    [InlineData(CompressionAlgorithm.Gzip)]
    [InlineData(CompressionAlgorithm.Brotli)]
    public async Task Garbage_fails_with_InvalidDataException(CompressionAlgorithm algorithm)
    {
        await Assert.ThrowsAsync<InvalidDataException>(() => DecompressAsync(algorithm, ArchiveTestData.Random(1000, seed: 5)));
    }

    [Theory]
    [InlineData(CompressionAlgorithm.Zstd, "zstd", "-d -q -c")]
    [InlineData(CompressionAlgorithm.Lz4, "lz4", "-d -q -c")]
    public async Task Output_decompresses_with_the_command_line_tool(CompressionAlgorithm algorithm, string tool, string arguments)
    {
        var input = ArchiveTestData.WalLike(1_000_000);
        var compressed = await CompressAsync(algorithm, input, level: null);

        var path = FindOnPath(tool);
        if (path is null)
        {
            // Without the CLI, the library's one-shot API is the independent implementation to compare with.
            Assert.Equal(input, await DecompressAsync(algorithm, OneShotCompress(algorithm, input)));
            return;
        }

        var file = Path.Combine(Path.GetTempPath(), $"pgdr-codec-{Guid.NewGuid():N}");
        await File.WriteAllBytesAsync(file, compressed);
        try
        {
            var start = new ProcessStartInfo(path, $"{arguments} {file}") { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(start)!;
            var output = new MemoryStream();
            var copy = process.StandardOutput.BaseStream.CopyToAsync(output);
            var errors = await process.StandardError.ReadToEndAsync();
            await copy;
            await process.WaitForExitAsync();

            Assert.True(process.ExitCode == 0, errors);
            Assert.Equal(SHA256.HashData(input), SHA256.HashData(output.ToArray()));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData(CompressionAlgorithm.Zstd)]
    [InlineData(CompressionAlgorithm.Lz4)]
    public async Task Frames_from_the_one_shot_library_api_decompress_with_the_streaming_code(CompressionAlgorithm algorithm)
    {
        var input = ArchiveTestData.WalLike(777_777);

        Assert.Equal(input, await DecompressAsync(algorithm, OneShotCompress(algorithm, input)));
    }

    [Fact]
    public async Task Concatenated_zstd_frames_decompress_as_one_stream()
    {
        var first = ArchiveTestData.WalLike(100_000, seed: 1);
        var second = ArchiveTestData.WalLike(50_000, seed: 2);

        var both = (await CompressAsync(CompressionAlgorithm.Zstd, first, null)).Concat(await CompressAsync(CompressionAlgorithm.Zstd, second, null)).ToArray();

        Assert.Equal(first.Concat(second).ToArray(), await DecompressAsync(CompressionAlgorithm.Zstd, both));
    }

    [Fact]
    public void A_missing_system_library_fails_with_CompressionLibraryMissing_naming_the_package()
    {
        var ex = Assert.Throws<PgDrArchiveException>(() => NativeCodecLibrary.Load("zstd", "libzstd1", ["libpgdr-does-not-exist.so.1"]));

        Assert.Equal(ErrorIds.CompressionLibraryMissing, ex.ErrorId);
        Assert.Equal(PgDrErrorCategory.NotInstalled, ex.Category);
        Assert.Contains("libzstd1", ex.Message, StringComparison.Ordinal);
    }

    private static async Task<byte[]> CompressAsync(CompressionAlgorithm algorithm, byte[] input, int? level)
    {
        var codec = CompressionCodec.For(algorithm);
        var output = new MemoryStream();
        await using (var compressor = codec.CreateCompressor(output, new CompressionSpec(algorithm, level), leaveOpen: true))
        {
            // Uneven pieces, so codec buffering boundaries are exercised.
            var offset = 0;
            var piece = 1;
            while (offset < input.Length)
            {
                var take = Math.Min(piece, input.Length - offset);
                await compressor.WriteAsync(input.AsMemory(offset, take));
                offset += take;
                piece = (piece * 7 % 200_000) + 1;
            }
        }

        return output.ToArray();
    }

    private static async Task<byte[]> DecompressAsync(CompressionAlgorithm algorithm, byte[] compressed)
    {
        var codec = CompressionCodec.For(algorithm);
        var output = new MemoryStream();
        await using (var decompressor = codec.CreateDecompressor(new MemoryStream(compressed), leaveOpen: false))
        {
            await decompressor.CopyToAsync(output, 12345);
        }

        return output.ToArray();
    }

    private static byte[] OneShotCompress(CompressionAlgorithm algorithm, byte[] input) =>
        algorithm == CompressionAlgorithm.Zstd ? ZstdLibrary.Instance.CompressOneShot(input, 3) : Lz4Library.Instance.CompressOneShot(input, 1);

    private static string? FindOnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, tool))
            .FirstOrDefault(File.Exists);
}
