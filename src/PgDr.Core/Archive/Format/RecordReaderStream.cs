using System.Buffers.Binary;
using System.Security.Cryptography;
using PgDr.Archive.Encryption;

namespace PgDr.Archive.Format;

/// <summary>
/// Reads an object's records and returns the compressed stream they carry. An encrypted record's bytes are only
/// returned after its tag was verified. The stream ends (returns 0) only at an intact final record; any other end,
/// a malformed frame or a failed tag throws <c>ArchiveObjectCorrupt</c>.
/// </summary>
internal sealed class RecordReaderStream : Stream
{
    private readonly Stream _source;
    private readonly ArchiveObjectHeader _header;
    private readonly ObjectCipher? _cipher;
    private readonly IncrementalHash? _objectHash;
    private readonly byte[] _frame = new byte[ArchiveFormat.FrameLength];
    private readonly byte[] _payload;
    private readonly byte[] _plaintext;
    private int _position;
    private int _available;
    private ulong _dataRecords;

    // objectHash: for unencrypted objects, already fed with the header bytes; null when encrypted.
    public RecordReaderStream(Stream source, ArchiveObjectHeader header, ObjectCipher? cipher, IncrementalHash? objectHash)
    {
        _source = source;
        _header = header;
        _cipher = cipher;
        _objectHash = objectHash;
        _payload = new byte[Math.Max(header.ChunkSize + ObjectCipher.TagLength, ArchiveFormat.PlainFinalPayloadLength)];
        _plaintext = cipher is null ? _payload : new byte[header.ChunkSize];
    }

    /// <summary>True once the final record was read and verified.</summary>
    public bool Completed { get; private set; }

    /// <summary>The plaintext length the final record states; valid once <see cref="Completed"/>.</summary>
    public long PlaintextLength { get; private set; }

    /// <summary>The content checksum field the final record states; valid once <see cref="Completed"/>.</summary>
    public byte[] ContentChecksum { get; } = new byte[Format.ContentChecksum.FieldLength];

    /// <summary>Record bytes consumed from the source.</summary>
    public long BytesRead { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        while (_position == _available && !Completed)
        {
            // The synchronous path completes synchronously: the ValueTask never actually waits.
            LoadNextRecordAsync(async: false, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        }

        return CopyOut(buffer);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_position == _available && !Completed)
        {
            await LoadNextRecordAsync(async: true, cancellationToken).ConfigureAwait(false);
        }

        return CopyOut(buffer.Span);
    }

    private int CopyOut(Span<byte> buffer)
    {
        var count = Math.Min(buffer.Length, _available - _position);
        _plaintext.AsSpan(_position, count).CopyTo(buffer);
        _position += count;
        return count;
    }

    private async ValueTask LoadNextRecordAsync(bool async, CancellationToken cancellationToken)
    {
        await ReadExactlyAsync(_frame, async, "before its final record", cancellationToken).ConfigureAwait(false);
        var frame = BinaryPrimitives.ReadUInt32LittleEndian(_frame);
        var isFinal = (frame & ArchiveFormat.FinalRecordFlag) != 0;
        var length = (int)(frame & ~ArchiveFormat.FinalRecordFlag);
        var overhead = _cipher is null ? 0 : ObjectCipher.TagLength;

        if (isFinal)
        {
            var expected = _cipher is null ? ArchiveFormat.PlainFinalPayloadLength : ArchiveFormat.SealedFinalPayloadLength;
            if (length != expected)
            {
                throw PgDrArchiveException.Corrupt($"The archive object's final record has a damaged frame (length {length}, expected {expected}).");
            }

            await ReadExactlyAsync(_payload.AsMemory(0, length), async, "inside its final record", cancellationToken).ConfigureAwait(false);
            ReadFinalRecord(length);
            return;
        }

        if (length <= overhead || length > _header.ChunkSize + overhead)
        {
            throw PgDrArchiveException.Corrupt($"The archive object's record {_dataRecords} has a damaged frame (length {length}).");
        }

        await ReadExactlyAsync(_payload.AsMemory(0, length), async, $"inside record {_dataRecords}", cancellationToken).ConfigureAwait(false);
        _objectHash?.AppendData(_frame);
        _objectHash?.AppendData(_payload, 0, length);

        if (_cipher is null)
        {
            _available = length;
        }
        else
        {
            var plainLength = length - ObjectCipher.TagLength;
            if (!_cipher.TryOpen(ObjectCipher.RecordKind.Data, _dataRecords, _payload.AsSpan(0, plainLength), _payload.AsSpan(plainLength, ObjectCipher.TagLength), _plaintext.AsSpan(0, plainLength)))
            {
                throw PgDrArchiveException.Corrupt($"The archive object's record {_dataRecords} fails authentication: it was damaged, moved or tampered with.");
            }

            _available = plainLength;
        }

        _position = 0;
        _dataRecords++;
    }

    private void ReadFinalRecord(int length)
    {
        var payload = _payload.AsSpan(0, length);
        var recordCount = BinaryPrimitives.ReadUInt64LittleEndian(payload);
        Span<byte> trailer = stackalloc byte[ArchiveFormat.SealedTrailerLength];

        if (_cipher is null)
        {
            _objectHash!.AppendData(_frame);
            _objectHash.AppendData(payload[..(8 + ArchiveFormat.SealedTrailerLength)]);
            var objectChecksum = _objectHash.GetHashAndReset();
            if (!objectChecksum.AsSpan().SequenceEqual(payload[(8 + ArchiveFormat.SealedTrailerLength)..]))
            {
                throw PgDrArchiveException.Corrupt("The archive object is damaged (object checksum mismatch).");
            }

            payload.Slice(8, ArchiveFormat.SealedTrailerLength).CopyTo(trailer);
        }
        else if (!_cipher.TryOpen(ObjectCipher.RecordKind.Final, recordCount, payload.Slice(8, ArchiveFormat.SealedTrailerLength), payload[(8 + ArchiveFormat.SealedTrailerLength)..], trailer))
        {
            throw PgDrArchiveException.Corrupt("The archive object's final record fails authentication: it was damaged or tampered with.");
        }

        if (recordCount != _dataRecords)
        {
            throw PgDrArchiveException.Corrupt($"The archive object holds {_dataRecords} records but its final record counts {recordCount}: records are missing or were added.");
        }

        PlaintextLength = BinaryPrimitives.ReadInt64LittleEndian(trailer);
        trailer[8..].CopyTo(ContentChecksum);
        Completed = true;
        _position = _available = 0;
    }

    private async ValueTask ReadExactlyAsync(Memory<byte> buffer, bool async, string where, CancellationToken cancellationToken)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var read = async
                ? await _source.ReadAsync(buffer[total..], cancellationToken).ConfigureAwait(false)
                : _source.Read(buffer.Span[total..]);
            if (read == 0)
            {
                throw PgDrArchiveException.Corrupt($"The archive object is truncated {where}.");
            }

            total += read;
        }

        BytesRead += total;
    }
}
