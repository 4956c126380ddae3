using PgDr.Backup.Catalog;

namespace PgDr.Backup.Create;

/// <summary>One data object to write: a big file alone, or a pack of small files one after another.</summary>
internal sealed record WorkItem(string ObjectId, bool Pack, IReadOnlyList<ScannedFile> Files)
{
    public long Bytes { get; } = Files.Sum(f => f.Size);
}

/// <summary>Which files a backup stores, which it only references, and which it must read to decide.</summary>
internal sealed class BackupPlan
{
    public required List<ScannedFile> Store { get; init; }

    /// <summary>Same size and timestamp as in the prior backup, but the timestamp cannot be trusted: compare checksums.</summary>
    public required List<(ScannedFile File, BackupFile Prior)> Verify { get; init; }

    /// <summary>Unchanged files: the prior backup's entry with this scan's metadata.</summary>
    public required List<BackupFile> References { get; init; }
}

/// <summary>
/// Decides, file by file, what an incremental or differential backup must store (pgBackRest's rules), and groups
/// what is stored into objects.
/// </summary>
internal static class BackupPlanner
{
    /// <summary>Files from this size on get an object of their own (a restore can fetch them alone and in parallel).</summary>
    public const long PackLimit = 1024 * 1024;

    /// <summary>Files from this size on are compressed on several threads (zstd's workers).</summary>
    public const long MultiThreadedMinimum = 32 * 1024 * 1024;

    /// <summary>Small files are packed up to this much plaintext per object: a fresh cluster's ~1000 files of 8 KiB make 2 PUTs, not 1000.</summary>
    public const long PackSize = 16 * 1024 * 1024;

    /// <summary>
    /// A file is referenced only when its size and modification time are those the prior backup recorded and that time
    /// is more than a second older than the moment the prior backup started reading files. A file written again within
    /// the same timestamp tick after the prior backup read it keeps its timestamp (file timestamps are coarse: a kernel
    /// tick, or a whole second on some file systems), so a recent timestamp proves nothing: such files, and with
    /// <paramref name="compareChecksums"/> all same-looking files, are compared by checksum instead.
    /// </summary>
    public static BackupPlan Plan(IReadOnlyList<ScannedFile> files, BackupManifest? prior, bool compareChecksums, DateTimeOffset scannedAt)
    {
        var plan = new BackupPlan { Store = [], Verify = [], References = [] };
        var priorFiles = prior?.Files.ToDictionary(f => f.Path, StringComparer.Ordinal);
        var trustedBefore = prior is null ? 0 : (prior.Info.CopyStartTime - TimeSpan.FromSeconds(1)).UtcTicks;
        foreach (var file in files)
        {
            if (priorFiles is null || !priorFiles.TryGetValue(file.RelativePath, out var before) || before.Size != file.Size || before.ModifiedTicks != file.ModifiedTicks)
            {
                plan.Store.Add(file);
            }
            else if (compareChecksums || file.ModifiedTicks >= trustedBefore || file.ModifiedTicks > scannedAt.UtcTicks)
            {
                plan.Verify.Add((file, before));
            }
            else
            {
                plan.References.Add(Reference(file, before));
            }
        }

        return plan;
    }

    /// <summary>The prior entry's content location with this scan's metadata (the mode may have changed).</summary>
    public static BackupFile Reference(ScannedFile file, BackupFile prior) => new()
    {
        Path = file.RelativePath,
        Size = prior.Size,
        ModifiedTicks = file.ModifiedTicks,
        Mode = file.Mode,
        Checksum = prior.Checksum,
        Crc32C = prior.Crc32C,
        Backup = prior.Backup,
        Object = prior.Object,
        Offset = prior.Offset,
    };

    /// <summary>
    /// Big files one object each, small ones packed in path order (neighbours compress well together), all numbered
    /// from <paramref name="firstNumber"/>; returned biggest first, so parallel streams end together.
    /// </summary>
    public static List<WorkItem> Group(IEnumerable<ScannedFile> files, int firstNumber)
    {
        var items = new List<(bool Pack, List<ScannedFile> Files)>();
        List<ScannedFile>? pack = null;
        long packBytes = 0;
        foreach (var file in files.OrderBy(f => f.RelativePath, StringComparer.Ordinal))
        {
            if (file.Size >= PackLimit)
            {
                items.Add((false, [file]));
                continue;
            }

            if (pack is null || packBytes + file.Size > PackSize)
            {
                pack = [];
                packBytes = 0;
                items.Add((true, pack));
            }

            pack.Add(file);
            packBytes += file.Size;
        }

        var number = firstNumber;
        return [.. items
            .Select(i => new WorkItem(BackupLayout.ObjectId(number++), i.Pack, i.Files))
            .OrderByDescending(i => i.Bytes)];
    }
}
