using PgDr.Errors;

namespace PgDr.Archive.Server;

/// <summary>What to do about the failures a new archive setup meets, by pgdr error id or archive_command exit code.</summary>
public static class ArchiveFailureAdvice
{
    /// <summary>The fix for <paramref name="errorId"/> (or, without one, for the shell's <paramref name="exitCode"/>); null when PgDr has none.</summary>
    public static string? For(string? errorId, int? exitCode = null) => errorId switch
    {
        ErrorIds.RepositoryNotFound =>
            "create the repository before archiving starts: New-PgWalRepository (pgdr repo create --config FILE) makes the directory, owned by the postgres account, or checks the bucket or container, and writes the stanza's identity.",
        ErrorIds.RepositoryAccessDenied =>
            "give the account PostgreSQL runs as write access to the repository (the directory's owner and mode, the bucket policy or the container's role assignment); New-PgWalRepository checks it.",
        ErrorIds.RepositoryUnavailable =>
            "the repository could not be reached from the server: check its endpoint, DNS and network path, and its credentials in the server's environment.",
        ErrorIds.RepositoryFull => "free space in the repository or add storage; PostgreSQL keeps the segments in pg_wal meanwhile.",
        ErrorIds.ConfigNotFound =>
            "archive_command names a configuration file that does not exist where the server runs: write it there, or point archive_command at it with Set-PgWalArchiving -ConfigPath.",
        ErrorIds.ConfigAccessDenied =>
            "let the postgres account read the configuration file (chown postgres or chmod 0644, and every directory above it must be searchable by that account).",
        ErrorIds.InvalidConfig => "correct the configuration file (the message names the setting); pgdr config check --config FILE checks it.",
        ErrorIds.ArchiveKeyNotFound =>
            "create the archive key where the configuration says (encryption.keyFile), or set the variable named by encryption.keyEnv in the server's own environment (its service unit), not only in a shell.",
        ErrorIds.ArchiveKeyAccessDenied =>
            "make the postgres account the owner of the key file (chown postgres:postgres FILE; chmod 600 FILE), and make every directory above it searchable by that account.",
        ErrorIds.KeyFileInsecure => "restrict the key file to its owner: chmod 600 FILE.",
        ErrorIds.InvalidArchiveKey => "the key must be 32 raw bytes, 64 hex digits or base64 of 32 bytes: head -c 32 /dev/urandom | xxd -p -c 64 > FILE.",
        ErrorIds.KmsKeyUnusable =>
            "the key service refused the archive's key: enable the KMS key, or grant the server's role kms:GenerateDataKey (push) and kms:Decrypt (fetch) on it.",
        ErrorIds.KmsUnavailable => "the key service could not be reached from the server: check the KMS endpoint, region and network path, and the role's credentials.",
        ErrorIds.StanzaMismatch =>
            "this repository's stanza belongs to another cluster: give this cluster its own stanza name in the configuration.",
        ErrorIds.WalAlreadyArchivedDifferently =>
            "another file was archived under this name (a second cluster using the same stanza, or a restored primary): stop and find out which WAL is right before archiving goes on.",
        ErrorIds.CompressionLibraryMissing => "install the named library, or set \"codecs\": \"managed\" (or another compression) in the configuration.",
        ErrorIds.AsyncAcknowledgementTimeout or ErrorIds.AsyncWorkerStartFailed or ErrorIds.AsyncPushTimeout =>
            "the async push worker did not answer in time: read push.log in the configured spool directory.",
        ErrorIds.AsyncSpoolUnavailable => "create the spool directory, owned by the postgres account: install -d -o postgres -g postgres -m 0700 DIR.",
        ErrorIds.PgDrNotExecutable => NotExecutable,
        null when exitCode == 126 => NotExecutable,
        null when exitCode == 127 =>
            "archive_command names a program that does not exist for the server: install pgdr where the postgres account can run it (e.g. /usr/local/bin/pgdr) and point Set-PgWalArchiving -PgDrPath at it.",
        _ => null,
    };

    private const string NotExecutable =
        "the postgres account cannot execute the pgdr that archive_command names (a build under root's home, or no execute bit): install it where that account can run it, e.g. install -m 0755 pgdr /usr/local/bin/pgdr, and point Set-PgWalArchiving -PgDrPath at it.";
}
