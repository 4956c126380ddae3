using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using PgDr.Backup.Catalog;
using PgDr.Backup.Objects;

namespace PgDr.Backup.Verify;

/// <summary>
/// PostgreSQL's own backup_manifest format (version 1, what pg_basebackup writes and pg_verifybackup reads), built from
/// a PgDr manifest: every restored file with its size and the CRC-32C taken from the original file when it was backed
/// up, and the WAL range the backup needs. pg_verifybackup then checks a restore with PostgreSQL's tool and PgDr's
/// backup-time checksums, and parses the WAL range with pg_waldump.
/// </summary>
internal static class PostgresBackupManifest
{
    public static string Build(BackupManifest manifest)
    {
        var text = new StringBuilder();
        text.Append("{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\": [");
        var first = true;
        foreach (var (path, size, modified, crc) in Files(manifest))
        {
            text.Append(first ? "\n" : ",\n");
            first = false;
            text.Append(CultureInfo.InvariantCulture, $"{{ \"Path\": {JsonSerializer.Serialize(path, BackupJsonContext.Default.String)}, \"Size\": {size}, \"Last-Modified\": \"{modified:yyyy-MM-dd HH:mm:ss} GMT\", \"Checksum-Algorithm\": \"CRC32C\", \"Checksum\": \"{crc}\" }}");
        }

        var info = manifest.Info;
        text.Append("\n],\n\"WAL-Ranges\": [\n");
        text.Append(CultureInfo.InvariantCulture, $"{{ \"Timeline\": {info.Timeline}, \"Start-LSN\": \"{info.StartLsn}\", \"End-LSN\": \"{info.StopLsn}\" }}");
        text.Append("\n],\n");

        // The checksum covers everything up to and including the line before the last (parse_manifest.c).
        var checksum = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString()))).ToLowerInvariant();
        text.Append(CultureInfo.InvariantCulture, $"\"Manifest-Checksum\": \"{checksum}\"}}\n");
        return text.ToString();
    }

    private static IEnumerable<(string Path, long Size, DateTime Modified, string Crc)> Files(BackupManifest manifest)
    {
        var label = Encoding.UTF8.GetBytes(manifest.BackupLabel);
        yield return ("backup_label", label.Length, manifest.Info.StopTime.UtcDateTime, Crc32C.Of(label));
        foreach (var file in manifest.Files)
        {
            yield return (file.Path, file.Size, new DateTime(file.ModifiedTicks, DateTimeKind.Utc), file.Crc32C);
        }
    }
}
