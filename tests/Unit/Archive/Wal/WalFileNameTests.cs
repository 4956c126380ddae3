using PgDr.Archive.Wal;
using PgDr.Errors;

namespace PgDr.Tests.Archive.Wal;

public sealed class WalFileNameTests
{
    [Fact]
    public void Segment_name_exposes_timeline_log_and_segment_parts()
    {
        var name = WalFileName.Parse("0000000200000003000000A4");

        Assert.Equal(WalFileKind.Segment, name.Kind);
        Assert.Equal(2u, name.Timeline);
        Assert.Equal(3u, name.LogId);
        Assert.Equal(0xA4u, name.SegmentId);
        Assert.Null(name.BackupOffset);
        Assert.Equal("0000000200000003000000A4", name.SegmentName);
        Assert.Equal("0000000200000003000000A4", name.ToString());
    }

    [Fact]
    public void Segment_number_depends_on_the_segment_size()
    {
        var name = WalFileName.Parse("000000010000000300000004");

        Assert.Equal((3ul * 256) + 4, name.SegmentNumber());
        Assert.Equal((3ul * 256) + 4, name.SegmentNumber(16L * 1024 * 1024));
        Assert.Equal((3ul * 4096) + 4, name.SegmentNumber(1L * 1024 * 1024));
        Assert.Equal((3ul * 4) + 0, WalFileName.Parse("000000010000000300000000").SegmentNumber(1L * 1024 * 1024 * 1024));
        Assert.Equal((3ul * 64) + 4, name.SegmentNumber(64L * 1024 * 1024));
    }

    [Fact]
    public void Start_lsn_is_segment_number_times_segment_size()
    {
        Assert.Equal("3/4000000", WalFileName.Parse("000000010000000300000004").StartLsn().ToString());
    }

    [Fact]
    public void Partial_segment_is_recognised()
    {
        var name = WalFileName.Parse("000000010000000000000007.partial");

        Assert.Equal(WalFileKind.Partial, name.Kind);
        Assert.Equal(1u, name.Timeline);
        Assert.Equal(7ul, name.SegmentNumber());
        Assert.Equal("000000010000000000000007", name.SegmentName);
    }

    [Fact]
    public void Backup_history_file_exposes_its_start_offset()
    {
        var name = WalFileName.Parse("000000010000000000000002.00000028.backup");

        Assert.Equal(WalFileKind.BackupHistory, name.Kind);
        Assert.Equal(0x28u, name.BackupOffset);
        Assert.Equal(2ul, name.SegmentNumber());
    }

    [Fact]
    public void Timeline_history_file_has_a_timeline_and_no_segment()
    {
        var name = WalFileName.Parse("0000000A.history");

        Assert.Equal(WalFileKind.TimelineHistory, name.Kind);
        Assert.Equal(10u, name.Timeline);
        Assert.Null(name.LogId);
        Assert.Null(name.SegmentId);
        Assert.Null(name.SegmentName);
        Assert.Throws<InvalidOperationException>(() => name.SegmentNumber());
        Assert.Throws<InvalidOperationException>(() => name.Next());
    }

    [Theory]
    [InlineData("000000010000000000000001", "000000010000000000000002")]
    [InlineData("0000000100000000000000FF", "000000010000000100000000")]
    [InlineData("00000003000000AB000000FE", "00000003000000AB000000FF")]
    public void Next_segment_carries_into_the_log_part_at_the_segment_size_boundary(string current, string next)
    {
        Assert.Equal(next, WalFileName.Parse(current).Next().Name);
    }

    [Fact]
    public void Next_with_other_segment_sizes_uses_their_radix()
    {
        Assert.Equal("000000010000000000000100", WalFileName.Parse("0000000100000000000000FF").Next(1L * 1024 * 1024).Name);
        Assert.Equal("000000010000000100000000", WalFileName.Parse("000000010000000000000003").Next(1L * 1024 * 1024 * 1024).Name);
    }

    [Fact]
    public void Next_is_only_defined_for_complete_segments()
    {
        Assert.Throws<InvalidOperationException>(() => WalFileName.Parse("000000010000000000000007.partial").Next());
        Assert.Throws<InvalidOperationException>(() => WalFileName.Parse("000000010000000000000002.00000028.backup").Next());
    }

    [Fact]
    public void ForSegment_and_Parse_agree_in_both_directions()
    {
        foreach (var size in new[] { 1L << 20, 16L << 20, 64L << 20, 1L << 30 })
        {
            foreach (var number in new ulong[] { 1, 2, 255, 256, 4095, 4096, 123_456 })
            {
                var name = WalFileName.ForSegment(5, number, size);
                Assert.Equal(number, WalFileName.Parse(name.Name).SegmentNumber(size));
            }
        }
    }

    [Fact]
    public void ForTimelineHistory_formats_upper_case_hex()
    {
        Assert.Equal("0000001F.history", WalFileName.ForTimelineHistory(31).Name);
    }

