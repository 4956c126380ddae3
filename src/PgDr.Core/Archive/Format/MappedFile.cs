using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PgDr.Archive.Format;

/// <summary>
/// A file mapped read-only, so that the content hash and the compressor read the page cache in place. A read(2)
/// into a buffer copies every byte once more: for zstd -3 over WAL that copy, and zstd's own copy into its window,
/// were ~10 % of the push worker's CPU. Pages the compressor can no longer reach are released as it moves on
/// (madvise MADV_DONTNEED drops them from this process, not from the page cache), so what a push holds mapped does
/// not grow with the file: a 1 GiB segment no more than a 16 MiB one. Released pages are only mappings of the
/// unchanged file: reading one again costs a page fault, never different data.
/// Linux only. The file must not shrink while it is mapped (a read past its new end raises SIGBUS, which ends the
/// process): PostgreSQL never truncates a segment that waits to be archived, and a process that dies this way has
/// acknowledged nothing, so PostgreSQL asks again.
/// </summary>
internal sealed unsafe partial class MappedFile : IDisposable
{
    private const int MadviseDontNeed = 4; // MADV_DONTNEED, the same on every Linux architecture

    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _start;
    private long _released;
    private bool _disposed;

    private MappedFile(MemoryMappedFile map, MemoryMappedViewAccessor view, long length)
    {
        _map = map;
        _view = view;
        Length = length;
        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _start = pointer + view.PointerOffset;
    }

    public long Length { get; }

    /// <summary>Maps the first <paramref name="length"/> bytes (at least 1) of an open file for reading.</summary>
    public static MappedFile Map(SafeFileHandle file, long length)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        var map = MemoryMappedFile.CreateFromFile(file, mapName: null, capacity: 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
        try
        {
            return new MappedFile(map, map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read), length);
        }
        catch
        {
            map.Dispose();
            throw;
        }
    }

    /// <summary>Bytes [offset, offset + length) of the file; valid until this is disposed.</summary>
    public ReadOnlySpan<byte> Slice(long offset, int length)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset + length, Length);
        return new ReadOnlySpan<byte>(_start + offset, length);
    }

    /// <summary>
    /// Drops this process's mapping of the pages wholly before <paramref name="offset"/> (one system call; callers
    /// release as they go, in steps of some hundred KiB).
    /// </summary>
    public void ReleaseBefore(long offset)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var end = offset / Environment.SystemPageSize * Environment.SystemPageSize;
        if (end > _released)
        {
            // Advice only: should it fail, the pages stay mapped until Dispose, which is no error.
            _ = madvise(_start + _released, (nuint)(end - _released), MadviseDontNeed);
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
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
    }

    [LibraryImport("libc")]
    private static partial int madvise(void* address, nuint length, int advice);
}
