namespace PgDr.Archive.Compression;

/// <summary>
/// Streaming zstd compression (ZSTD_compressStream2) into <c>Destination</c>. Memory is the context (bounded
/// by the level's window) plus one output buffer of ZSTD_CStreamOutSize, whatever the input size. Frames carry
/// zstd's content checksum, so <c>zstd -d</c> and <c>zstd -t</c> verify them too.
/// With a stable input (see <see cref="CompressionCodec.CreateCompressor(Stream, int, bool, bool)"/>) zstd finds its
/// matches in the caller's memory (ZSTD_c_stableInBuffer) instead of copying every byte into a window buffer of its own.
/// </summary>
internal sealed class ZstdCompressionStream : CompressorStream
{
    private readonly ZstdLibrary _zstd;
    private readonly ZstdCompressionContext _context;
    private readonly byte[] _output;
    private readonly bool _stableInput;

    // Stable input: how much of the caller's block zstd took.
    private nuint _stableConsumed;

    // A multi-threaded frame is cut into jobs compressed side by side; 4 MiB jobs keep the memory of a few of them small
    // while still giving each worker long runs to find matches in.
    private const int JobSize = 4 * 1024 * 1024;

    public ZstdCompressionStream(Stream destination, int level, bool leaveOpen, bool stableInput = false, int threads = 1)
        : base(destination, leaveOpen)
    {
        _zstd = ZstdLibrary.Instance;
        _context = ZstdCompressionContext.Create(_zstd);
        _zstd.SetParameter(_context, ZstdLibrary.CompressionLevelParameter, level);
        _zstd.SetParameter(_context, ZstdLibrary.ChecksumFlagParameter, 1);
        _stableInput = stableInput && _zstd.SupportsStableInput && _zstd.TrySetParameter(_context, ZstdLibrary.StableInBufferParameter, 1);

        // Worker threads need a libzstd built with them (Debian's is); without, the frame is compressed on this thread.
        if (threads > 1 && !_stableInput && _zstd.TrySetParameter(_context, ZstdLibrary.WorkerCountParameter, threads))
        {
            _zstd.TrySetParameter(_context, ZstdLibrary.JobSizeParameter, JobSize);
        }
        _output = new byte[_zstd.CompressionOutputSize];
    }

    protected override void Compress(ReadOnlySpan<byte> input)
    {
        if (_stableInput)
        {
            CompressStable(input);
            return;
        }

        while (!input.IsEmpty)
        {
            var (consumed, produced, _) = Step(input, ZstdLibrary.EndDirectiveContinue);
            input = input[consumed..];
            Destination.Write(_output, 0, produced);
        }
    }

    protected override async ValueTask CompressAsync(ReadOnlyMemory<byte> input, CancellationToken cancellationToken)
    {
        if (_stableInput)
        {
            throw StableInputWrittenAsynchronously();
        }

        while (!input.IsEmpty)
        {
            var (consumed, produced, _) = Step(input.Span, ZstdLibrary.EndDirectiveContinue);
            input = input[consumed..];
            await Destination.WriteAsync(_output.AsMemory(0, produced), cancellationToken).ConfigureAwait(false);
        }
    }

    protected override void Finish()
    {
        nuint remaining;
        do
        {
            (var produced, remaining) = FinishStep();
            Destination.Write(_output, 0, produced);
        }
        while (remaining != 0);
    }

    protected override async ValueTask FinishAsync()
    {
        nuint remaining;
        do
        {
            (var produced, remaining) = FinishStep();
            await Destination.WriteAsync(_output.AsMemory(0, produced)).ConfigureAwait(false);
        }
        while (remaining != 0);
    }

    protected override void ReleaseCodec() => _context.Dispose();

    // Every call hands zstd the whole block written so far (it checks that start and length only ever grow).
    private unsafe void CompressStable(ReadOnlySpan<byte> input)
    {
        ContinueStableInput(input);
        while (_stableConsumed < StableLength)
        {
            var (consumed, produced, _) = Step((byte*)StableStart, StableLength, _stableConsumed, ZstdLibrary.EndDirectiveContinue);
            _stableConsumed = consumed;
            Destination.Write(_output, 0, produced);
        }
    }

