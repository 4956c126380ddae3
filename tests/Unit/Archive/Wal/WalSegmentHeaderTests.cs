using PgDr.Archive;
using PgDr.Archive.Wal;
using PgDr.Errors;
using PgDr.Tests.Fixtures;
using PgDr.Topology;

namespace PgDr.Tests.Archive.Wal;

public sealed class WalSegmentHeaderTests
{
    // The first 40 bytes of pg_wal/000000010000000000000001 right after initdb with PostgreSQL 15.18;
    // pg_controldata reported "Database system identifier: 7710848259141773134".
    private static readonly byte[] Pg15FirstSegment = Convert.FromHexString(
        "10D1020001000000000000010000000000000000000000004EA7154BA36F026B0000000100200000");

    [Fact]
    public void Header_of_a_real_PostgreSQL_15_segment_reads_identity_sizes_and_version()
    {
        var header = WalSegmentHeader.Parse(Pg15FirstSegment);

        Assert.Equal(0xD110, header.Magic);
        Assert.Equal(15, header.PgMajorVersion);
        Assert.Equal(7710848259141773134ul, header.SystemIdentifier);
        Assert.Equal(1u, header.Timeline);
        Assert.Equal(16u * 1024 * 1024, header.SegmentSize);
        Assert.Equal(8192u, header.BlockSize);
        Assert.Equal(new PgLsn(0x1000000), header.PageAddress);
        Assert.Equal(1ul, header.SegmentNumber);
    }

    [Fact]
    public void Magic_table_covers_PostgreSQL_12_to_17()
    {
        Assert.Equal(
            new Dictionary<ushort, int> { [0xD101] = 12, [0xD106] = 13, [0xD10D] = 14, [0xD110] = 15, [0xD113] = 16, [0xD116] = 17 },
            WalSegmentHeader.KnownMagics);
    }

    [Fact]
    public void A_newer_magic_of_the_same_family_is_accepted_with_unknown_version()
    {
        var bytes = (byte[])Pg15FirstSegment.Clone();
        bytes[0] = 0x18;

        var header = WalSegmentHeader.Parse(bytes);

        Assert.Equal(0xD118, header.Magic);
        Assert.Null(header.PgMajorVersion);
    }

    public static TheoryData<string, int, byte> Damage => new()
    {
        { "foreign magic", 1, 0x00 },
        { "no long header flag", 2, 0x00 },
        { "unknown flag bits", 2, 0x12 },
        { "timeline zero", 4, 0x00 },
        { "page address not at a segment start", 8, 0x01 },
        { "segment size not a power of two", 34, 0x03 },
        { "segment size zero", 35, 0x00 },
        { "block size not a power of two", 37, 0x21 },
        { "system identifier zero (all eight bytes)", -1, 0x00 },
    };

    [Theory]
    [MemberData(nameof(Damage))]
    public void Damaged_or_foreign_data_fails_with_NotAWalSegment(string what, int offset, byte value)
    {
        var bytes = (byte[])Pg15FirstSegment.Clone();
        if (offset < 0)
        {
            bytes.AsSpan(24, 8).Clear();
        }
        else
        {
            bytes[offset] = value;
        }

        var ex = Assert.Throws<PgDrArchiveException>(() => WalSegmentHeader.Parse(bytes));
        Assert.True(ex.ErrorId == ErrorIds.NotAWalSegment, what);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(39)]
    public void Data_shorter_than_a_page_header_fails_with_NotAWalSegment(int length)
    {
        var ex = Assert.Throws<PgDrArchiveException>(() => WalSegmentHeader.Parse(Pg15FirstSegment.AsSpan(0, length)));
        Assert.Equal(ErrorIds.NotAWalSegment, ex.ErrorId);
    }

    [Fact]
    public async Task Text_or_random_files_fail_with_NotAWalSegment()
    {
        foreach (var garbage in new[] { "PGDR this is not WAL at all, just text........."u8.ToArray(), ArchiveTestData.Random(8192, seed: 11), new byte[8192] })
        {
            var ex = await Assert.ThrowsAsync<PgDrArchiveException>(() => WalSegmentHeader.ReadAsync(new MemoryStream(garbage), CancellationToken.None));
            Assert.Equal(ErrorIds.NotAWalSegment, ex.ErrorId);
        }
    }
}

/// <summary>Reads segments a running PostgreSQL wrote, so the table above is checked against the real thing.</summary>
[Collection(SharedTopology.Name)]
public sealed class WalSegmentHeaderOfARunningClusterTests(SharedTopologyFixture fixture)
{
    [Fact]
    public async Task Segments_in_pg_wal_carry_the_clusters_system_identifier_and_version_magic()
    {
        var sandbox = fixture.Sandbox;
        var node = await NodeInspector.GetNodeAsync(sandbox.Instance("region-a"), CancellationToken.None);
        // The segment holding the last written byte. Later ones are pre-allocated: zero-filled or recycled (still
        // carrying an old segment's header), and so is the current one while the insert position sits at its very start.
        var current = (node.CurrentLsn!.Value.Value - 1) / WalSegmentSize.Default;

        var segments = Directory.GetFiles(Path.Combine(sandbox.Primary.DataDirectory, "pg_wal"))
            .Where(path => WalFileName.TryParse(Path.GetFileName(path), out var name) && name.Kind == WalFileKind.Segment && name.SegmentNumber() <= current)
            .ToList();
        Assert.NotEmpty(segments);

        foreach (var path in segments)
        {
            var header = await WalSegmentHeader.ReadFileAsync(path, CancellationToken.None);
            var name = WalFileName.Parse(Path.GetFileName(path));

            Assert.Equal(node.SystemIdentifier, header.SystemIdentifier);
            Assert.Equal(sandbox.PgMajorVersion, header.PgMajorVersion);
            Assert.Equal(WalSegmentSize.Default, header.SegmentSize);
            Assert.Equal(8192u, header.BlockSize);
            Assert.Equal(name.StartLsn(header.SegmentSize), header.PageAddress);
        }
    }
}
