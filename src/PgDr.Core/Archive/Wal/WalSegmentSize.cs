using PgDr.Errors;

namespace PgDr.Archive.Wal;

/// <summary>
/// The sizes initdb accepts for <c>--wal-segsize</c>: a power of two from 1 MiB to 1 GiB. The size decides how a
/// segment number splits into the log and segment parts of a file name, so every computation on names takes it.
/// </summary>
public static class WalSegmentSize
{
    public const long Default = 16L * 1024 * 1024;
    public const long Minimum = 1L * 1024 * 1024;
    public const long Maximum = 1L * 1024 * 1024 * 1024;

    public static bool IsValid(long bytes) => bytes is >= Minimum and <= Maximum && (bytes & (bytes - 1)) == 0;

    public static long Validate(long bytes)
    {
        if (!IsValid(bytes))
        {
            throw new PgDrArgumentException(
                ErrorIds.InvalidWalSegmentSize,
                $"{bytes} bytes is not a WAL segment size: use a power of two from 1 MiB to 1 GiB.",
                bytes);
        }

        return bytes;
    }

    /// <summary>Segments per 4 GiB "log" (XLogSegmentsPerXLogId): the radix of the last 8 hex digits of a file name.</summary>
    public static uint SegmentsPerLogId(long bytes) => (uint)(0x1_0000_0000L / Validate(bytes));
}
