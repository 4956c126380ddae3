namespace PgDr.Hosting;

/// <summary>Free and total bytes of the file system mounted at <see cref="Mount"/>.</summary>
public sealed record DiskUsage(long FreeBytes, long TotalBytes, string Mount)
{
    /// <summary>The free share, 0 to 1 (0 for a file system that reports no size).</summary>
    public double FreeShare => TotalBytes == 0 ? 0 : (double)FreeBytes / TotalBytes;
}

/// <summary>
/// The disks a node writes to, measured on its own host: what `pgdr check` judges for a node on this host, and what
/// the node's agent reports (GET /status) for a check run elsewhere.
/// </summary>
public static class DiskSpace
{
    /// <summary>
    /// The data directory and pg_wal, each with the path measured: pg_wal through its link, since a link to a disk of its
    /// own is the usual layout and the disk that fills first.
    /// </summary>
    public static IReadOnlyList<(string Label, string Path)> NodePaths(string dataDirectory)
    {
        ArgumentNullException.ThrowIfNull(dataDirectory);
        return [("data directory", dataDirectory), ("pg_wal", ResolveLink(System.IO.Path.Combine(dataDirectory, "pg_wal")))];
    }

    /// <summary>The file system that holds <paramref name="path"/> (the longest mount point above it); null when it cannot be measured.</summary>
    /// <remarks>
    /// Only that one mount is asked whether it is ready: the agent measures every round, and asking each mount of the host
    /// would stall a round (and the lease renewal in it) on any hung network mount, however unrelated to the node.
    /// </remarks>
    public static DiskUsage? Measure(string path)
    {
        try
        {
            var full = System.IO.Path.GetFullPath(path);
            var drive = DriveInfo.GetDrives()
                .Where(d => IsUnder(full, d.Name))
                .MaxBy(d => d.Name.Length);
            return drive is not { IsReady: true } ? null : new DiskUsage(drive.AvailableFreeSpace, drive.TotalSize, drive.RootDirectory.FullName);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static bool IsUnder(string path, string root) =>
        root == "/" || path == root.TrimEnd('/') || path.StartsWith(root.TrimEnd('/') + "/", StringComparison.Ordinal);

    private static string ResolveLink(string path)
    {
        try
        {
            return Directory.ResolveLinkTarget(path, returnFinalTarget: true)?.FullName ?? path;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return path;
        }
    }
}
