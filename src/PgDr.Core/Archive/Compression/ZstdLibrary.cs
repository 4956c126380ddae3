using System.Runtime.InteropServices;

namespace PgDr.Archive.Compression;

/// <summary>The parts of libzstd's streaming API (zstd.h, stable since 1.4) that PgDr uses.</summary>
internal sealed unsafe class ZstdLibrary
{
    // ZSTD_cParameter and ZSTD_EndDirective values from zstd.h.
    public const int CompressionLevelParameter = 100;
    public const int ChecksumFlagParameter = 201;

    // ZSTD_c_stableInBuffer (ZSTD_c_experimentalParam9 in zstd.h). Experimental parameters may change meaning between
    // releases, so it is only used from the release PgDr is tested with on (1.5.4, Debian 12); with an older library
    // the compressor copies its input as usual.
    public const int StableInBufferParameter = 1006;
    private const uint StableInBufferTestedFrom = 10504;

    // The window of the largest level PgDr allows (zstd 19 with an unknown source size), for a library without ZSTD_getCParams.
    private const int LargestWindowLog = 23;
    public const int EndDirectiveContinue = 0;
    public const int EndDirectiveEnd = 2;

    private static readonly Lazy<ZstdLibrary> Shared = new(() => new ZstdLibrary(
        NativeCodecLibrary.Load("zstd", "libzstd1", ["libzstd.so.1", "libzstd.so", "libzstd.1.dylib", "libzstd.dll", "zstd"])));

    private ZstdLibrary(NativeCodecLibrary library)
    {
        CreateCCtx = (delegate* unmanaged<nint>)library.Export("ZSTD_createCCtx");
        FreeCCtx = (delegate* unmanaged<nint, nuint>)library.Export("ZSTD_freeCCtx");
        SetCParameter = (delegate* unmanaged<nint, int, int, nuint>)library.Export("ZSTD_CCtx_setParameter");
        CompressStream2 = (delegate* unmanaged<nint, ZstdOutBuffer*, ZstdInBuffer*, int, nuint>)library.Export("ZSTD_compressStream2");
        CStreamOutSize = (delegate* unmanaged<nuint>)library.Export("ZSTD_CStreamOutSize");
        CreateDCtx = (delegate* unmanaged<nint>)library.Export("ZSTD_createDCtx");
        FreeDCtx = (delegate* unmanaged<nint, nuint>)library.Export("ZSTD_freeDCtx");
        DecompressStream = (delegate* unmanaged<nint, ZstdOutBuffer*, ZstdInBuffer*, nuint>)library.Export("ZSTD_decompressStream");
        DStreamInSize = (delegate* unmanaged<nuint>)library.Export("ZSTD_DStreamInSize");
        IsErrorFunction = (delegate* unmanaged<nuint, uint>)library.Export("ZSTD_isError");
        GetErrorName = (delegate* unmanaged<nuint, byte*>)library.Export("ZSTD_getErrorName");
        CompressBound = (delegate* unmanaged<nuint, nuint>)library.Export("ZSTD_compressBound");
        Compress = (delegate* unmanaged<void*, nuint, void*, nuint, int, nuint>)library.Export("ZSTD_compress");
        GetCParams = (delegate* unmanaged<int, ulong, nuint, ZstdCompressionParameters>)library.TryExport("ZSTD_getCParams");
        VersionNumber = ((delegate* unmanaged<uint>)library.Export("ZSTD_versionNumber"))();
    }

    /// <summary>The process-wide library; throws <c>CompressionLibraryMissing</c> when libzstd is not installed.</summary>
    public static ZstdLibrary Instance => Shared.Value;

    /// <summary>Whether the system library loads (and has what PgDr needs); the managed port stands in where not.</summary>
    public static bool IsAvailable => NativeCodecLibrary.Loads(Shared);

    public delegate* unmanaged<nint> CreateCCtx { get; }

    public delegate* unmanaged<nint, nuint> FreeCCtx { get; }

    public delegate* unmanaged<nint, int, int, nuint> SetCParameter { get; }

    public delegate* unmanaged<nint, ZstdOutBuffer*, ZstdInBuffer*, int, nuint> CompressStream2 { get; }

    public delegate* unmanaged<nuint> CStreamOutSize { get; }

    public delegate* unmanaged<nint> CreateDCtx { get; }

    public delegate* unmanaged<nint, nuint> FreeDCtx { get; }

    public delegate* unmanaged<nint, ZstdOutBuffer*, ZstdInBuffer*, nuint> DecompressStream { get; }

    public delegate* unmanaged<nuint> DStreamInSize { get; }

    public delegate* unmanaged<nuint, uint> IsErrorFunction { get; }

    public delegate* unmanaged<nuint, byte*> GetErrorName { get; }

