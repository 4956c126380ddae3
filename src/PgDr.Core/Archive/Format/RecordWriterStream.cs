using System.Buffers.Binary;
using System.Security.Cryptography;
using PgDr.Archive.Encryption;

namespace PgDr.Archive.Format;

/// <summary>
/// Cuts the compressed stream written into it into records of at most one chunk, seals them when the object is
/// encrypted, and writes them to the destination; <see cref="CompleteAsync"/> writes the final record. Memory is one
/// record buffer whatever the length of the object: the compressed bytes are gathered where the record's payload goes
/// and sealed in place (AES-GCM allows the plaintext and the ciphertext to be the same memory), which is 1 MiB less
/// in every per-segment process than a separate chunk buffer and no copy.
/// </summary>
internal sealed class RecordWriterStream : Stream
{
    private readonly Stream _destination;
    private readonly ObjectCipher? _cipher;
    private readonly IncrementalHash? _objectHash;
    private readonly int _chunkSize;
    private readonly byte[] _record;
    private int _filled;
    private ulong _dataRecords;
    private bool _completed;

    // objectHash: for unencrypted objects, already fed with the header; every record byte is added. Null when encrypted.
    public RecordWriterStream(Stream destination, int chunkSize, ObjectCipher? cipher, IncrementalHash? objectHash)
    {
        _destination = destination;
        _cipher = cipher;
        _objectHash = objectHash;
        _chunkSize = chunkSize;
        _record = new byte[ArchiveFormat.FrameLength + chunkSize + ObjectCipher.TagLength];
    }

    /// <summary>Bytes written to the destination (records only, not the header).</summary>
    public long BytesWritten { get; private set; }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => !_completed;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush()
    {
        // Records are only written whole; a partial chunk waits for more data or for CompleteAsync.
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ThrowIfCompleted();
        while (!buffer.IsEmpty)
        {
            var take = Math.Min(buffer.Length, _chunkSize - _filled);
            buffer[..take].CopyTo(Gathered(take));
            _filled += take;
            buffer = buffer[take..];
            if (_filled == _chunkSize)
            {
                Emit(PrepareDataRecord());
            }
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ThrowIfCompleted();
        while (!buffer.IsEmpty)
        {
            var take = Math.Min(buffer.Length, _chunkSize - _filled);
            buffer.Span[..take].CopyTo(Gathered(take));
            _filled += take;
            buffer = buffer[take..];
            if (_filled == _chunkSize)
            {
                await EmitAsync(PrepareDataRecord(), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Writes the last partial record and the final record that carries the plaintext's length and checksum.</summary>
    public async Task CompleteAsync(long plaintextLength, byte[] contentChecksum, CancellationToken cancellationToken)
    {
        ThrowIfCompleted();
        if (_filled > 0)
        {
            await EmitAsync(PrepareDataRecord(), cancellationToken).ConfigureAwait(false);
        }

        _completed = true;
        await EmitAsync(PrepareFinalRecord(plaintextLength, contentChecksum), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Where the next <paramref name="length"/> compressed bytes go: the payload of the record being gathered.</summary>
    private Span<byte> Gathered(int length) => _record.AsSpan(ArchiveFormat.FrameLength + _filled, length);

    private int PrepareDataRecord()
    {
        var payloadLength = _filled + (_cipher is null ? 0 : ObjectCipher.TagLength);
        BinaryPrimitives.WriteUInt32LittleEndian(_record, (uint)payloadLength);
        var payload = _record.AsSpan(ArchiveFormat.FrameLength, payloadLength);
        _cipher?.Seal(ObjectCipher.RecordKind.Data, _dataRecords, payload[.._filled], payload[.._filled], payload[_filled..]);

        _dataRecords++;
        _filled = 0;
        _objectHash?.AppendData(_record, 0, ArchiveFormat.FrameLength + payloadLength);
        return ArchiveFormat.FrameLength + payloadLength;
    }

    private int PrepareFinalRecord(long plaintextLength, byte[] contentChecksum)
    {
        var payloadLength = _cipher is null ? ArchiveFormat.PlainFinalPayloadLength : ArchiveFormat.SealedFinalPayloadLength;
        BinaryPrimitives.WriteUInt32LittleEndian(_record, ArchiveFormat.FinalRecordFlag | (uint)payloadLength);
        var payload = _record.AsSpan(ArchiveFormat.FrameLength, payloadLength);
        BinaryPrimitives.WriteUInt64LittleEndian(payload, _dataRecords);

        Span<byte> trailer = stackalloc byte[ArchiveFormat.SealedTrailerLength];
        BinaryPrimitives.WriteInt64LittleEndian(trailer, plaintextLength);
        contentChecksum.CopyTo(trailer[8..]);

        if (_cipher is null)
        {
            trailer.CopyTo(payload[8..]);
            var coveredLength = ArchiveFormat.FrameLength + 8 + ArchiveFormat.SealedTrailerLength;
            _objectHash!.AppendData(_record, 0, coveredLength);
            _objectHash.GetHashAndReset().CopyTo(_record, coveredLength);
        }
        else
        {
            _cipher.Seal(ObjectCipher.RecordKind.Final, _dataRecords, trailer, payload.Slice(8, trailer.Length), payload[(8 + trailer.Length)..]);
        }

        return ArchiveFormat.FrameLength + payloadLength;
    }

    private void Emit(int length)
    {
        _destination.Write(_record, 0, length);
        BytesWritten += length;
    }

    private async ValueTask EmitAsync(int length, CancellationToken cancellationToken)
    {
        await _destination.WriteAsync(_record.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
        BytesWritten += length;
    }

    private void ThrowIfCompleted()
    {
        if (_completed)
        {
            throw new InvalidOperationException("The object's final record is already written.");
        }
    }
}
