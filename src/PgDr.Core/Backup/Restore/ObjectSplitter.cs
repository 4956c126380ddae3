using PgDr.Archive;
using PgDr.Archive.Format;
using PgDr.Errors;

namespace PgDr.Backup.Restore;

/// <summary>One file to write from an object's plaintext: the range it occupies there and what it must hash to.</summary>
internal sealed record SplitTarget(string FullPath, long Offset, long Length, int Mode, long ModifiedTicks, string Checksum, string RelativePath);

/// <summary>
/// The destination of a decoded data object: routes each file's byte range of the plaintext to that file (a pack
/// holds many), skips ranges no file wants (a delta restore keeps unchanged files; an incremental may reference one
/// file of an older pack), and checks each file's checksum against the manifest when it ends. Files are written with
/// plain write(2) calls into the page cache; the restore makes them durable all at once (syncfs) at the end.
/// </summary>
internal sealed class ObjectSplitter : Stream
{
    private readonly List<SplitTarget> _targets;
    private readonly bool _hashEach;
    private readonly ContentChecksumAlgorithm _algorithm;
    private readonly string _objectKey;
    private int _next;
    private long _position;
    private FileStream? _file;
    private ContentHasher? _hasher;
    private long _written;
    private long _fileWritten;
    private long _writebackFrom;

    // Restored data would otherwise sit dirty in the page cache until the final syncfs (a machine with a lot of memory
    // starts no background write-back for hundreds of MB): handing the disk each few MiB as it is written overlaps its
    // work with decoding.
    private const long WritebackStep = 8 * 1024 * 1024;

    /// <param name="targets">The files, any order.</param>
    /// <param name="hashEach">Hash each file (packs); a single-file object's own checksum, verified by the reader, covers its file.</param>
    /// <param name="algorithm">The manifest's checksum algorithm.</param>
    /// <param name="objectKey">The object's key, for messages.</param>
    public ObjectSplitter(IEnumerable<SplitTarget> targets, bool hashEach, ContentChecksumAlgorithm algorithm, string objectKey)
    {
        _targets = [.. targets.OrderBy(t => t.Offset).ThenBy(t => t.Length)];
        _hashEach = hashEach;
        _algorithm = algorithm;
        _objectKey = objectKey;
    }

    /// <summary>Bytes written to files.</summary>
    public long BytesWritten => _written;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        while (!buffer.IsEmpty || (_next < _targets.Count && _targets[_next].Offset == _position && _targets[_next].Length == 0))
        {
            OpenIfStarting();
            if (_file is not null)
            {
                var target = _targets[_next];
                var take = (int)Math.Min(buffer.Length, target.Offset + target.Length - _position);
                var chunk = buffer[..take];
                _file.Write(chunk);
                _hasher?.Append(chunk);
                _written += take;
                _fileWritten += take;
                if (OperatingSystem.IsLinux() && _fileWritten - _writebackFrom >= WritebackStep)
                {
                    Archive.Repositories.LinuxFileSystem.StartWriteback(_file.SafeFileHandle, _writebackFrom, _fileWritten - _writebackFrom);
                    _writebackFrom = _fileWritten;
                }

                Advance(ref buffer, take);
                if (_position == target.Offset + target.Length)
                {
                    Close(target);
                }

                continue;
            }

            if (buffer.IsEmpty)
            {
                break;
            }

            // Not inside a wanted file: skip to where the next one starts (or past everything).
            var skip = _next < _targets.Count ? (int)Math.Min(buffer.Length, _targets[_next].Offset - _position) : buffer.Length;
            Advance(ref buffer, skip);
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>After the reader verified the object: every file must have been written whole.</summary>
    public void Complete()
    {
        Write(ReadOnlySpan<byte>.Empty);
        if (_file is not null || _next < _targets.Count)
        {
            var missing = _targets[Math.Min(_next, _targets.Count - 1)];
            throw PgDrArchiveExceptionFor($"the object ends at byte {_position}, before {missing.RelativePath} (bytes {missing.Offset}..{missing.Offset + missing.Length}) that the manifest places in it");
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _file?.Dispose();
            _hasher?.Dispose();
        }

        base.Dispose(disposing);
    }

    private void Advance(ref ReadOnlySpan<byte> buffer, int count)
    {
        buffer = buffer[count..];
        _position += count;
    }

    private void OpenIfStarting()
    {
        if (_file is not null || _next >= _targets.Count || _targets[_next].Offset != _position)
        {
            return;
        }

        var target = _targets[_next];
        var options = new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            Share = FileShare.None,
            BufferSize = 0,
            PreallocationSize = target.Length,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = (UnixFileMode)target.Mode & (UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute);
        }

        _file = new FileStream(target.FullPath, options);
        _hasher = _hashEach ? new ContentHasher(_algorithm) : null;
        _fileWritten = 0;
        _writebackFrom = 0;
    }

    private void Close(SplitTarget target)
    {
        if (OperatingSystem.IsLinux() && _fileWritten > _writebackFrom && _fileWritten >= WritebackStep)
        {
            Archive.Repositories.LinuxFileSystem.StartWriteback(_file!.SafeFileHandle, _writebackFrom, _fileWritten - _writebackFrom);
        }

        _file!.Dispose();
        _file = null;
        if (!OperatingSystem.IsWindows())
        {
            // An existing file (delta) keeps the mode it had: set the backed-up one.
            File.SetUnixFileMode(target.FullPath, (UnixFileMode)target.Mode);
        }

        File.SetLastWriteTimeUtc(target.FullPath, new DateTime(target.ModifiedTicks, DateTimeKind.Utc));
        if (_hasher is not null)
        {
            var checksum = ContentChecksum.Format(_algorithm, _hasher.GetField());
            _hasher.Dispose();
            _hasher = null;
            if (!string.Equals(checksum, target.Checksum, StringComparison.Ordinal))
            {
                throw PgDrArchiveExceptionFor($"{target.RelativePath} restored from it does not match the manifest's checksum");
            }
        }

        _next++;
    }

    private PgDrArchiveException PgDrArchiveExceptionFor(string why) =>
        new(ErrorIds.ArchiveObjectCorrupt, PgDrErrorCategory.InvalidData, $"Backup object {_objectKey} is damaged: {why}.", _objectKey);

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
