using System.Security.Cryptography;
using PgDr.Archive.Configuration;
using PgDr.Archive.Format;
using PgDr.Archive.Repositories;
using PgDr.Archive.Stanza;
using PgDr.Archive.Wal;
using PgDr.Errors;

namespace PgDr.Archive.Transfer;

/// <summary>
/// pgdr wal fetch: PostgreSQL's restore_command. Repositories are tried in configuration order; the object is
/// verified (authenticity, length, content checksum, its embedded name) while it is written aside, and only then
/// renamed to the destination. A file no repository has is WalNotFound, which pgdr reports quietly, because
/// PostgreSQL asks for files that do not exist yet.
/// </summary>
/// <remarks>
/// Durability: a file restored to PostgreSQL's own temporary names (RECOVERYXLOG, RECOVERYHISTORY, which is what
/// restore_command's %p is) is not fsynced here, because PostgreSQL makes whatever it keeps of it durable itself: it
/// renames a restored segment or history file into pg_wal with durable_rename(), which fsyncs the file before the
/// rename and the file and pg_wal after it (xlogrecovery.c XLogFileRead -> xlogarchive.c KeepFileRestoredFromArchive;
/// timeline.c), and it deletes a leftover RECOVERYXLOG before every restore, so one cut short by a crash is never read.
/// An fsync here would only flush the same pages one step earlier, inside the timed restore_command. Any other
/// destination is fsynced, and its directory too. docs/archiving.md gives the source in full.
/// </remarks>
public static class WalFetchService
{
    public static async Task<WalFetchResult> FetchAsync(
        PgDrConfig config,
        string walFileName,
        string destination,
        CancellationToken cancellationToken,
        Func<RepositoryConfig, IArchiveRepository>? repositoryFactory = null,
        bool? flushToDisk = null)
    {
        var name = WalFileName.Parse(walFileName);
        var factory = repositoryFactory ?? (c => ArchiveRepositoryFactory.Create(c));
        using var key = config.LoadKey();
        var objectKey = ArchiveLayout.WalKey(config.Stanza, name);
        var failures = new List<string>();
        foreach (var entry in config.Repositories)
        {
            try
            {
                var repository = factory(entry.ToRepositoryConfig());
                await using (repository.ConfigureAwait(false))
                {
                    var stored = await repository.OpenReadAsync(objectKey, cancellationToken).ConfigureAwait(false);
                    if (stored is null)
                    {
                        continue;
                    }

                    await using (stored.ConfigureAwait(false))
                    {
                        var summary = await WriteVerifiedAsync(stored, destination, name, new ArchiveReadOptions { Key = key, KeyService = config.KeyService, Codecs = config.CodecImplementation }, cancellationToken, flushToDisk).ConfigureAwait(false);
                        return new WalFetchResult { WalFileName = name.Name, Repository = entry.Name, Destination = destination, Bytes = summary.PlaintextLength, Checksum = summary.PlaintextChecksum };
                    }
                }
            }
            catch (PgDrException ex)
            {
                // Another repository may still hold a good copy.
                failures.Add($"repository '{entry.Name}': {ex.Message} [{ex.ErrorId}]");
            }
        }

        if (failures.Count > 0)
        {
            throw new PgDrArchiveException(ErrorIds.WalFetchFailed, PgDrErrorCategory.ReadError, $"{name.Name} could not be fetched: {string.Join("; ", failures)}", name.Name);
        }

        throw new PgDrNotFoundException(ErrorIds.WalNotFound, $"{name.Name} is in no repository.", name.Name);
    }

    /// <summary>How the name of the temporary file that becomes <paramref name="fileName"/> starts (a fetch in flight has one).</summary>
    internal static string TemporaryPrefix(string fileName) => $".{fileName}.pgdr-";

    /// <summary>A new temporary path beside <paramref name="fullDestination"/>, renamed onto it once complete.</summary>
    internal static string TemporaryPathFor(string fullDestination) =>
        Path.Combine(Path.GetDirectoryName(fullDestination)!, $"{TemporaryPrefix(Path.GetFileName(fullDestination))}{Convert.ToHexString(RandomNumberGenerator.GetBytes(6))}.tmp");

    /// <summary>
    /// A valid object stored under the wrong name (a renamed or swapped file) is not the file asked for: its header
    /// names the file it was made from. ArchiveObjectCorrupt otherwise.
    /// </summary>
    internal static void EnsureHolds(ArchiveObjectSummary summary, WalFileName name)
    {
        if (!string.Equals(summary.Header.OriginalName, name.Name, StringComparison.Ordinal))
        {
            throw PgDrArchiveException.Corrupt($"The object stored as {name.Name} holds {summary.Header.OriginalName}.", name.Name);
        }
    }

    /// <summary>
    /// True for the temporary names PostgreSQL gives restore_command's %p, whose content it makes durable itself when it
    /// keeps it (see the remarks on this class).
    /// </summary>
    internal static bool PostgresMakesDurable(string destination) =>
        Path.GetFileName(destination) is "RECOVERYXLOG" or "RECOVERYHISTORY";

    /// <summary>
    /// Decodes into a temporary file beside the destination; renames it into place only once every check passed. The
    /// file and its directory are fsynced unless <paramref name="flushToDisk"/> says otherwise or PostgreSQL does it.
    /// </summary>
    internal static async Task<ArchiveObjectSummary> WriteVerifiedAsync(Stream stored, string destination, WalFileName name, ArchiveReadOptions options, CancellationToken cancellationToken, bool? flushToDisk = null)
    {
        var fullDestination = Path.GetFullPath(destination);
        var directory = Path.GetDirectoryName(fullDestination)!;
        var temp = TemporaryPathFor(fullDestination);
        var durableByPostgres = !(flushToDisk ?? !PostgresMakesDurable(fullDestination));
        try
        {
            ArchiveObjectSummary summary;
            var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
            await using (output.ConfigureAwait(false))
            {
                summary = await ArchiveObjectReader.ReadAsync(stored, output, options, cancellationToken).ConfigureAwait(false);
                EnsureHolds(summary, name);
                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                if (!durableByPostgres)
                {
                    output.Flush(flushToDisk: true);
                }
            }

            File.Move(temp, fullDestination, overwrite: true);
            if (!durableByPostgres && !OperatingSystem.IsWindows())
            {
                LinuxFileSystem.SyncDirectory(directory);
            }

            return summary;
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }
}
