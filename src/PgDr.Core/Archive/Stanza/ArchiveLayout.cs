using PgDr.Archive.Wal;

namespace PgDr.Archive.Stanza;

/// <summary>
/// Where things live in a repository, under the stanza's own prefix:
/// <c>{stanza}/identity.json</c>, <c>{stanza}/lease</c>, <c>{stanza}/wal/{timeline+log id}/{segment}</c> (16 hex digits per folder keep
/// listings short: 256 segments of 16 MiB per folder), and <c>{stanza}/wal/history/{tli}.history</c>.
/// </summary>
public static class ArchiveLayout
{
    public static string IdentityKey(string stanza) => $"{stanza}/identity.json";

    /// <summary>The single-writer lease of the stanza's cluster (Failover), kept by compare-and-swap.</summary>
    public static string LeaseKey(string stanza) => $"{stanza}/lease";

    public static string WalPrefix(string stanza) => $"{stanza}/wal/";

    public static string WalKey(string stanza, WalFileName name) => name.Kind == WalFileKind.TimelineHistory
        ? $"{stanza}/wal/history/{name.Name}"
        : $"{stanza}/wal/{name.Name[..16]}/{name.Name}";

    /// <summary>The WAL file name a key ends in, or null for keys that hold none.</summary>
    public static WalFileName? NameOf(string key)
    {
        var slash = key.LastIndexOf('/');
        return WalFileName.TryParse(slash < 0 ? key : key[(slash + 1)..], out var name) ? name : null;
    }
}
