namespace PgDr.Archive.Server;

/// <summary>How a node should archive its WAL through pgdr, or that it should stop archiving.</summary>
public sealed class WalArchivingRequest
{
    /// <summary>
    /// Path of the pgdr executable as the postgres OS account sees it (it runs archive_command). Needed unless
    /// <see cref="Disable"/>.
    /// </summary>
    public string? PgDrPath { get; init; }

    /// <summary>The PgDr configuration file (repositories, compression, key source) the archiver reads. Needed unless <see cref="Disable"/>.</summary>
    public string? ConfigPath { get; init; }

    /// <summary>Forces a segment switch after this long without one, bounding the RPO of an idle primary (archive_timeout).</summary>
    public TimeSpan ArchiveTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Minimum max_wal_senders: a larger existing value is kept.</summary>
    public int MinWalSenders { get; init; } = 10;

    /// <summary>
    /// Switch archiving off instead (archive_mode = off, which takes a restart); every other setting, archive_command
    /// included, is left as it is, so switching it on again later changes only archive_mode.
    /// </summary>
    public bool Disable { get; init; }

    /// <summary>The request that switches archiving off.</summary>
    public static WalArchivingRequest Disabling() => new() { Disable = true };

    /// <summary>
    /// archive_mode = always instead of on: a standby archives the WAL it receives too. With on (the default) a standby
    /// archives nothing until it is promoted.
    /// </summary>
    public bool ArchiveOnStandby { get; init; }
}