    private unsafe (int Produced, nuint Remaining) FinishStep()
    {
        var (_, produced, remaining) = _stableInput
            ? Step((byte*)StableStart, StableLength, _stableConsumed, ZstdLibrary.EndDirectiveEnd)
            : Step(null, 0, 0, ZstdLibrary.EndDirectiveEnd);
        return (produced, remaining);
    }

    private unsafe (int Consumed, int Produced, nuint Remaining) Step(ReadOnlySpan<byte> input, int directive)
    {
        fixed (byte* source = input)
        {
            var (consumed, produced, remaining) = Step(source, (nuint)input.Length, 0, directive);
            return ((int)consumed, produced, remaining);
        }
    }

    /// <summary>One ZSTD_compressStream2 call over source[position..length]; returns the new position.</summary>
    private unsafe (nuint Position, int Produced, nuint Remaining) Step(byte* source, nuint length, nuint position, int directive)
    {
        var added = false;
        _context.DangerousAddRef(ref added);
        try
        {
            fixed (byte* destination = _output)
            {
                var inBuffer = new ZstdInBuffer { Source = source, Size = length, Position = position };
                var outBuffer = new ZstdOutBuffer { Destination = destination, Size = (nuint)_output.Length, Position = 0 };
                var remaining = _zstd.Check(_zstd.CompressStream2(_context.DangerousGetHandle(), &outBuffer, &inBuffer, directive), "compression");
                return (inBuffer.Position, (int)outBuffer.Position, remaining);
            }
        }
        finally
        {
            if (added)
            {
                _context.DangerousRelease();
            }
        }
    }
}

/// <summary>
/// Streaming zstd decompression (ZSTD_decompressStream) from a source stream. Accepts concatenated frames,
/// refuses a stream that ends inside a frame. The decoder's window is capped by libzstd's default limit
/// (128 MiB), so a hostile frame cannot demand unbounded memory.
/// </summary>
internal sealed class ZstdDecompressionStream : DecompressorStream
{
    private readonly ZstdLibrary _zstd;
    private readonly ZstdDecompressionContext _context;
    private bool _insideFrame;

    public ZstdDecompressionStream(Stream source, bool leaveOpen)
        : this(ZstdLibrary.Instance, source, leaveOpen)
    {
    }

    private ZstdDecompressionStream(ZstdLibrary zstd, Stream source, bool leaveOpen)
        : base(source, leaveOpen, zstd.DecompressionInputSize)
    {
        _zstd = zstd;
        _context = ZstdDecompressionContext.Create(zstd);
    }

    protected override string CodecName => "zstd";

    protected override bool InsideFrame => _insideFrame;

    protected override unsafe (int Consumed, int Produced) Decode(ReadOnlySpan<byte> input, Span<byte> output)
    {
        var added = false;
        _context.DangerousAddRef(ref added);
        try
        {
            fixed (byte* source = input)
            fixed (byte* destination = output)
            {
                var inBuffer = new ZstdInBuffer { Source = source, Size = (nuint)input.Length, Position = 0 };
                var outBuffer = new ZstdOutBuffer { Destination = destination, Size = (nuint)output.Length, Position = 0 };
                var hint = _zstd.Check(_zstd.DecompressStream(_context.DangerousGetHandle(), &outBuffer, &inBuffer), "decompression");

                // 0 means a frame was completely decoded and flushed; anything else means more is to come.
                if (hint == 0)
                {
                    _insideFrame = false;
                }
                else if (inBuffer.Position > 0 || outBuffer.Position > 0)
                {
                    _insideFrame = true;
                }

                return ((int)inBuffer.Position, (int)outBuffer.Position);
            }
        }
        finally
        {
            if (added)
            {
                _context.DangerousRelease();
            }
        }
    }

    protected override void ReleaseCodec() => _context.Dispose();
}
