using System.Runtime.InteropServices;

namespace PgDr.Archive.Compression;

/// <summary>The parts of liblz4's frame API (lz4frame.h, stable since 1.8) that PgDr uses.</summary>
internal sealed unsafe class Lz4Library
{
    public const uint FrameVersion = 100;

    private static readonly Lazy<Lz4Library> Shared = new(() => new Lz4Library(
        NativeCodecLibrary.Load("lz4", "liblz4-1", ["liblz4.so.1", "liblz4.so", "liblz4.1.dylib", "liblz4.dll", "lz4"])));

    private Lz4Library(NativeCodecLibrary library)
    {
        CreateCompressionContext = (delegate* unmanaged<nint*, uint, nuint>)library.Export("LZ4F_createCompressionContext");
        FreeCompressionContext = (delegate* unmanaged<nint, nuint>)library.Export("LZ4F_freeCompressionContext");
        CompressBound = (delegate* unmanaged<nuint, Lz4Preferences*, nuint>)library.Export("LZ4F_compressBound");
        CompressBegin = (delegate* unmanaged<nint, void*, nuint, Lz4Preferences*, nuint>)library.Export("LZ4F_compressBegin");
        CompressUpdate = (delegate* unmanaged<nint, void*, nuint, void*, nuint, void*, nuint>)library.Export("LZ4F_compressUpdate");
        CompressEnd = (delegate* unmanaged<nint, void*, nuint, void*, nuint>)library.Export("LZ4F_compressEnd");
        CreateDecompressionContext = (delegate* unmanaged<nint*, uint, nuint>)library.Export("LZ4F_createDecompressionContext");
        FreeDecompressionContext = (delegate* unmanaged<nint, nuint>)library.Export("LZ4F_freeDecompressionContext");
        Decompress = (delegate* unmanaged<nint, void*, nuint*, void*, nuint*, void*, nuint>)library.Export("LZ4F_decompress");
        IsErrorFunction = (delegate* unmanaged<nuint, uint>)library.Export("LZ4F_isError");
        GetErrorName = (delegate* unmanaged<nuint, byte*>)library.Export("LZ4F_getErrorName");
        CompressFrameBound = (delegate* unmanaged<nuint, Lz4Preferences*, nuint>)library.Export("LZ4F_compressFrameBound");
        CompressFrame = (delegate* unmanaged<void*, nuint, void*, nuint, Lz4Preferences*, nuint>)library.Export("LZ4F_compressFrame");
    }

    /// <summary>The process-wide library; throws <c>CompressionLibraryMissing</c> when liblz4 is not installed.</summary>
    public static Lz4Library Instance => Shared.Value;

    /// <summary>Whether the system library loads (and has what PgDr needs); the managed port stands in where not.</summary>
    public static bool IsAvailable => NativeCodecLibrary.Loads(Shared);

    public delegate* unmanaged<nint*, uint, nuint> CreateCompressionContext { get; }

    public delegate* unmanaged<nint, nuint> FreeCompressionContext { get; }

    public delegate* unmanaged<nuint, Lz4Preferences*, nuint> CompressBound { get; }

    public delegate* unmanaged<nint, void*, nuint, Lz4Preferences*, nuint> CompressBegin { get; }

    public delegate* unmanaged<nint, void*, nuint, void*, nuint, void*, nuint> CompressUpdate { get; }

    public delegate* unmanaged<nint, void*, nuint, void*, nuint> CompressEnd { get; }

    public delegate* unmanaged<nint*, uint, nuint> CreateDecompressionContext { get; }

    public delegate* unmanaged<nint, nuint> FreeDecompressionContext { get; }

    public delegate* unmanaged<nint, void*, nuint*, void*, nuint*, void*, nuint> Decompress { get; }

    public delegate* unmanaged<nuint, uint> IsErrorFunction { get; }

    public delegate* unmanaged<nuint, byte*> GetErrorName { get; }

    /// <summary>One-shot API, used by tests to cross-check the streaming code.</summary>
    public delegate* unmanaged<nuint, Lz4Preferences*, nuint> CompressFrameBound { get; }

    public delegate* unmanaged<void*, nuint, void*, nuint, Lz4Preferences*, nuint> CompressFrame { get; }

    /// <summary>LZ4F_compressFrame: one frame in one call. Only tests use it, to cross-check the streaming code.</summary>
    public byte[] CompressOneShot(ReadOnlySpan<byte> input, int level)
    {
        var preferences = Lz4Preferences.ForLevel(level);
        var output = new byte[(int)CompressFrameBound((nuint)input.Length, &preferences)];
        fixed (byte* source = input)
        fixed (byte* destination = output)
        {
            var written = Check(CompressFrame(destination, (nuint)output.Length, source, (nuint)input.Length, &preferences), "one-shot compression");
            return output[..(int)written];
        }
    }

    public nuint Check(nuint code, string operation) =>
        IsErrorFunction(code) != 0 ? throw new InvalidDataException($"lz4 {operation} failed: {Marshal.PtrToStringUTF8((nint)GetErrorName(code))}.") : code;
}

/// <summary>LZ4F_preferences_t (with its LZ4F_frameInfo_t), field for field.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct Lz4Preferences
{
    public int BlockSizeId;          // LZ4F_blockSizeID_t: 0 = default (64 KiB)
    public int BlockMode;            // 0 = linked blocks (better ratio)
    public int ContentChecksumFlag;  // 1 = xxh32 of the whole content at the end of the frame
    public int FrameType;            // 0 = frame
    public ulong ContentSize;        // 0 = unknown (we stream)
    public uint DictionaryId;
    public int BlockChecksumFlag;
    public int CompressionLevel;
    public uint AutoFlush;
    public uint FavorDecompressionSpeed;
    public fixed uint Reserved[3];

    public static Lz4Preferences ForLevel(int level) => new() { ContentChecksumFlag = 1, CompressionLevel = level };
}

/// <summary>LZ4F_compressOptions_t.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct Lz4CompressOptions
{
    public uint StableSrc;           // 1 = what was passed stays in place until the frame ends: keep no copy of it
    public fixed uint Reserved[3];
}

/// <summary>An LZ4F_cctx, freed exactly once.</summary>
internal sealed unsafe class Lz4CompressionContext : SafeHandle
{
    public Lz4CompressionContext()
        : base(nint.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == nint.Zero;

    public static Lz4CompressionContext Create(Lz4Library lz4)
    {
        var context = new Lz4CompressionContext();
        nint created;
        lz4.Check(lz4.CreateCompressionContext(&created, Lz4Library.FrameVersion), "context creation");
        context.SetHandle(created);
        return context;
    }

    protected override bool ReleaseHandle()
    {
        Lz4Library.Instance.FreeCompressionContext(handle);
        return true;
    }
}

/// <summary>An LZ4F_dctx, freed exactly once.</summary>
internal sealed unsafe class Lz4DecompressionContext : SafeHandle
{
    public Lz4DecompressionContext()
        : base(nint.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == nint.Zero;

    public static Lz4DecompressionContext Create(Lz4Library lz4)
    {
        var context = new Lz4DecompressionContext();
        nint created;
        lz4.Check(lz4.CreateDecompressionContext(&created, Lz4Library.FrameVersion), "context creation");
        context.SetHandle(created);
        return context;
    }

    protected override bool ReleaseHandle()
    {
        Lz4Library.Instance.FreeDecompressionContext(handle);
        return true;
    }
}