    /// <summary>One-shot API, used by tests to cross-check the streaming code.</summary>
    public delegate* unmanaged<nuint, nuint> CompressBound { get; }

    public delegate* unmanaged<void*, nuint, void*, nuint, int, nuint> Compress { get; }

    /// <summary>ZSTD_versionNumber: major * 10000 + minor * 100 + release.</summary>
    public uint VersionNumber { get; }

    /// <summary>Whether compressors may read a stable input in place (ZSTD_c_stableInBuffer).</summary>
    public bool SupportsStableInput => VersionNumber >= StableInBufferTestedFrom;

    /// <summary>ZSTD_getCParams, or null when the library does not export it.</summary>
    public delegate* unmanaged<int, ulong, nuint, ZstdCompressionParameters> GetCParams { get; }

    /// <summary>
    /// How far back a compressor at <paramref name="level"/> reaches for matches when the source size is not given
    /// (the window, 2 MiB at level 3), which is how PgDr compresses.
    /// </summary>
    public long WindowSize(int level) => 1L << (GetCParams == null ? LargestWindowLog : (int)GetCParams(level, 0, 0).WindowLog);

    public bool IsError(nuint code) => IsErrorFunction(code) != 0;

    /// <summary>ZSTD_compress: one frame in one call. Only tests use it, to cross-check the streaming code.</summary>
    public byte[] CompressOneShot(ReadOnlySpan<byte> input, int level)
    {
        var output = new byte[(int)CompressBound((nuint)input.Length)];
        fixed (byte* source = input)
        fixed (byte* destination = output)
        {
            var written = Check(Compress(destination, (nuint)output.Length, source, (nuint)input.Length, level), "one-shot compression");
            return output[..(int)written];
        }
    }

    /// <summary>ZSTD_CStreamOutSize: an output buffer that always holds at least one complete block.</summary>
    public int CompressionOutputSize => (int)CStreamOutSize();

    /// <summary>ZSTD_DStreamInSize: the input slice size the decoder works best with.</summary>
    public int DecompressionInputSize => (int)DStreamInSize();

    public void SetParameter(ZstdCompressionContext context, int parameter, int value) =>
        Check(SetCParameter(context.DangerousGetHandle(), parameter, value), "setting parameter " + parameter.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Sets a parameter that an older library may not know; false when it refused.</summary>
    public bool TrySetParameter(ZstdCompressionContext context, int parameter, int value) =>
        !IsError(SetCParameter(context.DangerousGetHandle(), parameter, value));

    /// <summary>Returns <paramref name="code"/>, or throws with zstd's own description of the error.</summary>
    public nuint Check(nuint code, string operation) =>
        IsError(code) ? throw new InvalidDataException($"zstd {operation} failed: {Marshal.PtrToStringUTF8((nint)GetErrorName(code))}.") : code;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ZstdInBuffer
{
    public void* Source;
    public nuint Size;
    public nuint Position;
}

/// <summary>ZSTD_compressionParameters, as ZSTD_getCParams returns it.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct ZstdCompressionParameters
{
    public uint WindowLog;
    public uint ChainLog;
    public uint HashLog;
    public uint SearchLog;
    public uint MinMatch;
    public uint TargetLength;
    public int Strategy;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ZstdOutBuffer
{
    public void* Destination;
    public nuint Size;
    public nuint Position;
}

/// <summary>A ZSTD_CCtx, freed exactly once even if the stream that owns it is never disposed.</summary>
internal sealed unsafe class ZstdCompressionContext : SafeHandle
{
    public ZstdCompressionContext()
        : base(nint.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == nint.Zero;

    public static ZstdCompressionContext Create(ZstdLibrary library)
    {
        var context = new ZstdCompressionContext();
        var created = library.CreateCCtx();
        if (created == nint.Zero)
        {
            throw new InvalidOperationException("ZSTD_createCCtx returned no context (out of memory).");
        }

        context.SetHandle(created);
        return context;
    }

    protected override bool ReleaseHandle()
    {
        ZstdLibrary.Instance.FreeCCtx(handle);
        return true;
    }
}

/// <summary>A ZSTD_DCtx, freed exactly once.</summary>
internal sealed unsafe class ZstdDecompressionContext : SafeHandle
{
    public ZstdDecompressionContext()
        : base(nint.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == nint.Zero;

    public static ZstdDecompressionContext Create(ZstdLibrary library)
    {
        var context = new ZstdDecompressionContext();
        var created = library.CreateDCtx();
        if (created == nint.Zero)
        {
            throw new InvalidOperationException("ZSTD_createDCtx returned no context (out of memory).");
        }

        context.SetHandle(created);
        return context;
    }

    protected override bool ReleaseHandle()
    {
        ZstdLibrary.Instance.FreeDCtx(handle);
        return true;
    }
}
