namespace PgDr.Archive.Compression;

/// <summary>
/// Which implementation of zstd and lz4 to use (the configuration's <c>codecs</c>). Both write the standard zstd and
/// LZ4 frame formats, so an object written by one is read by the other; gzip, brotli and none have one implementation.
/// </summary>
public enum CodecImplementation
{
    /// <summary>The system library where it loads (faster: docs/performance.md), else the managed port.</summary>
    Auto,

    /// <summary>The system's libzstd / liblz4 only; CompressionLibraryMissing where it is absent.</summary>
    Native,

    /// <summary>The managed ports (ZstdSharp, K4os.Compression.LZ4): no native library needed (Windows, minimal containers).</summary>
    Managed,
}
