using PgDr.Archive.Configuration;
using PgDr.Archive.Encryption;
using PgDr.Archive.Format;
using PgDr.Errors;

namespace PgDr.Backup.Catalog;

/// <summary>
/// The key backups are encrypted and read with: the archive key held on this host (encryption.keyFile or keyEnv).
/// Backups do not wrap their keys with a key service (encryption.kms) yet, so a configuration with kms alone is refused
/// rather than storing a backup unencrypted beside WAL that is encrypted.
/// </summary>
internal static class BackupKey
{
    public static ArchiveKey? Load(PgDrConfig config)
    {
        var key = config.LoadKey();
        if (key is null && config.Encryption?.Kms is not null)
        {
            throw new PgDrException(
                ErrorIds.BackupEncryptionUnsupported,
                PgDrErrorCategory.InvalidOperation,
                $"Base backups are encrypted with an archive key held on this host, and {config.SourcePath} names only 'encryption.kms': add 'keyFile' or 'keyEnv' beside 'kms' (the WAL keeps its envelope encryption).",
                config.SourcePath);
        }

        return key;
    }

    /// <summary>How a backup reads archived WAL (history files): with the key, or through the key service that wrapped it.</summary>
    public static ArchiveReadOptions WalReadOptions(PgDrConfig config, ArchiveKey? key) =>
        new() { Key = key, KeyService = config.KeyService, Codecs = config.CodecImplementation };
}
