namespace PgDr.Backup.Catalog;

/// <summary>
/// Where a stanza's base backups live in a repository, beside its WAL (ArchiveLayout):
/// <list type="bullet">
/// <item><c>{stanza}/backup/catalog/{label}.started</c>: written when a backup starts (host, process), removed once it is complete;</item>
/// <item><c>{stanza}/backup/catalog/{label}.info</c>: the backup's summary (what Get-PgBackup lists);</item>
/// <item><c>{stanza}/backup/catalog/{label}.manifest</c>: every file and where it is stored, written last: a backup
/// exists, for every reader, exactly when this object does;</item>
/// <item><c>{stanza}/backup/data/{label}/{id}</c>: the data objects, numbered (file names never become keys).</item>
/// </list>
/// The catalog prefix holds three small objects per backup, so listing it stays cheap however many files backups hold.
/// </summary>
public static class BackupLayout
{
    public const string ManifestSuffix = ".manifest";
    public const string InfoSuffix = ".info";
    public const string StartedSuffix = ".started";

    public static string CatalogPrefix(string stanza) => $"{stanza}/backup/catalog/";

    public static string ManifestKey(string stanza, string label) => CatalogPrefix(stanza) + label + ManifestSuffix;

    public static string InfoKey(string stanza, string label) => CatalogPrefix(stanza) + label + InfoSuffix;

    public static string StartedKey(string stanza, string label) => CatalogPrefix(stanza) + label + StartedSuffix;

    public static string DataPrefix(string stanza) => $"{stanza}/backup/data/";

    public static string ObjectPrefix(string stanza, string label) => $"{DataPrefix(stanza)}{label}/";

    public static string ObjectKey(string stanza, string label, string objectId) => ObjectPrefix(stanza, label) + objectId;

    /// <summary>The id of the <paramref name="number"/>-th object of a backup (<c>000001</c>); also the name in its header.</summary>
    public static string ObjectId(int number) => number.ToString("D6", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The name recorded in a data object's header: binds it to its backup and place, so a swapped object is caught.</summary>
    public static string ObjectName(string label, string objectId) => $"{label}.{objectId}";

    /// <summary>The label and suffix of a catalog key, or null for a key that is not one.</summary>
    public static (string Label, string Suffix)? ParseCatalogKey(string stanza, string key)
    {
        var prefix = CatalogPrefix(stanza);
        if (!key.StartsWith(prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var name = key[prefix.Length..];
        var dot = name.IndexOf('.', StringComparison.Ordinal);
        if (dot < 0 || !BackupLabel.IsValid(name[..dot]))
        {
            return null;
        }

        return (name[..dot], name[dot..]);
    }

    /// <summary>The label whose data a key belongs to, or null.</summary>
    public static string? LabelOfObject(string stanza, string key)
    {
        var prefix = DataPrefix(stanza);
        if (!key.StartsWith(prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var rest = key[prefix.Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        return slash > 0 && BackupLabel.IsValid(rest[..slash]) ? rest[..slash] : null;
    }
}
