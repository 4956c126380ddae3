using PgDr.Archive.Transfer;
using PgDr.Archive.Wal;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Archive.Transfer;

public sealed class WalArchiveCatalogTests(WalCorpusFixture corpus) : IClassFixture<WalCorpusFixture>
{
    [Fact]
    public async Task Listing_shows_each_timeline_with_its_range_and_the_gap_a_missing_segment_leaves()
    {
        var directory = await ArchiveTestSupport.NewDirectoryAsync("catalog");
        var repository = Directory.CreateDirectory(Path.Combine(directory, "repo")).FullName;
        var config = ArchiveTestSupport.Config("main", [ArchiveTestSupport.FileSystemRepository("local", repository)]);
        await WalPushService.PushAsync(config, corpus.Segments[0], CancellationToken.None);
        await WalPushService.PushAsync(config, corpus.Segments[2], CancellationToken.None);

        var timeline = Assert.Single(await WalArchiveCatalog.ListAsync(config, null, CancellationToken.None));

        Assert.Equal(1u, timeline.Timeline);
        Assert.Equal(Path.GetFileName(corpus.Segments[0]), timeline.FirstSegment);
        Assert.Equal(Path.GetFileName(corpus.Segments[2]), timeline.LastSegment);
        Assert.Equal(2, timeline.SegmentCount);
        Assert.True(timeline.StoredBytes > 0);
        var gap = Assert.Single(timeline.Gaps);
        Assert.Equal(Path.GetFileName(corpus.Segments[1]), gap.FirstMissing);
        Assert.Equal(1, gap.MissingSegments);

        await WalPushService.PushAsync(config, corpus.Segments[1], CancellationToken.None);
        Assert.True(Assert.Single(await WalArchiveCatalog.ListAsync(config, null, CancellationToken.None)).Continuous);
    }

    [Fact]
    public void Timelines_are_judged_separately_and_history_and_partial_files_are_counted_not_gapped()
    {
        var files = new List<(WalFileName, long)>
        {
            (WalFileName.Parse("000000010000000000000001"), 10),
            (WalFileName.Parse("000000010000000000000002"), 10),
            (WalFileName.Parse("000000010000000000000003.partial"), 10),
            (WalFileName.Parse("00000002.history"), 1),
            (WalFileName.Parse("000000020000000000000003"), 10),
            (WalFileName.Parse("000000020000000000000006"), 10),
            (WalFileName.Parse("000000020000000100000000"), 10),
        };

        var timelines = WalArchiveCatalog.Summarise("r", "s", files, WalSegmentSize.Default).ToList();

        Assert.True(timelines[0].Continuous);
        Assert.Equal(1, timelines[0].PartialCount);
        Assert.True(timelines[1].HasHistoryFile);
        Assert.Equal(2, timelines[1].Gaps.Count);
        Assert.Equal(("000000020000000000000004", "000000020000000000000005", 2L), (timelines[1].Gaps[0].FirstMissing, timelines[1].Gaps[0].LastMissing, timelines[1].Gaps[0].MissingSegments));
        Assert.Equal(("000000020000000000000007", "0000000200000000000000FF", 249L), (timelines[1].Gaps[1].FirstMissing, timelines[1].Gaps[1].LastMissing, timelines[1].Gaps[1].MissingSegments));
    }
}
