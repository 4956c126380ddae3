namespace PgDr.Archive.Compression;

/// <summary>
/// The compression of an archived object. The numeric values are written into object headers: never renumber.
/// </summary>
public enum CompressionAlgorithm : byte
{
    None = 0,
    Gzip = 1,
    Brotli = 2,
    Zstd = 3,
    Lz4 = 4,
}
