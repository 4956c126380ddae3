using System.Text.RegularExpressions;
using PgDr.Errors;

namespace PgDr.Replication;

/// <summary>
/// PostgreSQL's rule for slot names: lower-case letters, digits and underscores, at most 63 bytes
/// (NAMEDATALEN - 1). Checked before any SQL so a bad name never reaches the server.
/// </summary>
public static partial class ReplicationSlotName
{
    public const int MaxLength = 63;

    public static bool IsValid(string? name) => name is { Length: > 0 and <= MaxLength } && ValidName().IsMatch(name);

    public static string Validate(string? name)
    {
        if (!IsValid(name))
        {
            throw new PgDrArgumentException(
                ErrorIds.InvalidSlotName,
                $"'{name}' is not a valid replication slot name: use 1 to {MaxLength} lower-case letters, digits and underscores.",
                name);
        }

        return name!;
    }

    /// <summary>A slot name made from a node name (region-b -> region_b), for standbys created by PgDr.</summary>
    public static string FromNodeName(string nodeName)
    {
        var candidate = InvalidChars().Replace(nodeName.ToLowerInvariant(), "_");
        return Validate(candidate.Length > MaxLength ? candidate[..MaxLength] : candidate);
    }

    [GeneratedRegex("^[a-z0-9_]+$")]
    private static partial Regex ValidName();

    [GeneratedRegex("[^a-z0-9_]")]
    private static partial Regex InvalidChars();
}
