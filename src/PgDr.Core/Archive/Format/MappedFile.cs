using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PgDr.Archive.Format;

/// <summary>
/// A file mapped read-only, so that the content hash and the compressor read the page cache in place. A read(2)
/// into a buffer copies every byte once more: for zstd -3 over WAL that copy, and zstd's own copy into its window,
/// were ~10 % of the push worker's CPU.
/// What a push holds mapped must not grow with the file, so a 1 GiB segment costs no more than a 16 MiB one:
/// - Pages the compressor can no longer reach are released as it moves on (madvise MADV_DONTNEED drops them from this
///   process, not from the page cache). Released pages are only mappings of the unchanged file: reading one again
///   costs a page fault, never different data.
/// - The mapping grows with the reader instead of covering the file from the start: the address range is reserved
///   (PROT_NONE) and the file mapped into it step by step. Linux maps a large folio of the page cache whole when one
///   of its pages is touched (up to 2 MiB, which readahead builds for big files), and never past the end of a mapping;
///   a whole-file mapping had up to 1.5 MiB more of a 1 GiB segment resident than of a 16 MiB one.
/// Linux only. The file must not shrink while it is mapped (a read past its new end raises SIGBUS, which ends the
/// process): PostgreSQL never truncates a segment that waits to be archived, and a process that dies this way has
/// acknowledged nothing, so PostgreSQL asks again.
/// </summary>
internal sealed unsafe partial class MappedFile : IDisposable
{
    // The same on every Linux architecture .NET runs on (x64, arm64).
    private const int ProtNone = 0;
    private const int ProtRead = 1;
    private const int MapShared = 0x01;
    private const int MapPrivate = 0x02;
    private const int MapFixed = 0x10;
    private const int MapAnonymous = 0x20;
    private const int MapNoReserve = 0x4000;
    private const int MadviseDontNeed = 4;

    // A released page comes back when a later page of its folio is touched; each release covers this much again.
    private const long LargestFolio = 2 * 1024 * 1024;

    private readonly SafeFileHandle _file;
    private readonly byte* _start;
    private readonly long _reserved;
    private long _mapped;
    private long _released;
    private bool _disposed;

    private MappedFile(SafeFileHandle file, byte* start, long reserved, long length)
    {
        _file = file;
        _start = start;
        _reserved = reserved;
        Length = length;
    }

    public long Length { get; }

    /// <summary>Maps the first <paramref name="length"/> bytes (at least 1) of an open file for reading, as they are read.</summary>
    public static MappedFile Map(SafeFileHandle file, long length)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        var reserved = RoundUpToPage(length);
        var start = mmap(null, (nuint)reserved, ProtNone, MapPrivate | MapAnonymous | MapNoReserve, -1, 0);
        if (start == -1)
        {
            throw new IOException($"Cannot reserve {reserved} bytes of address space to map the file (errno {Marshal.GetLastSystemError()}).");
        }

        var added = false;
        file.DangerousAddRef(ref added);
        return new MappedFile(file, (byte*)start, reserved, length);
    }

    /// <summary>Bytes [offset, offset + length) of the file; valid until this is disposed.</summary>
    public ReadOnlySpan<byte> Slice(long offset, int length)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset + length, Length);
        var end = Math.Min(RoundUpToPage(offset + length), _reserved);
        if (end > _mapped)
        {
            var address = _start + _mapped;
            var mapped = mmap(address, (nuint)(end - _mapped), ProtRead, MapShared | MapFixed, (int)_file.DangerousGetHandle(), _mapped);
            if (mapped != (nint)address)
            {
                throw new IOException($"Cannot map bytes {_mapped} to {end} of the file (errno {Marshal.GetLastSystemError()}).");
            }

            _mapped = end;
        }

        return new ReadOnlySpan<byte>(_start + offset, length);
    }

    /// <summary>
    /// Drops this process's mapping of the pages wholly before <paramref name="offset"/> (one system call; callers
    /// release as they go, in steps of some hundred KiB).
    /// </summary>
    public void ReleaseBefore(long offset)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var end = Math.Min(offset / Environment.SystemPageSize * Environment.SystemPageSize, _mapped);
        if (end > _released)
        {
            var from = Math.Max(0, _released - LargestFolio);

            // Advice only: should it fail, the pages stay mapped until Dispose, which is no error.
            _ = madvise(_start + from, (nuint)(end - from), MadviseDontNeed);
            _released = end;
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _ = munmap(_start, (nuint)_reserved);
        _file.DangerousRelease();
    }

    private static long RoundUpToPage(long length) => (length + Environment.SystemPageSize - 1) / Environment.SystemPageSize * Environment.SystemPageSize;

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint mmap(void* address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport("libc")]
    private static partial int munmap(void* address, nuint length);

    [LibraryImport("libc")]
    private static partial int madvise(void* address, nuint length, int advice);
}
