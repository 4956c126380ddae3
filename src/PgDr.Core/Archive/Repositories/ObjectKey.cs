using PgDr.Errors;

namespace PgDr.Archive.Repositories;

/// <summary>
/// The rules every repository applies to keys before any I/O, so that a key can never escape the repository
/// (no <c>..</c>, no absolute path, no backslash) and means the same on a filesystem and in an object store.
/// </summary>
/// <remarks>
/// A key is 1 to 1024 characters of ASCII letters, digits and <c>. _ - + = @ , ~</c>, split by single '/' into
/// segments; no segment is empty, <c>.</c> or <c>..</c>, and none starts with <see cref="ReservedSegmentPrefix"/>,
/// which the filesystem repository uses for its temporary files. A list prefix follows the same rules, except that
/// it may be empty and may end with '/'.
/// </remarks>
public static class ObjectKey
{
    /// <summary>The longest key accepted (S3's limit on a whole object name; the configured prefix counts too).</summary>
    public const int MaxLength = 1024;

    /// <summary>Names starting with this are PgDr's temporary files, never objects.</summary>
    public const string ReservedSegmentPrefix = ".pgdr-tmp.";

    /// <summary>Throws InvalidObjectKey unless <paramref name="key"/> is a valid object key.</summary>
    public static void Validate(string key) => Check(key, isPrefix: false);

    /// <summary>Throws InvalidObjectKey unless <paramref name="prefix"/> is a valid list prefix.</summary>
    public static void ValidatePrefix(string prefix) => Check(prefix, isPrefix: true);

    /// <summary>Joins a configured repository prefix (may be empty, with or without slashes) and a key.</summary>
    public static string Combine(string? repositoryPrefix, string key)
    {
        var trimmed = (repositoryPrefix ?? string.Empty).Trim('/');
        return trimmed.Length == 0 ? key : trimmed + "/" + key;
    }

    /// <summary>Whether a single path segment is one of PgDr's temporary names.</summary>
    public static bool IsReservedSegment(string segment) => segment.StartsWith(ReservedSegmentPrefix, StringComparison.Ordinal);

    private static void Check(string? key, bool isPrefix)
    {
        var what = isPrefix ? "list prefix" : "archive key";
        if (key is null)
        {
            throw Invalid($"The {what} is missing.", string.Empty);
        }

        if (key.Length == 0)
        {
            if (isPrefix)
            {
                return;
            }

            throw Invalid("The archive key is empty.", key);
        }

        if (key.Length > MaxLength)
        {
            throw Invalid($"The {what} is {key.Length} characters long; at most {MaxLength} are allowed.", key);
        }

        if (key[0] == '/')
        {
            throw Invalid($"The {what} '{key}' starts with '/'; keys are relative to the repository.", key);
        }

        foreach (var c in key)
        {
            if (c == '\\')
            {
                throw Invalid($"The {what} '{key}' contains a backslash; keys use '/' as separator.", key);
            }

            if (!IsAllowed(c))
            {
                throw Invalid($"The {what} '{Printable(key)}' contains the character {Describe(c)}; keys allow ASCII letters, digits, '/' and . _ - + = @ , ~ only.", key);
            }
        }

        var segments = key.Split('/');
        for (var i = 0; i < segments.Length; i++)
        {
            var segment = segments[i];
            var last = i == segments.Length - 1;
            if (segment.Length == 0)
            {
                if (isPrefix && last)
                {
                    continue; // "main/wal/" lists a folder
                }

                throw Invalid($"The {what} '{key}' has an empty path segment ('//' or a trailing '/').", key);
            }

            if (segment is "." or "..")
            {
                throw Invalid($"The {what} '{key}' contains a '{segment}' segment; keys cannot leave or alias their place in the repository.", key);
            }

            // A prefix may stop in the middle of a segment, so only a complete segment can be a reserved name.
            if (IsReservedSegment(segment) && (!isPrefix || !last))
            {
                throw Invalid($"The {what} '{key}' uses the reserved name prefix '{ReservedSegmentPrefix}' (PgDr's temporary files).", key);
            }
        }
    }

    private static bool IsAllowed(char c) =>
        c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '/' or '.' or '_' or '-' or '+' or '=' or '@' or ',' or '~';

    private static string Describe(char c) => c is >= ' ' and < (char)0x7f ? $"'{c}'" : $"U+{(int)c:X4}";

    private static string Printable(string key) => new(key.Select(c => c is >= ' ' and < (char)0x7f ? c : '?').ToArray());

    private static PgDrArgumentException Invalid(string message, string key) => new(ErrorIds.InvalidObjectKey, message, key);
}
