namespace PgDr.Archive.Compression;

/// <summary>
/// Streaming LZ4 frame compression (LZ4F_compressBegin/Update/End). Input is fed in slices of at most
/// <see cref="SliceSize"/> so one output buffer of LZ4F_compressBound(slice) always suffices: memory does not
/// grow with the input. Frames carry a content checksum, so <c>lz4 -d</c> verifies them too.
/// With a stable input (see <see cref="CompressionCodec.CreateCompressor(Stream, int, bool, bool)"/>) liblz4 is told
/// so (stableSrc): each linked block then finds the previous one in place, instead of in a 64 KiB copy it would
/// otherwise save after every block.
/// </summary>
internal sealed class Lz4CompressionStream : CompressorStream
{
    private const int SliceSize = 64 * 1024;

    private readonly Lz4Library _lz4;
    private readonly Lz4CompressionContext _context;
    private readonly byte[] _output;
    private readonly bool _stableInput;
    private Lz4Preferences _preferences;
    private bool _begun;

    public Lz4CompressionStream(Stream destination, int level, bool leaveOpen, bool stableInput = false)
        : base(destination, leaveOpen)
    {
        _stableInput = stableInput;
        _lz4 = Lz4Library.Instance;
        _preferences = Lz4Preferences.ForLevel(level);
        _context = Lz4CompressionContext.Create(_lz4);
        var bound = Bound(_lz4, _preferences);

        // The frame header (at most 19 bytes) goes into the same buffer.
        _output = new byte[(int)bound + 32];
    }

    private static unsafe nuint Bound(Lz4Library lz4, Lz4Preferences preferences) => lz4.CompressBound(SliceSize, &preferences);

    protected override void Compress(ReadOnlySpan<byte> input)
    {
        if (_stableInput)
        {
            ContinueStableInput(input);
        }

        Destination.Write(_output, 0, BeginIfNeeded());
        while (!input.IsEmpty)
        {
            var slice = input[..Math.Min(SliceSize, input.Length)];
            Destination.Write(_output, 0, Update(slice));
            input = input[slice.Length..];
        }
    }

    protected override async ValueTask CompressAsync(ReadOnlyMemory<byte> input, CancellationToken cancellationToken)
    {
        if (_stableInput)
        {
            throw StableInputWrittenAsynchronously();
        }

        await Destination.WriteAsync(_output.AsMemory(0, BeginIfNeeded()), cancellationToken).ConfigureAwait(false);
        while (!input.IsEmpty)
        {
            var slice = input[..Math.Min(SliceSize, input.Length)];
            await Destination.WriteAsync(_output.AsMemory(0, Update(slice.Span)), cancellationToken).ConfigureAwait(false);
            input = input[slice.Length..];
        }
    }

    protected override void Finish()
    {
        Destination.Write(_output, 0, BeginIfNeeded());
        Destination.Write(_output, 0, End());
    }

    protected override async ValueTask FinishAsync()
    {
        await Destination.WriteAsync(_output.AsMemory(0, BeginIfNeeded())).ConfigureAwait(false);
        await Destination.WriteAsync(_output.AsMemory(0, End())).ConfigureAwait(false);
    }

    protected override void ReleaseCodec() => _context.Dispose();

    private int BeginIfNeeded()
    {
        if (_begun)
        {
            return 0;
        }

        _begun = true;
        return Call(Operation.Begin, ReadOnlySpan<byte>.Empty);
    }

    private int Update(ReadOnlySpan<byte> slice) => Call(Operation.Update, slice);

    private int End() => Call(Operation.End, ReadOnlySpan<byte>.Empty);

    private enum Operation
    {
        Begin,
        Update,
        End,
    }

    private unsafe int Call(Operation operation, ReadOnlySpan<byte> input)
    {
        var added = false;
        _context.DangerousAddRef(ref added);
        try
        {
            fixed (byte* source = input)
            fixed (byte* destination = _output)
            fixed (Lz4Preferences* preferences = &_preferences)
            {
                var context = _context.DangerousGetHandle();
                var capacity = (nuint)_output.Length;
                var options = new Lz4CompressOptions { StableSrc = _stableInput ? 1u : 0u };
                var written = operation switch
                {
                    Operation.Begin => _lz4.CompressBegin(context, destination, capacity, preferences),
                    Operation.Update => _lz4.CompressUpdate(context, destination, capacity, source, (nuint)input.Length, &options),
                    _ => _lz4.CompressEnd(context, destination, capacity, null),
                };
                return (int)_lz4.Check(written, operation.ToString().ToLowerInvariant());
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

/// <summary>Streaming LZ4 frame decompression (LZ4F_decompress); accepts concatenated frames, refuses truncation.</summary>
internal sealed class Lz4DecompressionStream : DecompressorStream
{
    private readonly Lz4Library _lz4;
    private readonly Lz4DecompressionContext _context;
    private bool _insideFrame;

    public Lz4DecompressionStream(Stream source, bool leaveOpen)
        : base(source, leaveOpen, 64 * 1024)
    {
        _lz4 = Lz4Library.Instance;
        _context = Lz4DecompressionContext.Create(_lz4);
    }

    protected override string CodecName => "lz4";

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
                var sourceSize = (nuint)input.Length;
                var destinationSize = (nuint)output.Length;
                var hint = _lz4.Check(_lz4.Decompress(_context.DangerousGetHandle(), destination, &destinationSize, source, &sourceSize, null), "decompression");

                // 0 means the frame is completely decoded (and its checksum verified); the context then accepts a new frame.
                if (hint == 0)
                {
                    _insideFrame = false;
                }
                else if (sourceSize > 0 || destinationSize > 0)
                {
                    _insideFrame = true;
                }

                return ((int)sourceSize, (int)destinationSize);
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
