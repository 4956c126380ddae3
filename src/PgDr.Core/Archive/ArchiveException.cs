using PgDr.Errors;

namespace PgDr.Archive;

/// <summary>
/// A failure of the archive's data layer: a file that is not what it claims to be, an archived object that
/// fails verification, a key that does not fit, a codec that is not installed.
/// </summary>
public sealed class PgDrArchiveException(string errorId, PgDrErrorCategory category, string message, object? target = null, Exception? innerException = null)
    : PgDrException(errorId, category, message, target, innerException)
{
    internal static PgDrArchiveException Corrupt(string message, object? target = null, Exception? innerException = null) =>
        new(ErrorIds.ArchiveObjectCorrupt, PgDrErrorCategory.InvalidData, message, target, innerException);
}
