using PgDr.Archive.Configuration;
using PgDr.Archive.Repositories;
using PgDr.Archive.Stanza;
using PgDr.Archive.Wal;

namespace PgDr.Archive.Transfer;

/// <summary>A run of missing segments inside a timeline: recovery through it is impossible.</summary>
public sealed record WalGap(string FirstMissing, string LastMissing, long MissingSegments);

/// <summary>What one repository holds of one timeline (Get-PgWalArchive, pgdr wal list).</summary>
public sealed class PgWalArchiveTimeline
{
    public required string Repository { get; init; }

    public required string Stanza { get; init; }

    public uint Timeline { get; init; }

    public string? FirstSegment { get; init; }

    public string? LastSegment { get; init; }

    public long SegmentCount { get; init; }

    /// <summary>Bytes stored (compressed and encrypted) for this timeline's segments.</summary>
    public long StoredBytes { get; init; }

    public int PartialCount { get; init; }

    public bool HasHistoryFile { get; init; }

    /// <summary>Holes between the first and last segment; empty when the timeline is continuous.</summary>
    public required IReadOnlyList<WalGap> Gaps { get; init; }

    public bool Continuous => Gaps.Count == 0;

    public override string ToString() => $"{Repository} TL{Timeline}: {FirstSegment}..{LastSegment} ({SegmentCount}, {(Continuous ? "continuous" : $"{Gaps.Count} gap(s)")})";
}

/// <summary>Lists what repositories hold, per timeline, and finds the gaps that would break recovery.</summary>
public static class WalArchiveCatalog
{
    public static async Task<IReadOnlyList<PgWalArchiveTimeline>> ListAsync(
        PgDrConfig config,
        string? repositoryName,
        CancellationToken cancellationToken,
        Func<RepositoryConfig, IArchiveRepository>? repositoryFactory = null)
    {
        var factory = repositoryFactory ?? (c => ArchiveRepositoryFactory.Create(c));
        var result = new List<PgWalArchiveTimeline>();
        foreach (var entry in SelectRepositories(config, repositoryName))
        {
            var repository = factory(entry.ToRepositoryConfig());
            await using (repository.ConfigureAwait(false))
            {
                var identity = await RepositoryIdentity.ReadAsync(repository, config.Stanza, cancellationToken).ConfigureAwait(false);
                var segmentSize = identity?.WalSegmentSize is > 0 and var size ? size : WalSegmentSize.Default;
                var files = new List<(WalFileName Name, long Size)>();
                await foreach (var (name, info) in ListWalFilesAsync(repository, config.Stanza, cancellationToken).ConfigureAwait(false))
                {
                    files.Add((name, info.Size));
                }

                result.AddRange(Summarise(entry.Name, config.Stanza, files, segmentSize));
            }
        }

        return result;
    }

    /// <summary>The configured repositories, or only the one named; RepositoryNotFound when no repository has that name.</summary>
    internal static IReadOnlyList<RepositoryEntry> SelectRepositories(PgDrConfig config, string? repositoryName)
    {
        var entries = config.Repositories.Where(r => repositoryName is null || r.Name == repositoryName).ToList();
        if (entries.Count == 0)
        {
            throw new Errors.PgDrNotFoundException(Errors.ErrorIds.RepositoryNotFound, $"The configuration {config.SourcePath} has no repository '{repositoryName}'.", repositoryName);
        }

        return entries;
    }

    /// <summary>The WAL files (segments, partial, backup and history files) a repository holds for the stanza, in key order.</summary>
    internal static async IAsyncEnumerable<(WalFileName Name, ArchiveObjectInfo Info)> ListWalFilesAsync(
        IArchiveRepository repository,
        string stanza,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var info in repository.ListAsync(ArchiveLayout.WalPrefix(stanza), cancellationToken).ConfigureAwait(false))
        {
            // Keys that end in no WAL file name are not WAL (a stray upload, a tool's temporary file): not ours to judge.
            if (ArchiveLayout.NameOf(info.Key) is { } name)
            {
                yield return (name, info);
            }
        }
    }

    /// <summary>Groups files by timeline and finds holes; kept apart from I/O so it is tested on its own.</summary>
    public static IEnumerable<PgWalArchiveTimeline> Summarise(string repository, string stanza, IReadOnlyList<(WalFileName Name, long Size)> files, long segmentSize)
    {
        var timelines = files.Select(f => f.Name.Timeline).Distinct().Order();
        foreach (var timeline in timelines)
        {
            var ofTimeline = files.Where(f => f.Name.Timeline == timeline).ToList();
            var segments = ofTimeline.Where(f => f.Name.Kind == WalFileKind.Segment).OrderBy(f => f.Name.SegmentNumber(segmentSize)).ToList();
            var gaps = new List<WalGap>();
            for (var i = 1; i < segments.Count; i++)
            {
                var previous = segments[i - 1].Name.SegmentNumber(segmentSize);
                var current = segments[i].Name.SegmentNumber(segmentSize);
                if (current > previous + 1)
                {
                    gaps.Add(new WalGap(
                        WalFileName.ForSegment(timeline, previous + 1, segmentSize).Name,
                        WalFileName.ForSegment(timeline, current - 1, segmentSize).Name,
                        (long)(current - previous - 1)));
                }
            }

            yield return new PgWalArchiveTimeline
            {
                Repository = repository,
                Stanza = stanza,
                Timeline = timeline,
                FirstSegment = segments.FirstOrDefault().Name?.Name,
                LastSegment = segments.LastOrDefault().Name?.Name,
                SegmentCount = segments.Count,
                StoredBytes = segments.Sum(s => s.Size),
                PartialCount = ofTimeline.Count(f => f.Name.Kind == WalFileKind.Partial),
                HasHistoryFile = ofTimeline.Any(f => f.Name.Kind == WalFileKind.TimelineHistory),
                Gaps = gaps,
            };
        }
    }
}
