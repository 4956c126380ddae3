using System.IO.Hashing;
using System.Security.Cryptography;
using PgDr.Archive;
using PgDr.Archive.Compression;
using PgDr.Archive.Encryption;
using PgDr.Archive.Format;
using PgDr.Errors;

namespace PgDr.Tests.Archive.Format;

public sealed class ArchiveObjectTests : IDisposable
{
    private const string SegmentName = "000000010000000000000003";
    private readonly ArchiveKey _key = ArchiveKey.FromBytes(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray(), "test key");
    private readonly ArchiveKey _otherKey = ArchiveKey.FromBytes(Enumerable.Range(0, 32).Select(i => (byte)(255 - i)).ToArray(), "other key");
    private readonly string _directory = Directory.CreateTempSubdirectory("pgdr-objects-").FullName;

    public void Dispose()
    {
        _key.Dispose();
        _otherKey.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    public static TheoryData<string, bool> CompressionTimesEncryption
    {
        get
        {
            var data = new TheoryData<string, bool>();
            foreach (var compression in new[] { "none", "gzip", "brotli", "zstd", "lz4", "zstd:19", "lz4:9", "gzip:1" })
            {
                data.Add(compression, false);
                data.Add(compression, true);
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(CompressionTimesEncryption))]
    public async Task Segment_round_trips_with_each_compression_encrypted_or_not(string compression, bool encrypted)
    {
        var plaintext = ArchiveTestData.WalLike(3 * 1024 * 1024 + 123);
        var options = Options(compression, encrypted ? _key : null, chunkSize: 256 * 1024);

        var archived = new MemoryStream();
        var written = await ArchiveObjectWriter.WriteAsync(new MemoryStream(plaintext), archived, options, CancellationToken.None);

        var restored = new MemoryStream();
        archived.Position = 0;
        var read = await ArchiveObjectReader.ReadAsync(archived, restored, encrypted ? _key : null, CancellationToken.None);

        Assert.Equal(plaintext, restored.ToArray());
        var checksum = "xxh128:" + Convert.ToHexString(XxHash128.Hash(plaintext)).ToLowerInvariant();
        Assert.Equal(checksum, written.PlaintextChecksum);
        Assert.Equal(checksum, read.PlaintextChecksum);
        Assert.Equal(ContentChecksumAlgorithm.XxHash128, read.Header.ContentChecksum);
        Assert.Equal(plaintext.Length, written.PlaintextLength);
        Assert.Equal(plaintext.Length, read.PlaintextLength);
        Assert.Equal(archived.Length, written.StoredLength);
        Assert.Equal(archived.Length, read.StoredLength);
        Assert.Equal(SegmentName, read.Header.OriginalName);
        Assert.Equal(CompressionSpec.Parse(compression), read.Header.Compression);
        Assert.Equal(encrypted, read.Header.IsEncrypted);
        if (compression != "none")
        {
            Assert.True(archived.Length < plaintext.Length / 4, $"stored {archived.Length} of {plaintext.Length}");
        }
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(0, true)]
    [InlineData(1, false)]
    [InlineData(1, true)]
    [InlineData(4096, true)]
    [InlineData(4097, true)]
    public async Task Empty_one_byte_and_chunk_boundary_inputs_round_trip(int length, bool encrypted)
    {
        foreach (var compression in new[] { "none", "zstd", "lz4", "gzip", "brotli" })
        {
            var plaintext = ArchiveTestData.Random(length, seed: length);
            var archived = await WriteAsync(plaintext, Options(compression, encrypted ? _key : null, chunkSize: 4096));

            var (restored, summary) = await ReadAsync(archived, encrypted ? _key : null);

            Assert.Equal(plaintext, restored);
            Assert.Equal(length, summary.PlaintextLength);
        }
    }

    [Fact]
    public async Task Random_incompressible_data_round_trips_encrypted()
    {
        var plaintext = ArchiveTestData.Random(2 * 1024 * 1024 + 5, seed: 9);
        var archived = await WriteAsync(plaintext, Options("zstd", _key, chunkSize: 64 * 1024));

        Assert.Equal(plaintext, (await ReadAsync(archived, _key)).Plaintext);
    }

    [Fact]
    public async Task Sixty_four_MiB_object_streams_through_writer_and_reader()
    {
        const long length = 64L * 1024 * 1024;
        var pipe = new System.IO.Pipelines.Pipe();
        var options = Options("zstd:1", _key, chunkSize: ArchiveFormat.DefaultChunkSize);
        var write = Task.Run(async () =>
        {
            var summary = await ArchiveObjectWriter.WriteAsync(new ArchiveTestData.GeneratedStream(length), pipe.Writer.AsStream(), options, CancellationToken.None);
            await pipe.Writer.CompleteAsync();
            return summary;
        });

        var sink = new ArchiveTestData.HashingSink();
        var read = await ArchiveObjectReader.ReadAsync(pipe.Reader.AsStream(), sink, _key, CancellationToken.None);
        var written = await write;

        Assert.Equal(length, read.PlaintextLength);
        Assert.Equal(length, sink.Count);
        Assert.Equal(written.PlaintextChecksum, read.PlaintextChecksum);
        Assert.Equal(written.PlaintextChecksum, "xxh128:" + sink.XxHash128());
        Assert.Equal(written.StoredLength, read.StoredLength);
    }

    [Theory]
    [MemberData(nameof(CompressionTimesEncryption))]
    public async Task A_file_hashed_and_compressed_in_place_from_its_mapping_round_trips(string compression, bool encrypted)
    {
        // 5 MiB: mapped (from 1 MiB on), and long enough that pages behind zstd's window are released on the way.
        var plaintext = ArchiveTestData.WalLike(5 * 1024 * 1024 + 123);
        var path = Path.Combine(_directory, SegmentName);
        await File.WriteAllBytesAsync(path, plaintext);
        var options = Options(compression, encrypted ? _key : null);

        var fromFile = new MemoryStream();
        var written = await ArchiveObjectWriter.WriteFileAsync(path, fromFile, options, CancellationToken.None);
        var fromStream = new MemoryStream();
        var streamed = await ArchiveObjectWriter.WriteAsync(new MemoryStream(plaintext), fromStream, options, CancellationToken.None);

        var (restored, read) = await ReadAsync(fromFile.ToArray(), encrypted ? _key : null);
        Assert.Equal(plaintext, restored);
        Assert.Equal("xxh128:" + Convert.ToHexString(XxHash128.Hash(plaintext)).ToLowerInvariant(), written.PlaintextChecksum);
        Assert.Equal(streamed.PlaintextChecksum, written.PlaintextChecksum);
        Assert.Equal(written.PlaintextChecksum, read.PlaintextChecksum);
        Assert.Equal(plaintext.Length, written.PlaintextLength);
        Assert.Equal(fromFile.Length, written.StoredLength);
        Assert.Equal(fromFile.Length, read.StoredLength);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(ArchiveObjectWriter.MappedMinimum - 1)]
    [InlineData(ArchiveObjectWriter.MappedMinimum)]
    [InlineData(ArchiveObjectWriter.MappedMinimum + 1)]
    public async Task Files_on_both_sides_of_the_mapping_threshold_round_trip(long length)
    {
        var plaintext = ArchiveTestData.WalLike((int)length);
        var path = Path.Combine(_directory, SegmentName);
        await File.WriteAllBytesAsync(path, plaintext);

        var archived = new MemoryStream();
        var written = await ArchiveObjectWriter.WriteFileAsync(path, archived, Options("zstd", _key), CancellationToken.None);

        var (restored, read) = await ReadAsync(archived.ToArray(), _key);
        Assert.Equal(plaintext, restored);
        Assert.Equal(length, written.PlaintextLength);
        Assert.Equal(written.PlaintextChecksum, read.PlaintextChecksum);
    }

    [Fact]
    public async Task A_missing_file_fails_with_FileNotFoundException_and_writes_nothing()
    {
        var archived = new MemoryStream();

        await Assert.ThrowsAsync<FileNotFoundException>(() =>
            ArchiveObjectWriter.WriteFileAsync(Path.Combine(_directory, SegmentName), archived, Options("zstd", _key), CancellationToken.None));
        Assert.Equal(0, archived.Length);
    }

    [Fact]
    public async Task Cancellation_stops_the_writer_of_a_mapped_file()
    {
        var path = Path.Combine(_directory, SegmentName);
        await File.WriteAllBytesAsync(path, ArchiveTestData.WalLike(4 * 1024 * 1024));
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            ArchiveObjectWriter.WriteFileAsync(path, new MemoryStream(), Options("zstd", _key), cancellation.Token));
    }

    [Fact]
    public async Task Header_can_be_inspected_without_the_key_and_without_reading_the_body()
    {
        var archived = await WriteAsync(ArchiveTestData.WalLike(100_000), Options("lz4:3", _key, chunkSize: 8192));
        var stream = new MemoryStream(archived);

        var header = await ArchiveObjectHeader.ReadAsync(stream, CancellationToken.None);

        Assert.Equal(SegmentName, header.OriginalName);
        Assert.Equal(CompressionSpec.Parse("lz4:3"), header.Compression);
        Assert.Equal(ArchiveCipher.Aes256Gcm, header.Cipher);
        Assert.Equal(8192, header.ChunkSize);
        Assert.Equal(ArchiveFormat.Version, header.FormatVersion);
        Assert.Equal(header.Length, stream.Position);
    }

    [Fact]
    public async Task Same_plaintext_encrypts_differently_every_time()
    {
        var plaintext = ArchiveTestData.WalLike(50_000);

        var first = await WriteAsync(plaintext, Options("zstd", _key));
        var second = await WriteAsync(plaintext, Options("zstd", _key));

        Assert.NotEqual(first, second);
    }

    [Fact]
    public async Task Encrypted_object_does_not_reveal_the_plaintext_checksum()
    {
        var plaintext = ArchiveTestData.WalLike(50_000);
        var archived = await WriteAsync(plaintext, Options("none", _key));

        Assert.Equal(-1, archived.AsSpan().IndexOf(SHA256.HashData(plaintext)));
        Assert.Equal(-1, archived.AsSpan().IndexOf(plaintext.AsSpan(0, 64)));
    }

    [Fact]
    public async Task Wrong_key_fails_with_ArchiveKeyMismatch_before_any_byte_is_written()
    {
        var archived = await WriteAsync(ArchiveTestData.WalLike(100_000), Options("zstd", _key));
        var destination = new MemoryStream();

        var ex = await Assert.ThrowsAsync<PgDrArchiveException>(() => ArchiveObjectReader.ReadAsync(new MemoryStream(archived), destination, _otherKey, CancellationToken.None));

        Assert.Equal(ErrorIds.ArchiveKeyMismatch, ex.ErrorId);
        Assert.Equal(0, destination.Length);
        Assert.Contains("other key", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Encrypted_object_without_a_key_fails_with_ArchiveKeyRequired()
    {
        var archived = await WriteAsync(ArchiveTestData.WalLike(10_000), Options("zstd", _key));

        var ex = await Assert.ThrowsAsync<PgDrArchiveException>(() => ArchiveObjectReader.ReadAsync(new MemoryStream(archived), new MemoryStream(), key: null, CancellationToken.None));

        Assert.Equal(ErrorIds.ArchiveKeyRequired, ex.ErrorId);
    }

    [Fact]
    public async Task Unencrypted_object_is_refused_when_a_key_is_configured_unless_allowed()
    {
        var plaintext = ArchiveTestData.WalLike(10_000);
        var archived = await WriteAsync(plaintext, Options("zstd", key: null));

        var ex = await Assert.ThrowsAsync<PgDrArchiveException>(() => ArchiveObjectReader.ReadAsync(new MemoryStream(archived), new MemoryStream(), _key, CancellationToken.None));
        Assert.Equal(ErrorIds.ArchiveObjectNotEncrypted, ex.ErrorId);

        var restored = new MemoryStream();
        await ArchiveObjectReader.ReadAsync(new MemoryStream(archived), restored, new ArchiveReadOptions { Key = _key, AllowUnencrypted = true }, CancellationToken.None);
        Assert.Equal(plaintext, restored.ToArray());
    }

    public static TheoryData<string, bool> FlipCases
    {
        get
        {
            var data = new TheoryData<string, bool>();
            foreach (var compression in new[] { "none", "zstd", "lz4", "gzip", "brotli" })
            {
                data.Add(compression, true);
                data.Add(compression, false);
            }

            return data;
        }
    }

    /// <summary>Every byte position of a small multi-record object: header, each record's frame and body, the trailer.</summary>
    [Theory]
    [MemberData(nameof(FlipCases))]
    public async Task A_flipped_bit_anywhere_in_the_object_fails_with_ArchiveObjectCorrupt(string compression, bool encrypted)
    {
        // Enough incompressible bytes that even the compressed stream spans several 4 KiB records.
        var plaintext = compression == "none" ? ArchiveTestData.Random(10_000, seed: 4) : [.. ArchiveTestData.WalLike(50_000), .. ArchiveTestData.Random(10_000, seed: 4)];
        var key = encrypted ? _key : null;
        var archived = await WriteAsync(plaintext, Options(compression, key, chunkSize: ArchiveFormat.MinimumChunkSize));
        Assert.True(archived.Length > 2 * ArchiveFormat.MinimumChunkSize, "the object must span several records");

        for (var position = 0; position < archived.Length; position++)
        {
            var damaged = (byte[])archived.Clone();
            damaged[position] ^= (byte)(1 << (position % 8));

            var ex = await Assert.ThrowsAsync<PgDrArchiveException>(() => ArchiveObjectReader.ReadAsync(new MemoryStream(damaged), Stream.Null, key, CancellationToken.None));
            Assert.True(ex.ErrorId == ErrorIds.ArchiveObjectCorrupt, $"byte {position} of {archived.Length}: {ex.ErrorId}: {ex.Message}");
        }
    }

    public static TheoryData<string> Regions => new() { "header", "first record", "middle record", "last record", "trailer" };

    /// <summary>The same, named by region, with a whole byte replaced rather than one bit flipped.</summary>
    [Theory]
    [MemberData(nameof(Regions))]
    public async Task A_replaced_byte_in_each_region_fails_with_ArchiveObjectCorrupt(string region)
    {
        foreach (var key in new[] { _key, null })
        {
            var archived = await WriteAsync(ArchiveTestData.Random(5 * 4096 + 100, seed: 2), Options("none", key, chunkSize: 4096));
            var header = (await ArchiveObjectHeader.ReadAsync(new MemoryStream(archived), CancellationToken.None)).Length;
            var record = 4 + 4096 + (key is null ? 0 : 16);
            var position = region switch
            {
                "header" => header / 2,
                "first record" => header + 100,
                "middle record" => header + (2 * record) + 2000,
                "last record" => header + (5 * record) + 50,
                _ => archived.Length - 10,
            };

            var damaged = (byte[])archived.Clone();
            damaged[position] = (byte)~damaged[position];

            var ex = await Assert.ThrowsAsync<PgDrArchiveException>(() => ArchiveObjectReader.ReadAsync(new MemoryStream(damaged), new MemoryStream(), key, CancellationToken.None));
            Assert.Equal(ErrorIds.ArchiveObjectCorrupt, ex.ErrorId);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Truncation_at_every_length_fails_with_ArchiveObjectCorrupt(bool encrypted)
    {
        var key = encrypted ? _key : null;
        var archived = await WriteAsync(ArchiveTestData.Random(3 * 4096 + 7, seed: 3), Options("none", key, chunkSize: 4096));

        for (var length = 0; length < archived.Length; length++)
        {
            var ex = await Assert.ThrowsAsync<PgDrArchiveException>(() => ArchiveObjectReader.ReadAsync(new MemoryStream(archived[..length]), Stream.Null, key, CancellationToken.None));
            Assert.True(ex.ErrorId == ErrorIds.ArchiveObjectCorrupt, $"truncated to {length}: {ex.ErrorId}");
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Truncation_exactly_at_a_record_boundary_fails_with_ArchiveObjectCorrupt(bool encrypted)
    {
        var key = encrypted ? _key : null;
        var archived = await WriteAsync(ArchiveTestData.Random(4 * 4096, seed: 8), Options("none", key, chunkSize: 4096));
        var header = (await ArchiveObjectHeader.ReadAsync(new MemoryStream(archived), CancellationToken.None)).Length;
        var record = 4 + 4096 + (encrypted ? 16 : 0);

        for (var records = 0; records <= 4; records++)
        {
            var cut = archived[..(header + (records * record))];
            var ex = await Assert.ThrowsAsync<PgDrArchiveException>(() => ArchiveObjectReader.ReadAsync(new MemoryStream(cut), Stream.Null, key, CancellationToken.None));
            Assert.Equal(ErrorIds.ArchiveObjectCorrupt, ex.ErrorId);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Bytes_appended_after_the_final_record_fail_with_ArchiveObjectCorrupt(bool encrypted)
    {
        var key = encrypted ? _key : null;
        var archived = await WriteAsync(ArchiveTestData.WalLike(30_000), Options("zstd", key));

        var ex = await Assert.ThrowsAsync<PgDrArchiveException>(() => ArchiveObjectReader.ReadAsync(new MemoryStream([.. archived, 0]), Stream.Null, key, CancellationToken.None));

        Assert.Equal(ErrorIds.ArchiveObjectCorrupt, ex.ErrorId);
    }

    [Fact]
    public async Task Swapped_records_fail_with_ArchiveObjectCorrupt()
    {
        var archived = await WriteAsync(ArchiveTestData.Random(3 * 4096, seed: 6), Options("none", _key, chunkSize: 4096));
        var header = (await ArchiveObjectHeader.ReadAsync(new MemoryStream(archived), CancellationToken.None)).Length;
        const int record = 4 + 4096 + 16;

        var swapped = (byte[])archived.Clone();
        archived.AsSpan(header, record).CopyTo(swapped.AsSpan(header + record));
        archived.AsSpan(header + record, record).CopyTo(swapped.AsSpan(header));

        var ex = await Assert.ThrowsAsync<PgDrArchiveException>(() => ArchiveObjectReader.ReadAsync(new MemoryStream(swapped), Stream.Null, _key, CancellationToken.None));
        Assert.Equal(ErrorIds.ArchiveObjectCorrupt, ex.ErrorId);
    }

    [Fact]
    public async Task A_record_from_another_object_with_the_same_key_fails_with_ArchiveObjectCorrupt()
    {
        var plaintext = ArchiveTestData.Random(2 * 4096, seed: 12);
        var first = await WriteAsync(plaintext, Options("none", _key, chunkSize: 4096));
        var second = await WriteAsync(plaintext, Options("none", _key, chunkSize: 4096));
        var header = (await ArchiveObjectHeader.ReadAsync(new MemoryStream(first), CancellationToken.None)).Length;

        var spliced = (byte[])first.Clone();
        second.AsSpan(header, 4 + 4096 + 16).CopyTo(spliced.AsSpan(header));

        var ex = await Assert.ThrowsAsync<PgDrArchiveException>(() => ArchiveObjectReader.ReadAsync(new MemoryStream(spliced), Stream.Null, _key, CancellationToken.None));
        Assert.Equal(ErrorIds.ArchiveObjectCorrupt, ex.ErrorId);
    }

    [Fact]
    public async Task A_newer_format_version_fails_with_ArchiveFormatUnsupported()
    {
        var archived = await WriteAsync(ArchiveTestData.WalLike(1000), Options("zstd", key: null));
        archived[4] = ArchiveFormat.NewestReadable + 1;
        archived[5] = unchecked((byte)~(ArchiveFormat.NewestReadable + 1));

        var ex = await Assert.ThrowsAsync<PgDrArchiveException>(() => ArchiveObjectHeader.ReadAsync(new MemoryStream(archived), CancellationToken.None));

        Assert.Equal(ErrorIds.ArchiveFormatUnsupported, ex.ErrorId);
    }

    [Fact]
    public async Task Something_that_is_not_an_archive_object_fails_with_ArchiveObjectCorrupt()
    {
        foreach (var content in new[] { Array.Empty<byte>(), "PGD"u8.ToArray(), ArchiveTestData.WalLike(20_000) })
        {
            var ex = await Assert.ThrowsAsync<PgDrArchiveException>(() => ArchiveObjectReader.ReadAsync(new MemoryStream(content), Stream.Null, key: null, CancellationToken.None));
            Assert.Equal(ErrorIds.ArchiveObjectCorrupt, ex.ErrorId);
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData("name with space")]
    public async Task Invalid_object_names_fail_with_InvalidArchiveObjectOptions(string name)
    {
        var options = new ArchiveObjectOptions { Name = name };

        var ex = await Assert.ThrowsAsync<PgDrArgumentException>(() => ArchiveObjectWriter.WriteAsync(new MemoryStream(), new MemoryStream(), options, CancellationToken.None));

        Assert.Equal(ErrorIds.InvalidArchiveObjectOptions, ex.ErrorId);
    }

    [Theory]
    [InlineData(4095)]
    [InlineData(16 * 1024 * 1024 + 1)]
    public async Task Chunk_size_out_of_range_fails_with_InvalidArchiveObjectOptions(int chunkSize)
    {
        var options = new ArchiveObjectOptions { Name = SegmentName, ChunkSize = chunkSize };

        var ex = await Assert.ThrowsAsync<PgDrArgumentException>(() => ArchiveObjectWriter.WriteAsync(new MemoryStream(), new MemoryStream(), options, CancellationToken.None));

        Assert.Equal(ErrorIds.InvalidArchiveObjectOptions, ex.ErrorId);
    }

    [Fact]
    public async Task Cancellation_stops_the_writer()
    {
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            ArchiveObjectWriter.WriteAsync(new ArchiveTestData.GeneratedStream(10_000_000), new MemoryStream(), Options("zstd", _key), cancellation.Token));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SHA_256_content_checksum_is_selectable_and_verified(bool encrypted)
    {
        var plaintext = ArchiveTestData.WalLike(600_000);
        var options = new ArchiveObjectOptions { Name = SegmentName, Compression = CompressionSpec.Parse("zstd"), Key = encrypted ? _key : null, Checksum = ContentChecksumAlgorithm.Sha256, ChunkSize = 64 * 1024 };

        var archived = await WriteAsync(plaintext, options);
        var (restored, summary) = await ReadAsync(archived, encrypted ? _key : null);

        Assert.Equal(plaintext, restored);
        Assert.Equal(ContentChecksumAlgorithm.Sha256, summary.Header.ContentChecksum);
        Assert.Equal("sha256:" + Convert.ToHexString(SHA256.HashData(plaintext)).ToLowerInvariant(), summary.PlaintextChecksum);
    }

    [Fact]
    public async Task An_unknown_content_checksum_in_a_sound_header_fails_with_ArchiveObjectCorrupt()
    {
        var archived = await WriteAsync(ArchiveTestData.WalLike(1000), Options("zstd", key: null));
        var headerLength = (await ArchiveObjectHeader.ReadAsync(new MemoryStream(archived), CancellationToken.None)).Length;
        archived[14] = 77;
        SHA256.HashData(archived.AsSpan(0, headerLength - 32)).CopyTo(archived, headerLength - 32);

        var ex = await Assert.ThrowsAsync<PgDrArchiveException>(() => ArchiveObjectHeader.ReadAsync(new MemoryStream(archived), CancellationToken.None));

        Assert.Equal(ErrorIds.ArchiveObjectCorrupt, ex.ErrorId);
        Assert.Contains("content checksum", ex.Message, StringComparison.Ordinal);
    }

    // Objects written by format version 1 (PgDr before the content checksum became selectable; made with pgdr wal
    // push of a history file at commit c9c5538) stay readable, and their SHA-256 is still verified.
    [Theory]
    [InlineData("plain.pgdr", false)]
    [InlineData("encrypted.pgdr", true)]
    public async Task Format_version_1_objects_are_still_read_and_verified(string file, bool encrypted)
    {
        var directory = Path.Combine(AppContext.BaseDirectory, "Archive", "Format", "FormatVersion1");
        var expected = await File.ReadAllBytesAsync(Path.Combine(directory, "00000002.history"));
        var archived = await File.ReadAllBytesAsync(Path.Combine(directory, file));
        using var key = ArchiveKey.FromBytes(Convert.FromBase64String((await File.ReadAllTextAsync(Path.Combine(directory, "key.base64"))).Trim()), "format 1 test key");

        var (restored, summary) = await ReadAsync(archived, encrypted ? key : null);

        Assert.Equal(expected, restored);
        Assert.Equal(1, summary.Header.FormatVersion);
        Assert.Equal(ContentChecksumAlgorithm.Sha256, summary.Header.ContentChecksum);
        Assert.Equal("sha256:" + Convert.ToHexString(SHA256.HashData(expected)).ToLowerInvariant(), summary.PlaintextChecksum);

        archived[^40] ^= 0x01;
        var ex = await Assert.ThrowsAsync<PgDrArchiveException>(() => ReadAsync(archived, encrypted ? key : null));
        Assert.Equal(ErrorIds.ArchiveObjectCorrupt, ex.ErrorId);
    }

    private static ArchiveObjectOptions Options(string compression, ArchiveKey? key, int chunkSize = ArchiveFormat.DefaultChunkSize) =>
        new() { Name = SegmentName, Compression = CompressionSpec.Parse(compression), Key = key, ChunkSize = chunkSize };

    private static async Task<byte[]> WriteAsync(byte[] plaintext, ArchiveObjectOptions options)
    {
        var archived = new MemoryStream();
        await ArchiveObjectWriter.WriteAsync(new MemoryStream(plaintext), archived, options, CancellationToken.None);
        return archived.ToArray();
    }

    private static async Task<(byte[] Plaintext, ArchiveObjectSummary Summary)> ReadAsync(byte[] archived, ArchiveKey? key)
    {
        var restored = new MemoryStream();
        var summary = await ArchiveObjectReader.ReadAsync(new MemoryStream(archived), restored, key, CancellationToken.None);
        return (restored.ToArray(), summary);
    }
}
