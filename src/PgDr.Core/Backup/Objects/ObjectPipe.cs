using System.Buffers;
using System.Threading.Channels;

namespace PgDr.Backup.Objects;

/// <summary>
/// A bounded in-memory pipe from an encoder (writing) to a repository upload (reading), so an object streams from the
/// data directory to the repository without a local copy and in constant memory: at most <c>capacity</c> writes are
/// held, each copied into a pooled buffer. Either side can fail the other: <see cref="Fail"/> from the reader makes
/// the writer's next write throw, and <see cref="PipeWriter.Complete"/> with an error ends the reader with it.
/// </summary>
internal sealed class ObjectPipe
{
    private readonly Channel<Segment> _channel;

    public ObjectPipe(int capacity = 4)
    {
        _channel = Channel.CreateBounded<Segment>(new BoundedChannelOptions(capacity) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
        Writer = new PipeWriter(_channel.Writer);
        Reader = new PipeReader(_channel.Reader);
    }

    public PipeWriter Writer { get; }

    public PipeReader Reader { get; }

    /// <summary>Called by the reading side when it gave up: the writer's next (or pending) write throws <paramref name="error"/>.</summary>
    public void Fail(Exception error)
    {
        if (_channel.Writer.TryComplete(error))
        {
            // Release what the reader will never take.
            while (_channel.Reader.TryRead(out var segment))
            {
                segment.Return();
            }
        }
    }

    internal readonly record struct Segment(byte[] Buffer, int Length)
    {
        public void Return() => ArrayPool<byte>.Shared.Return(Buffer);
    }

    /// <summary>The encoder's end: write-only, asynchronous writes only (the encoders used here write asynchronously).</summary>
    public sealed class PipeWriter(ChannelWriter<Segment> channel) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (buffer.IsEmpty)
            {
                return;
            }

            var copy = ArrayPool<byte>.Shared.Rent(buffer.Length);
            buffer.CopyTo(copy);
            try
            {
                await channel.WriteAsync(new Segment(copy, buffer.Length), cancellationToken).ConfigureAwait(false);
            }
            catch (ChannelClosedException ex)
            {
                ArrayPool<byte>.Shared.Return(copy);
                throw ex.InnerException is { } reason ? new IOException("The upload this object streams to has failed.", reason) : new IOException("The upload this object streams to has ended.", ex);
            }
            catch
            {
                ArrayPool<byte>.Shared.Return(copy);
                throw;
            }
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("The object pipe is written asynchronously.");

        /// <summary>Ends the object: the reader sees its end, or <paramref name="error"/> when the encoding failed.</summary>
        public void Complete(Exception? error = null) => channel.TryComplete(error);

        public override void Flush()
        {
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }

    /// <summary>The upload's end: read-only, to the end of the object.</summary>
    public sealed class PipeReader(ChannelReader<Segment> channel) : Stream
    {
        private Segment _current;
        private int _consumed;
        private bool _holding;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (buffer.IsEmpty)
            {
                return 0;
            }

            var copied = 0;
            while (copied < buffer.Length)
            {
                if (!_holding)
                {
                    // Wait only while nothing has been copied yet: a partial read returns at once.
                    if (!channel.TryRead(out _current))
                    {
                        if (copied > 0)
                        {
                            break;
                        }

                        try
                        {
                            if (!await channel.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
                            {
                                return 0;
                            }
                        }
                        catch (ChannelClosedException ex) when (ex.InnerException is not null)
                        {
                            throw new IOException("Encoding the object failed.", ex.InnerException);
                        }

                        continue;
                    }

                    _holding = true;
                    _consumed = 0;
                }

                var take = Math.Min(buffer.Length - copied, _current.Length - _consumed);
                _current.Buffer.AsSpan(_consumed, take).CopyTo(buffer.Span[copied..]);
                copied += take;
                _consumed += take;
                if (_consumed == _current.Length)
                {
                    _current.Return();
                    _holding = false;
                }
            }

            return copied;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        protected override void Dispose(bool disposing)
        {
            if (_holding)
            {
                _current.Return();
                _holding = false;
            }

            base.Dispose(disposing);
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
