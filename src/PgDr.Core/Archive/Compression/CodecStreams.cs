namespace PgDr.Archive.Compression;

/// <summary>
/// Base of the write-only compressors over native libraries: everything a Stream needs except the codec. The
/// end of the compressed stream is written when the stream is disposed (as GZipStream does), unless a write
/// failed, in which case the output is garbage anyway and only the native state is released.
/// </summary>
internal abstract class CompressorStream(Stream destination, bool leaveOpen) : Stream
{
    private bool _finished;
    private bool _faulted;
    private bool _disposed;

    protected Stream Destination { get; } = destination;

    /// <summary>Where the stable input block begins (0 before the first write); see <see cref="ContinueStableInput"/>.</summary>
    protected nint StableStart { get; private set; }

    /// <summary>How much of the stable input block has been written.</summary>
    protected nuint StableLength { get; private set; }

    public sealed override bool CanRead => false;

    public sealed override bool CanSeek => false;

    public sealed override bool CanWrite => !_disposed;

    public sealed override long Length => throw new NotSupportedException();

    public sealed override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public sealed override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public sealed override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public sealed override void SetLength(long value) => throw new NotSupportedException();

    // Flush only pushes what the codec already produced; ending a frame early would cost ratio for no reader's benefit.
    public sealed override void Flush() => Destination.Flush();

    public sealed override Task FlushAsync(CancellationToken cancellationToken) => Destination.FlushAsync(cancellationToken);

    public sealed override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public sealed override void Write(ReadOnlySpan<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        try
        {
            Compress(buffer);
        }
        catch
        {
            _faulted = true;
            throw;
        }
    }

