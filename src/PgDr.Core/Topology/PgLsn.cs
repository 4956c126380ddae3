using System.Globalization;
using NpgsqlTypes;

namespace PgDr.Topology;

/// <summary>
/// A WAL position (pg_lsn), shown as PostgreSQL shows it (<c>16/B374D848</c>). Subtracting two gives bytes.
/// </summary>
[System.Text.Json.Serialization.JsonConverter(typeof(PgLsnJsonConverter))]
public readonly record struct PgLsn(ulong Value) : IComparable<PgLsn>
{
    public static PgLsn Parse(string text)
    {
        var parts = text.Split('/');
        if (parts.Length != 2
            || !uint.TryParse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var hi)
            || !uint.TryParse(parts[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var lo))
        {
            throw new FormatException($"'{text}' is not an LSN (expected X/X in hex).");
        }

        return new PgLsn(((ulong)hi << 32) | lo);
    }

    public static PgLsn From(NpgsqlLogSequenceNumber lsn) => new((ulong)lsn);

    public static PgLsn? From(NpgsqlLogSequenceNumber? lsn) => lsn is { } v ? From(v) : null;

    /// <summary>Bytes from <paramref name="older"/> to this position; 0 when <paramref name="older"/> is ahead.</summary>
    public long BytesSince(PgLsn older) => Value >= older.Value ? (long)(Value - older.Value) : 0;

    public int CompareTo(PgLsn other) => Value.CompareTo(other.Value);

    public static bool operator <(PgLsn a, PgLsn b) => a.Value < b.Value;

    public static bool operator >(PgLsn a, PgLsn b) => a.Value > b.Value;

    public static bool operator <=(PgLsn a, PgLsn b) => a.Value <= b.Value;

    public static bool operator >=(PgLsn a, PgLsn b) => a.Value >= b.Value;

    public override string ToString() => $"{Value >> 32:X}/{Value & 0xFFFFFFFF:X}";
}
