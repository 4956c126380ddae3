using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace PgDr.Backup.Objects;

/// <summary>
/// CRC-32C (Castagnoli) as PostgreSQL computes it for backup_manifest: initial value and final XOR 0xFFFFFFFF, written
/// as the hex of its little-endian bytes. Kept per file at backup time so pg_verifybackup can check a restore
/// against checksums taken from the original files. Uses the CPU's crc32 instruction where there is one
/// (BitOperations.Crc32C): ~8 bytes per 3 cycles, a few percent of what compressing the same bytes costs.
/// </summary>
internal struct Crc32C
{
    private uint _state;

    public static Crc32C Start() => new() { _state = 0xFFFFFFFF };

    public void Append(ReadOnlySpan<byte> data)
    {
        var crc = _state;
        var words = MemoryMarshal.Cast<byte, ulong>(data);
        foreach (var word in words)
        {
            crc = BitOperations.Crc32C(crc, BitConverter.IsLittleEndian ? word : BinaryPrimitives.ReverseEndianness(word));
        }

        foreach (var b in data[(words.Length * sizeof(ulong))..])
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        _state = crc;
    }

    /// <summary>The checksum as backup_manifest writes it: the little-endian bytes of the final value, in hex.</summary>
    public readonly string Format()
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, _state ^ 0xFFFFFFFF);
        return Convert.ToHexString(bytes).ToLowerInvariant();
    }

    public static string Of(ReadOnlySpan<byte> data)
    {
        var crc = Start();
        crc.Append(data);
        return crc.Format();
    }
}