    public sealed override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public sealed override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        try
        {
            await CompressAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _faulted = true;
            throw;
        }
    }

    /// <summary>
    /// For a codec that reads a stable input in place (see
    /// <see cref="CompressionCodec.CreateCompressor(Stream, int, bool, bool)"/>): records a write, which must continue
    /// where the last one ended. The native libraries would otherwise read their history from memory that moved.
    /// </summary>
    protected unsafe void ContinueStableInput(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }

        fixed (byte* start = input)
        {
            if (StableStart == 0)
            {
                StableStart = (nint)start;
            }
            else if ((nint)start != StableStart + (nint)StableLength)
            {
                throw new InvalidOperationException("A compressor with stable input must be written one contiguous block, each write continuing where the last ended.");
            }
        }

        StableLength += (nuint)input.Length;
    }

    /// <summary>What WriteAsync of a stable input throws: Memory&lt;T&gt; can be pinned and moved between calls.</summary>
    protected static NotSupportedException StableInputWrittenAsynchronously() =>
        new("A compressor with stable input is written to synchronously.");

    /// <summary>Compresses all of <paramref name="input"/>, writing whatever output the codec produces.</summary>
    protected abstract void Compress(ReadOnlySpan<byte> input);

    protected abstract ValueTask CompressAsync(ReadOnlyMemory<byte> input, CancellationToken cancellationToken);

    /// <summary>Writes the end of the compressed stream (frame epilogue, checksum).</summary>
    protected abstract void Finish();

    protected abstract ValueTask FinishAsync();

    /// <summary>Frees the native context.</summary>
    protected abstract void ReleaseCodec();

    protected override void Dispose(bool disposing)
    {
        if (_disposed)
        {
            return;
        }

        try
        {
            if (disposing && !_finished && !_faulted)
            {
                _finished = true;
                Finish();
            }
        }
        finally
        {
            _disposed = true;
            ReleaseCodec();
            if (disposing && !leaveOpen)
            {
                Destination.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    public override async ValueTask DisposeAsync()
    {
        if (!_disposed && !_finished && !_faulted)
        {
            _finished = true;
            try
            {
                await FinishAsync().ConfigureAwait(false);
            }
            catch
            {
                _faulted = true;
                throw;
            }
            finally
            {
                // Dispose(true) below releases the codec and the destination; the frame end is already written.
                await base.DisposeAsync().ConfigureAwait(false);
            }
        }
        else
        {
            await base.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>
/// Base of the read-only decompressors over native libraries. Input is read in bounded slices into one buffer;
/// the codec writes straight into the caller's buffer. A stream that ends inside a frame is an error, never a
/// short but "successful" read.
/// </summary>
internal abstract class DecompressorStream(Stream source, bool leaveOpen, int inputBufferSize) : Stream
{
    private readonly byte[] _input = new byte[inputBufferSize];
    private int _inputStart;
    private int _inputEnd;
    private bool _sourceEnded;
    private bool _disposed;

    public sealed override bool CanRead => !_disposed;

    public sealed override bool CanSeek => false;

    public sealed override bool CanWrite => false;

    public sealed override long Length => throw new NotSupportedException();

    public sealed override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public sealed override void Flush()
    {
    }

    public sealed override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public sealed override void SetLength(long value) => throw new NotSupportedException();

    public sealed override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public sealed override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public sealed override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (buffer.IsEmpty)
        {
            return 0;
        }

        while (true)
        {
            if (_inputStart == _inputEnd && !_sourceEnded)
            {
                _inputStart = 0;
                _inputEnd = source.Read(_input);
                _sourceEnded = _inputEnd == 0;
            }

            var produced = Step(buffer);
            if (produced > 0)
            {
                return produced;
            }

            if (_sourceEnded && _inputStart == _inputEnd)
            {
                return EndOfInput();
            }
        }
    }

    public sealed override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public sealed override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (buffer.IsEmpty)
        {
            return 0;
        }

        while (true)
        {
            if (_inputStart == _inputEnd && !_sourceEnded)
            {
                _inputStart = 0;
                _inputEnd = await source.ReadAsync(_input, cancellationToken).ConfigureAwait(false);
                _sourceEnded = _inputEnd == 0;
            }

            var produced = Step(buffer.Span);
            if (produced > 0)
            {
                return produced;
            }

            if (_sourceEnded && _inputStart == _inputEnd)
            {
                return EndOfInput();
            }
        }
    }

    /// <summary>Decodes from the buffered input into <paramref name="output"/>; returns bytes written there.</summary>
    private int Step(Span<byte> output)
    {
        var (consumed, produced) = Decode(_input.AsSpan(_inputStart, _inputEnd - _inputStart), output);
        _inputStart += consumed;
        return produced;
    }

    private int EndOfInput() =>
        InsideFrame ? throw new InvalidDataException($"The {CodecName} stream ends inside a frame (truncated).") : 0;

    protected abstract string CodecName { get; }

    /// <summary>True while a frame has started and not yet been completely decoded.</summary>
    protected abstract bool InsideFrame { get; }

    /// <summary>One call into the codec: consumes some input, produces some output. Throws InvalidDataException on bad data.</summary>
    protected abstract (int Consumed, int Produced) Decode(ReadOnlySpan<byte> input, Span<byte> output);

    protected abstract void ReleaseCodec();

    protected override void Dispose(bool disposing)
    {
        if (!_disposed)
        {
            _disposed = true;
            ReleaseCodec();
            if (disposing && !leaveOpen)
            {
                source.Dispose();
            }
        }

        base.Dispose(disposing);
    }
}

/// <summary>
/// A view of another stream that does not own it: <c>none</c> compression, and leaveOpen for codecs that
/// have no such option.
/// </summary>
internal sealed class NonOwningStream(Stream inner, bool leaveOpen) : Stream
{
    public override bool CanRead => inner.CanRead;

    public override bool CanSeek => false;

    public override bool CanWrite => inner.CanWrite;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

    public override int Read(Span<byte> buffer) => inner.Read(buffer);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

    public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

    public override void Write(ReadOnlySpan<byte> buffer) => inner.Write(buffer);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        inner.WriteAsync(buffer, offset, count, cancellationToken);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && !leaveOpen)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (!leaveOpen)
        {
            leaveOpen = true;
            await inner.DisposeAsync().ConfigureAwait(false);
        }

        await base.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>
/// A decompressor whose codec reports damaged or truncated input with its own exception types: those become
/// <see cref="InvalidDataException"/>, which is what every decompressor here throws and callers catch.
/// </summary>
internal sealed class DecoderErrorStream(Stream inner, string codec, Func<Exception, bool> isDamage) : Stream
{
    public override bool CanRead => inner.CanRead;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        try
        {
            return inner.Read(buffer);
        }
        catch (Exception ex) when (ex is not InvalidDataException && isDamage(ex))
        {
            throw new InvalidDataException($"{codec} decompression failed: {ex.Message}", ex);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            return await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not InvalidDataException && isDamage(ex))
        {
            throw new InvalidDataException($"{codec} decompression failed: {ex.Message}", ex);
        }
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
