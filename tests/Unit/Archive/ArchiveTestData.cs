using System.Buffers.Binary;

namespace PgDr.Tests.Archive;

/// <summary>Inputs for archive tests: incompressible noise, and data shaped like WAL (page headers, repeated records, zero tail).</summary>
internal static class ArchiveTestData
{
    public static byte[] Random(int length, int seed = 1)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>8 KiB pages with a WAL-like page header, records that repeat with small changes, and an all-zero tail.</summary>
    public static byte[] WalLike(int length, int seed = 7)
    {
        var random = new Random(seed);
        var bytes = new byte[length];
        var filled = length * 3 / 4;
        for (var page = 0; page * 8192 < filled; page++)
        {
            var at = page * 8192;
            var span = bytes.AsSpan(at, Math.Min(8192, filled - at));
            if (span.Length >= 24)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(span, 0xD110);
                BinaryPrimitives.WriteUInt32LittleEndian(span[4..], 1);
                BinaryPrimitives.WriteUInt64LittleEndian(span[8..], (ulong)(0x1000000 + at));
            }

            for (var offset = 24; offset + 64 <= span.Length; offset += 64)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(span[offset..], 64);
                BinaryPrimitives.WriteUInt32LittleEndian(span[(offset + 4)..], (uint)(1000 + (offset / 64)));
                "INSERT INTO accounts VALUES"u8.CopyTo(span[(offset + 8)..]);
                span[offset + 40] = (byte)random.Next(256);
            }
        }

        return bytes;
    }

    /// <summary>A readable stream of <paramref name="length"/> deterministic bytes that never exists in memory as a whole.</summary>
    public sealed class GeneratedStream(long length, int seed = 3) : Stream
    {
        private readonly Random _random = new(seed);
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var count = (int)Math.Min(buffer.Length, length - _position);
            var span = buffer[..count];

            // Half noise, half runs: compressors have real work to do.
            _random.NextBytes(span[..(count / 2)]);
            span[(count / 2)..].Fill((byte)(_position >> 16));
            _position += count;
            return count;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>A write-only sink that keeps only a running XXH3-128 (PgDr's default content checksum) and the byte count.</summary>
    public sealed class HashingSink : Stream
    {
        private readonly System.IO.Hashing.XxHash128 _hash = new();

        public long Count { get; private set; }

        public string XxHash128() => Convert.ToHexString(_hash.GetCurrentHash()).ToLowerInvariant();

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => Count;

        public override long Position { get => Count; set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            _hash.Append(buffer);
            Count += buffer.Length;
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
