using PgDr.Archive.Configuration;
using PgDr.Archive.Encryption;
using PgDr.Archive.Format;

namespace PgDr.Backup.Catalog;

/// <summary>
/// The keys a backup is written and read with, chosen as the WAL archive chooses them: the archive key held on this
/// host (encryption.keyFile or keyEnv), and the key service (encryption.kms) whose wrapped data keys objects carry.
/// Reading accepts both, so a stanza that moved from a key file to KMS keeps its older backups; writing wraps with the
/// key service whenever one is configured, exactly like wal push (<see cref="EncodingAsync"/>).
/// </summary>
internal sealed class BackupKeys : IDisposable
{
    private readonly PgDrConfig _config;
    private readonly ArchiveKey? _key;

    private BackupKeys(PgDrConfig config, ArchiveKey? key)
    {
        _config = config;
        _key = key;
        Read = new ArchiveReadOptions { Key = key, KeyService = config.KeyService, Codecs = config.CodecImplementation };
    }

    /// <summary>How every backup object, catalog document and archived WAL file of the stanza is opened.</summary>
    public ArchiveReadOptions Read { get; }

    public static BackupKeys Load(PgDrConfig config) => new(config, config.LoadKey());

    /// <summary>
    /// How a new backup encodes its objects. With a key service this asks it for the process's data key (one
    /// GenerateDataKey, cached by the service for every object and catalog document of the backup) before anything is
    /// written, so a disabled key or a withdrawn grant stops the backup with KmsKeyUnusable and leaves nothing behind.
    /// </summary>
    public async Task<DocumentEncoding> EncodingAsync(CancellationToken cancellationToken)
    {
        var dataKey = _config.KeyService is { } service ? await service.DataKeyAsync(cancellationToken).ConfigureAwait(false) : null;
        return new DocumentEncoding(_config.CompressionSpec, _config.CodecImplementation, _config.ChecksumAlgorithm, dataKey?.Key ?? _key, dataKey?.Wrapped, Read);
    }

    // The key service's keys belong to the service (the configuration's, for the life of the process).
    public void Dispose() => _key?.Dispose();
}
