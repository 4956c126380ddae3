using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using PgDr.Errors;

namespace PgDr.Archive.Compression;

/// <summary>
/// An algorithm and level as the configuration writes it: <c>zstd</c>, <c>zstd:3</c>, <c>lz4</c>, <c>gzip:9</c>,
/// <c>brotli</c>, <c>none</c>.
/// </summary>
/// <remarks>
/// Levels: zstd 1..19 (default 3; the "ultra" levels 20..22 are refused because they need decompression windows of
/// up to 128 MiB and gain nothing on 16 MiB segments); lz4 1..12 (default 1; 3 and above is LZ4-HC); gzip 1..9
/// (default 6) and brotli 1..11 (default 4). net8.0's GZipStream and BrotliStream only take three levels, so gzip
/// 1-3 / 4-6 / 7-9 and brotli 1-3 / 4-9 / 10-11 map to Fastest / Optimal / SmallestSize; the level given is
/// still recorded in the object header. <c>none</c> takes no level.
/// </remarks>
public readonly record struct CompressionSpec
{
    public CompressionSpec(CompressionAlgorithm algorithm, int? level = null)
    {
        var (min, max, defaultLevel) = LevelRange(algorithm);
        var chosen = level ?? defaultLevel;
        if (chosen < min || chosen > max)
        {
            throw new PgDrArgumentException(
                ErrorIds.InvalidCompressionSpec,
                algorithm == CompressionAlgorithm.None
                    ? "Compression 'none' takes no level."
                    : $"Compression level {chosen} is out of range for {Name(algorithm)}: use {min} to {max}.",
                level);
        }

        Algorithm = algorithm;
        Level = chosen;
    }

    /// <summary>zstd at its default level: what the configuration's <c>"compression": "zstd"</c> means.</summary>
    public static CompressionSpec Default => new(CompressionAlgorithm.Zstd);

    public static CompressionSpec None => new(CompressionAlgorithm.None);

    public CompressionAlgorithm Algorithm { get; }

    public int Level { get; }

    /// <summary>Parses <c>name</c> or <c>name:level</c> (names are case-insensitive); throws <c>InvalidCompressionSpec</c>.</summary>
    public static CompressionSpec Parse(string? text) =>
        TryParse(text, out var spec, out var reason)
            ? spec
            : throw new PgDrArgumentException(ErrorIds.InvalidCompressionSpec, $"'{text}' is not a compression setting: {reason}", text);

    public static bool TryParse(string? text, out CompressionSpec spec) => TryParse(text, out spec, out _);

    /// <summary>The accepted levels of an algorithm and the one used when none is given.</summary>
    public static (int Minimum, int Maximum, int Default) LevelRange(CompressionAlgorithm algorithm) => algorithm switch
    {
        CompressionAlgorithm.None => (0, 0, 0),
        CompressionAlgorithm.Gzip => (1, 9, 6),
        CompressionAlgorithm.Brotli => (1, 11, 4),
        CompressionAlgorithm.Zstd => (1, 19, 3),
        CompressionAlgorithm.Lz4 => (1, 12, 1),
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "Unknown compression algorithm."),
    };

    /// <summary>The configuration name of an algorithm (<c>zstd</c>).</summary>
    public static string Name(CompressionAlgorithm algorithm) => algorithm switch
    {
        CompressionAlgorithm.None => "none",
        CompressionAlgorithm.Gzip => "gzip",
        CompressionAlgorithm.Brotli => "brotli",
        CompressionAlgorithm.Zstd => "zstd",
        CompressionAlgorithm.Lz4 => "lz4",
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "Unknown compression algorithm."),
    };

    public override string ToString() =>
        Algorithm == CompressionAlgorithm.None ? "none" : $"{Name(Algorithm)}:{Level.ToString(CultureInfo.InvariantCulture)}";

    private static bool TryParse(string? text, out CompressionSpec spec, [NotNullWhen(false)] out string? reason)
    {
        spec = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            reason = "it is empty; use zstd, lz4, gzip, brotli or none, optionally with :level.";
            return false;
        }

        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var name = colon < 0 ? text : text[..colon];
        CompressionAlgorithm? algorithm = name.ToLowerInvariant() switch
        {
            "none" => CompressionAlgorithm.None,
            "gzip" => CompressionAlgorithm.Gzip,
            "brotli" => CompressionAlgorithm.Brotli,
            "zstd" => CompressionAlgorithm.Zstd,
            "lz4" => CompressionAlgorithm.Lz4,
            _ => null,
        };
        if (algorithm is not { } known)
        {
            reason = $"'{name}' is not an algorithm; use zstd, lz4, gzip, brotli or none.";
            return false;
        }

        int? level = null;
        if (colon >= 0)
        {
            var levelText = text[(colon + 1)..];
            if (!int.TryParse(levelText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed))
            {
                reason = $"'{levelText}' is not a level (an integer).";
                return false;
            }

            level = parsed;
        }

        var (min, max, _) = LevelRange(known);
        if (known == CompressionAlgorithm.None && level is not null)
        {
            reason = "'none' takes no level.";
            return false;
        }

        if (level is { } l && (l < min || l > max))
        {
            reason = $"level {l} is out of range for {Name(known)}: use {min} to {max}.";
            return false;
        }

        spec = new CompressionSpec(known, level);
        reason = null;
        return true;
    }
}
