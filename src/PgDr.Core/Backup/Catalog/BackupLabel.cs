using System.Globalization;
using PgDr.Errors;

namespace PgDr.Backup.Catalog;

/// <summary>
/// A backup's name in the repository: the UTC time it started and its type, <c>20261122-101530F</c> (F full,
/// D differential, I incremental). Labels sort in time order, and only digits, '-' and one letter ever become part
/// of a repository key.
/// </summary>
public static class BackupLabel
{
    private const string TimeFormat = "yyyyMMdd-HHmmss";

    public static string Create(DateTimeOffset startedAt, BackupType type) =>
        startedAt.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture) + Letter(type);

    public static bool IsValid(string? label) =>
        label is { Length: 16 }
        && label[8] == '-'
        && label.Take(15).Where((_, i) => i != 8).All(char.IsAsciiDigit)
        && label[15] is 'F' or 'D' or 'I'
        && DateTime.TryParseExact(label[..15], TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.None, out _);

    /// <summary>Throws InvalidBackupRequest unless <paramref name="label"/> is a backup label.</summary>
    public static string Validate(string? label) =>
        IsValid(label)
            ? label!
            : throw new PgDrArgumentException(ErrorIds.InvalidBackupRequest, $"'{label}' is not a backup label (such as 20261122-101530F).", label);

    public static BackupType TypeOf(string label) => label[^1] switch
    {
        'F' => BackupType.Full,
        'D' => BackupType.Differential,
        _ => BackupType.Incremental,
    };

    private static char Letter(BackupType type) => type switch
    {
        BackupType.Full => 'F',
        BackupType.Differential => 'D',
        _ => 'I',
    };
}
