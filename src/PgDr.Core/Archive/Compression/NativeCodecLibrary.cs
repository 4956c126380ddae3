using System.Runtime.InteropServices;
using PgDr.Errors;

namespace PgDr.Archive.Compression;

/// <summary>
/// A system compression library loaded by explicit name. Function pointers are resolved from it with
/// <see cref="NativeLibrary.GetExport"/> rather than through [DllImport], so a missing library becomes one clear
/// <c>CompressionLibraryMissing</c> error when the codec is chosen (not a DllNotFoundException in the middle of a
/// push), and PgDr.Core does not claim the assembly's one DllImportResolver.
/// </summary>
internal sealed class NativeCodecLibrary
{
    private readonly nint _handle;

    private NativeCodecLibrary(string codec, string package, nint handle)
    {
        Codec = codec;
        Package = package;
        _handle = handle;
    }

    public string Codec { get; }

    public string Package { get; }

    /// <param name="codec">The codec's name for messages (zstd).</param>
    /// <param name="package">What to install, named in the error (the Debian/Ubuntu package).</param>
    /// <param name="candidates">File names to try in order; the loader searches the system's library path.</param>
    public static NativeCodecLibrary Load(string codec, string package, IReadOnlyList<string> candidates)
    {
        foreach (var candidate in candidates)
        {
            if (NativeLibrary.TryLoad(candidate, out var handle))
            {
                return new NativeCodecLibrary(codec, package, handle);
            }
        }

        throw new PgDrArchiveException(
            ErrorIds.CompressionLibraryMissing,
            PgDrErrorCategory.NotInstalled,
            $"{codec} compression needs the system library {candidates[0]}, which was not found: install the package '{package}' (apt-get install {package}) or choose another compression.",
            candidates[0]);
    }

    /// <summary>Whether a library's lazily loaded wrapper loads: false when the library (or a function it needs) is missing.</summary>
    public static bool Loads<T>(Lazy<T> library)
    {
        try
        {
            _ = library.Value;
            return true;
        }
        catch (PgDrException ex) when (ex.ErrorId == ErrorIds.CompressionLibraryMissing)
        {
            return false;
        }
    }

    /// <summary>An optional function: its address, or zero when this build of the library does not export it.</summary>
    public nint TryExport(string name) => NativeLibrary.TryGetExport(_handle, name, out var address) ? address : nint.Zero;

    public nint Export(string name)
    {
        if (NativeLibrary.TryGetExport(_handle, name, out var address))
        {
            return address;
        }

        throw new PgDrArchiveException(
            ErrorIds.CompressionLibraryMissing,
            PgDrErrorCategory.NotInstalled,
            $"The installed {Codec} library lacks {name}; it is too old: install a current '{Package}'.",
            name);
    }
}
