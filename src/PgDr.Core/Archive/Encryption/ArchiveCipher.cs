namespace PgDr.Archive.Encryption;

/// <summary>The encryption of an archived object. The numeric values are written into object headers: never renumber.</summary>
public enum ArchiveCipher : byte
{
    None = 0,

    /// <summary>AES-256-GCM over chunks, with a per-object key derived by HKDF-SHA256 from the archive key and a random salt.</summary>
    Aes256Gcm = 1,
}
