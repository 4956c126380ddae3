namespace PgDr.Archive.Compression;

/// <summary>
/// Streaming zstd compression (ZSTD_compressStream2) into <c>Destination</c>. Memory is the context (bounded
/// by the level's window) plus one output buffer of ZSTD_CStreamOutSize, whatever the input size. Frames carry
/// zstd's content checksum, so <c>zstd -d</c> and <c>zstd -t</c> verify them too.
/// </summary>
internal sealed class ZstdCompressionStream : CompressorStream
{
    private readonly ZstdLibrary _zstd;
    private readonly ZstdCompressionContext _context;
    private readonly byte[] _output;

    public ZstdCompressionStream(Stream destination, int level, bool leaveOpen)
        : base(destination, leaveOpen)
    {
        _zstd = ZstdLibrary.Instance;
        _context = ZstdCompressionContext.Create(_zstd);
        _zstd.SetParameter(_context, ZstdLibrary.CompressionLevelParameter, level);
        _zstd.SetParameter(_context, ZstdLibrary.ChecksumFlagParameter, 1);
        _output = new byte[_zstd.CompressionOutputSize];
    }

    protected override void Compress(ReadOnlySpan<byte> input)
    {
        while (!input.IsEmpty)
        {
            var (consumed, produced, _) = Step(input, ZstdLibrary.EndDirectiveContinue);
            input = input[consumed..];
            Destination.Write(_output, 0, produced);
        }
    }

    protected override async ValueTask CompressAsync(ReadOnlyMemory<byte> input, CancellationToken cancellationToken)
    {
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
            (_, var produced, remaining) = Step(ReadOnlySpan<byte>.Empty, ZstdLibrary.EndDirectiveEnd);
            Destination.Write(_output, 0, produced);
        }
        while (remaining != 0);
    }

    protected override async ValueTask FinishAsync()
    {
        nuint remaining;
        do
        {
            (_, var produced, remaining) = Step(ReadOnlySpan<byte>.Empty, ZstdLibrary.EndDirectiveEnd);
            await Destination.WriteAsync(_output.AsMemory(0, produced)).ConfigureAwait(false);
        }
        while (remaining != 0);
    }

    protected override void ReleaseCodec() => _context.Dispose();

    private unsafe (int Consumed, int Produced, nuint Remaining) Step(ReadOnlySpan<byte> input, int directive)
    {
        var added = false;
        _context.DangerousAddRef(ref added);
        try
        {
            fixed (byte* source = input)
            fixed (byte* destination = _output)
            {
                var inBuffer = new ZstdInBuffer { Source = source, Size = (nuint)input.Length, Position = 0 };
                var outBuffer = new ZstdOutBuffer { Destination = destination, Size = (nuint)_output.Length, Position = 0 };
                var remaining = _zstd.Check(_zstd.CompressStream2(_context.DangerousGetHandle(), &outBuffer, &inBuffer, directive), "compression");
                return ((int)inBuffer.Position, (int)outBuffer.Position, remaining);
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