    [Fact]
    public void Segment_part_too_large_for_the_segment_size_is_refused()
    {
        var name = WalFileName.Parse("000000010000000000000100");

        Assert.Equal(256ul, name.SegmentNumber(1L * 1024 * 1024));
        var ex = Assert.Throws<PgDrArgumentException>(() => name.SegmentNumber(16L * 1024 * 1024));
        Assert.Equal(ErrorIds.InvalidWalFileName, ex.ErrorId);
    }

    [Fact]
    public void Backup_offset_beyond_the_segment_is_refused_for_that_size()
    {
        var name = WalFileName.Parse("000000010000000000000001.01000000.backup");

        var ex = Assert.Throws<PgDrArgumentException>(() => name.SegmentNumber(16L * 1024 * 1024));
        Assert.Equal(ErrorIds.InvalidWalFileName, ex.ErrorId);
        Assert.Equal(1ul, name.SegmentNumber(64L * 1024 * 1024));
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(512L * 1024)]
    [InlineData(3L * 1024 * 1024)]
    [InlineData(2L * 1024 * 1024 * 1024)]
    [InlineData(-16L * 1024 * 1024)]
    public void Invalid_segment_sizes_are_refused_with_InvalidWalSegmentSize(long size)
    {
        var ex = Assert.Throws<PgDrArgumentException>(() => WalFileName.Parse("000000010000000000000001").SegmentNumber(size));
        Assert.Equal(ErrorIds.InvalidWalSegmentSize, ex.ErrorId);
    }

    [Theory]
    [InlineData(1L << 20)]
    [InlineData(2L << 20)]
    [InlineData(16L << 20)]
    [InlineData(256L << 20)]
    [InlineData(1L << 30)]
    public void Every_power_of_two_from_1_MiB_to_1_GiB_is_a_segment_size(long size)
    {
        Assert.True(WalSegmentSize.IsValid(size));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("00000001000000000000001")]                      // 23 digits
    [InlineData("0000000100000000000000011")]                    // 25 digits
    [InlineData("00000001000000000000000a")]                     // lower case
    [InlineData("000000010000000000000001.PARTIAL")]
    [InlineData("000000010000000000000001.partia")]
    [InlineData("000000010000000000000001.partiall")]
    [InlineData("000000010000000000000001.history")]
    [InlineData("000000010000000000000001.0000002.backup")]      // 7-digit offset
    [InlineData("000000010000000000000001.0000002g.backup")]
    [InlineData("000000010000000000000001.00000028.backu")]
    [InlineData("000000010000000000000001_00000028.backup")]
    [InlineData("0000000a.history")]
    [InlineData("000000001.history")]
    [InlineData("00000001.HISTORY")]
    [InlineData("00000001.backup")]
    [InlineData("000000000000000000000001")]                     // timeline 0
    [InlineData("00000000.history")]
    [InlineData("000000010000000000001000")]                     // segment part larger than any size allows
    [InlineData("000000010000000000000001.40000000.backup")]     // offset beyond the largest segment
    [InlineData("../../../../etc/passwd")]
    [InlineData("../00000001000000000000001")]
    [InlineData("/00000001000000000000001")]
    [InlineData("00000001/0000000000000001")]
    [InlineData("00000001\\0000000000000001")]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData(" 00000001000000000000001")]
    [InlineData("00000001000000000000001 ")]
    [InlineData("0x000001000000000000000001")]
    [InlineData("+00000010000000000000001")]
    [InlineData("00000001000000000000000\0")]
    [InlineData("０00000010000000000000001")]                     // full-width digit
    [InlineData("00000001000000000000001.partial")]
    [InlineData("000000010000000000000001.partial.partial")]
    public void Anything_else_is_refused_with_InvalidWalFileName(string? text)
    {
        Assert.False(WalFileName.TryParse(text, out _));
        var ex = Assert.Throws<PgDrArgumentException>(() => WalFileName.Parse(text));
        Assert.Equal(ErrorIds.InvalidWalFileName, ex.ErrorId);
        Assert.Equal(PgDrErrorCategory.InvalidArgument, ex.Category);
    }

    [Fact]
    public void Control_characters_of_a_refused_name_do_not_reach_the_message()
    {
        var ex = Assert.Throws<PgDrArgumentException>(() => WalFileName.Parse("evil\nname\u001b[31m"));

        Assert.DoesNotContain('\n', ex.Message);
        Assert.DoesNotContain('\u001b', ex.Message);
    }

    [Fact]
    public void Names_are_equal_by_value()
    {
        Assert.Equal(WalFileName.Parse("000000010000000000000001"), WalFileName.ForSegment(1, 1));
        Assert.NotEqual(WalFileName.Parse("000000010000000000000001"), WalFileName.Parse("000000010000000000000001.partial"));
        Assert.Equal(WalFileName.Parse("000000010000000000000001").GetHashCode(), WalFileName.ForSegment(1, 1).GetHashCode());
    }
}
