using PgDr.Archive.Format;

namespace PgDr.Backup.Objects;

/// <summary>A file to store: its full path, and its path in the manifest.</summary>
internal sealed record SourceFile(string FullPath, string RelativePath);

/// <summary>What was read of one file: where it sits in the object's plaintext, its length and checksums.</summary>
internal sealed class FileRead
{
    public required SourceFile Source { get; init; }

    public long Offset { get; init; }

    public long Length { get; set; }

    /// <summary>False when the file disappeared before it could be opened (a dropped table): it is left out of the backup.</summary>
    public bool Found { get; set; } = true;

    public string Crc32C { get; set; } = string.Empty;

    /// <summary>The content checksum (<c>algorithm:hex</c>); null when the reader was told the object's own checksum covers it.</summary>
    public string? Checksum { get; set; }
}

/// <summary>
/// Reads a set of files one after another as one stream: the plaintext of a data object (one big file, or a pack of
/// small ones). It records each file's offset and length as read and hashes it on the way (CRC-32C for
/// pg_verifybackup, and the content checksum when the object holds several files), so every byte is read once.
/// A file that is gone when its turn comes is skipped: PostgreSQL drops and truncates files while a backup runs, and
/// replay of the WAL recreates whatever the restored cluster needs.
/// </summary>
internal sealed class FileSetReader(IReadOnlyList<SourceFile> files, ContentChecksumAlgorithm checksum, bool checksumEachFile) : Stream
{
    private readonly List<FileRead> _reads = [];
    private int _next;
    private FileStream? _current;
    private FileRead? _currentRead;
    private Crc32C _crc;
    private ContentHasher? _hasher;
    private long _position;

    public IReadOnlyList<FileRead> Reads => _reads;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => _position; set => throw new NotSupportedException(); }

    // A plain read(2), also behind ReadAsync: the data directory is local and mostly in the page cache, where a
    // thread-pool hop per block (FileStream's ReadAsync on a synchronous handle) would cost more than the read itself.
    public override int Read(Span<byte> buffer)
    {
        while (true)
        {
            if (_current is null && !OpenNext())
            {
                return 0;
            }

            var read = _current!.Read(buffer);
            if (read > 0)
            {
                var span = buffer[..read];
                _crc.Append(span);
                _hasher?.Append(span);
                _currentRead!.Length += read;
                _position += read;
                return read;
            }

            CloseCurrent();
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(Read(buffer.Span));
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private bool OpenNext()
    {
        while (_next < files.Count)
        {
            var source = files[_next++];
            try
            {
                // No read-ahead buffer of our own: the caller reads in large blocks.
                _current = new FileStream(source.FullPath, new FileStreamOptions
                {
                    Mode = FileMode.Open,
                    Access = FileAccess.Read,
                    Share = FileShare.ReadWrite | FileShare.Delete,
                    BufferSize = 0,
                    Options = FileOptions.SequentialScan,
                });
            }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
            {
                _reads.Add(new FileRead { Source = source, Offset = _position, Found = false });
                continue;
            }

            _currentRead = new FileRead { Source = source, Offset = _position };
            _reads.Add(_currentRead);
            _crc = Crc32C.Start();
            _hasher = checksumEachFile ? new ContentHasher(checksum) : null;
            return true;
        }

        return false;
    }

    private void CloseCurrent()
    {
        _currentRead!.Crc32C = _crc.Format();
        if (_hasher is not null)
        {
            _currentRead.Checksum = ContentChecksum.Format(checksum, _hasher.GetField());
            _hasher.Dispose();
            _hasher = null;
        }

        _current!.Dispose();
        _current = null;
        _currentRead = null;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _current?.Dispose();
            _hasher?.Dispose();
        }

        base.Dispose(disposing);
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
