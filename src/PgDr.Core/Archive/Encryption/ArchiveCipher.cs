namespace PgDr.Archive.Encryption;

/// <summary>The encryption of an archived object. The numeric values are written into object headers: never renumber.</summary>
public enum ArchiveCipher : byte
{
    None = 0,

    /// <summary>AES-256-GCM over chunks, with a per-object key derived by HKDF-SHA256 from the archive key and a random salt.</summary>
    Aes256Gcm = 1,

    /// <summary>
    /// As <see cref="Aes256Gcm"/>, but the key HKDF starts from is a data key that a key service (AWS KMS) generated
    /// and wrapped; the wrapped key is in the header, so the object is opened by asking the service to unwrap it.
    /// </summary>
    Aes256GcmWrappedKey = 2,
}
