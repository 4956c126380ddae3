using System.Security.Cryptography;

namespace PgDr.Tests.Archive.Repositories;

/// <summary>Content for repository tests: deterministic bytes, and streams that are not seekable, fail or cancel midway.</summary>
internal static class TestContent
{
    public static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static string Sha256(byte[] bytes) => Convert.ToHexString(SHA256.HashData(bytes));

    public static async Task<string> Sha256Async(Stream stream)
    {
        await using (stream)
        {
            return Convert.ToHexString(await SHA256.HashDataAsync(stream));
        }
    }

    /// <summary>Reads <paramref name="bytes"/> without seeking or telling a length, the way a compression pipeline would.</summary>
    public static Stream Unseekable(byte[] bytes, long? failAfter = null, Action? atFailurePoint = null) =>
        new OneWayStream(bytes, failAfter, atFailurePoint);

    private sealed class OneWayStream(byte[] bytes, long? failAfter, Action? atFailurePoint) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (failAfter is long limit && _position >= limit)
            {
                if (atFailurePoint is not null)
                {
                    atFailurePoint();
                    throw new OperationCanceledException("cancelled by the test at the failure point");
                }

                throw new IOException("the content source failed halfway (test)");
            }

            var end = failAfter is long stop ? (int)Math.Min(bytes.Length, stop) : bytes.Length;

            // Small reads, as a pipeline gives: at most 64 KiB at a time.
            var n = Math.Min(Math.Min(buffer.Length, end - _position), 64 * 1024);
            bytes.AsSpan(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return ValueTask.FromResult(Read(buffer.Span));
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
