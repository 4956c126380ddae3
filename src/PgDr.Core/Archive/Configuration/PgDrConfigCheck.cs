namespace PgDr.Archive.Configuration;

/// <summary>What <c>pgdr config check</c> found: the file and the key it names are readable by this account.</summary>
public sealed class PgDrConfigCheckResult
{
    public required string ConfigPath { get; init; }

    /// <summary>The OS account that read them (run it as the one PostgreSQL uses).</summary>
    public required string Account { get; init; }

    public required string Stanza { get; init; }

    /// <summary>Where the archive key comes from (a key file, a variable), or "none" when objects are not encrypted.</summary>
    public required string Encryption { get; init; }

    public override string ToString() => $"{ConfigPath} and its key ({Encryption}) are readable by {Account}";
}

/// <summary>
/// Reads the configuration and the archive key exactly as archive_command and restore_command do, and nothing else:
/// the check that the account PostgreSQL runs as can use them. Throws what push would throw (ConfigNotFound,
/// ConfigAccessDenied, InvalidConfig, ArchiveKeyNotFound, ArchiveKeyAccessDenied, KeyFileInsecure, InvalidArchiveKey).
/// </summary>
public static class PgDrConfigCheck
{
    public static PgDrConfigCheckResult Run(string? explicitPath)
    {
        var config = PgDrConfig.Load(explicitPath);
        using var key = config.LoadKey();
        return new PgDrConfigCheckResult
        {
            ConfigPath = Path.GetFullPath(config.SourcePath),
            Account = Environment.UserName,
            Stanza = config.Stanza,
            Encryption = config.Encryption?.Kms is { } kms
                ? $"AWS KMS key {kms.KeyId}{(key is null ? string.Empty : " (new objects), and " + key.Source + " (older objects)")}"
                : key?.Source ?? "none",
        };
    }
}
