using System.Security.Cryptography;
using PgDr.Archive.Configuration;
using PgDr.Archive.Encryption;
using PgDr.Archive.Format;
using PgDr.Archive.Repositories;
using PgDr.Archive.Stanza;
using PgDr.Archive.Wal;
using PgDr.Errors;

namespace PgDr.Archive.Transfer;

/// <summary>
/// pgdr wal push: PostgreSQL's archive_command. The file is read once, compressed and encrypted once into a
/// private temporary file (constant memory, whatever the segment size), then stored create-only in every
/// repository at once. It counts as archived only when every required repository holds it.
/// </summary>
public static class WalPushService
{
    /// <summary>Names of the private encoded copies; one left behind by a killed process is recognised by it.</summary>
    public const string TemporaryFilePrefix = ".pgdr-push-";

    public static async Task<WalPushResult> PushAsync(
        PgDrConfig config,
        string path,
        CancellationToken cancellationToken,
        Func<RepositoryConfig, IArchiveRepository>? repositoryFactory = null)
    {
        // The name is checked before any I/O: nothing outside a WAL file name ever becomes a repository key.
        var name = WalFileName.Parse(Path.GetFileName(path));
        var factory = repositoryFactory ?? (c => ArchiveRepositoryFactory.Create(c));
        using var key = config.LoadKey();

        // Before anything is read or written: a key service that refuses (a disabled or revoked key) stops the push here.
        var dataKey = config.KeyService is { } keyService ? await keyService.DataKeyAsync(cancellationToken).ConfigureAwait(false) : null;

        WalSegmentHeader? header = null;
        if (name.Kind is WalFileKind.Segment or WalFileKind.Partial)
        {
            header = await ReadHeaderAsync(path, cancellationToken).ConfigureAwait(false);
        }

        var tempDirectory = config.Async?.SpoolPath is { Length: > 0 } spool && Directory.Exists(spool) ? spool : Path.GetTempPath();
        var tempPath = Path.Combine(tempDirectory, $"{TemporaryFilePrefix}{name.Name}-{Convert.ToHexString(RandomNumberGenerator.GetBytes(6))}.tmp");
        var encoded = new FileStream(tempPath, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            Share = FileShare.Read | FileShare.Delete,
            Options = FileOptions.DeleteOnClose | FileOptions.Asynchronous,
            BufferSize = 1 << 16,
        });
        await using (encoded.ConfigureAwait(false))
        {
            ArchiveObjectSummary summary;
            try
            {
                summary = await ArchiveObjectWriter.WriteFileAsync(path, encoded, new ArchiveObjectOptions { Name = name.Name, Compression = config.CompressionSpec, Codecs = config.CodecImplementation, Checksum = config.ChecksumAlgorithm, Key = dataKey?.Key ?? key, WrappedKey = dataKey?.Wrapped }, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
            {
                throw FileMissing(path, ex);
            }

            await encoded.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (header is not null && name.Kind == WalFileKind.Segment && summary.PlaintextLength != header.SegmentSize)
            {
                throw new PgDrArchiveException(
                    ErrorIds.NotAWalSegment,
                    PgDrErrorCategory.InvalidData,
                    $"{path} has {summary.PlaintextLength} bytes but its header says segments are {header.SegmentSize} bytes; refusing to archive a truncated segment.",
                    path);
            }

            var objectKey = ArchiveLayout.WalKey(config.Stanza, name);
            var results = await Task.WhenAll(config.Repositories.Select(entry =>
                PushToAsync(entry, factory, config.Stanza, header, objectKey, path, tempPath, summary, new ArchiveReadOptions { Key = key, KeyService = config.KeyService, AllowUnencrypted = true, Codecs = config.CodecImplementation }, cancellationToken))).ConfigureAwait(false);
            var result = new WalPushResult { WalFileName = name.Name, Bytes = summary.PlaintextLength, Checksum = summary.PlaintextChecksum, Repositories = results };

            // A different file under an archived name is never "archived": report it above everything else.
            var conflict = results.FirstOrDefault(r => r.ErrorId == ErrorIds.WalAlreadyArchivedDifferently);
            var failed = conflict ?? results.FirstOrDefault(r => r.Required && r.Outcome == PushOutcome.Failed);
            if (failed is not null)
            {
                throw new PgDrArchiveException(
                    failed.ErrorId ?? ErrorIds.RepositoryOperationFailed,
                    failed.ErrorId == ErrorIds.WalAlreadyArchivedDifferently ? PgDrErrorCategory.ResourceExists : PgDrErrorCategory.WriteError,
                    $"{name.Name} is not archived: {failed.Error}",
                    name.Name);
            }

            return result;
        }
    }

    private static async Task<RepositoryPushResult> PushToAsync(
        RepositoryEntry entry,
        Func<RepositoryConfig, IArchiveRepository> factory,
        string stanza,
        WalSegmentHeader? header,
        string objectKey,
        string path,
        string encodedPath,
        ArchiveObjectSummary summary,
        ArchiveReadOptions storedObjects,
        CancellationToken cancellationToken)
    {
        try
        {
            var repository = factory(entry.ToRepositoryConfig());
            await using (repository.ConfigureAwait(false))
            {
                if (header is not null)
                {
                    await RepositoryIdentity.EnsureAsync(repository, stanza, header, cancellationToken).ConfigureAwait(false);
                }

                PutOutcome outcome;
                var content = new FileStream(encodedPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
                await using (content.ConfigureAwait(false))
                {
                    outcome = await repository.PutIfAbsentAsync(objectKey, content, cancellationToken).ConfigureAwait(false);
                }

                if (outcome == PutOutcome.Created)
                {
                    return new RepositoryPushResult { Repository = entry.Name, Required = entry.Required, Outcome = PushOutcome.Archived, StoredBytes = summary.StoredLength };
                }

                await VerifySameContentAsync(repository, objectKey, path, summary, storedObjects, cancellationToken).ConfigureAwait(false);
                return new RepositoryPushResult { Repository = entry.Name, Required = entry.Required, Outcome = PushOutcome.AlreadyArchived };
            }
        }
        catch (PgDrException ex)
        {
            return new RepositoryPushResult { Repository = entry.Name, Required = entry.Required, Outcome = PushOutcome.Failed, Error = $"repository '{entry.Name}': {ex.Message}", ErrorId = ex.ErrorId };
        }
    }

    /// <summary>
    /// The name is taken: the push succeeds only when the stored object holds exactly this content (same length and
    /// content checksum), as when PostgreSQL retries a push whose acknowledgement was lost. An object stored with
    /// another checksum algorithm (the configuration changed) is compared by hashing the file again that way.
    /// </summary>
    private static async Task VerifySameContentAsync(IArchiveRepository repository, string objectKey, string path, ArchiveObjectSummary ours, ArchiveReadOptions storedObjects, CancellationToken cancellationToken)
    {
        var stored = await repository.OpenReadAsync(objectKey, cancellationToken).ConfigureAwait(false)
            ?? throw new PgDrException(ErrorIds.RepositoryOperationFailed, PgDrErrorCategory.InvalidOperation, $"{objectKey} was reported as existing but cannot be read.", objectKey);
        ArchiveObjectSummary theirs;
        await using (stored.ConfigureAwait(false))
        {
            theirs = await ArchiveObjectReader.ReadAsync(stored, Stream.Null, storedObjects, cancellationToken).ConfigureAwait(false);
        }

        var ourChecksum = theirs.Header.ContentChecksum == ours.Header.ContentChecksum
            ? ours.PlaintextChecksum
            : await ContentChecksum.ComputeFileAsync(path, theirs.Header.ContentChecksum, cancellationToken).ConfigureAwait(false);
        if (theirs.PlaintextLength != ours.PlaintextLength || !string.Equals(theirs.PlaintextChecksum, ourChecksum, StringComparison.Ordinal))
        {
            throw new PgDrArchiveException(
                ErrorIds.WalAlreadyArchivedDifferently,
                PgDrErrorCategory.ResourceExists,
                $"{Path.GetFileName(objectKey)} is already archived with different content ({theirs.PlaintextLength} bytes, {Abbreviate(theirs.PlaintextChecksum)}; this file {ours.PlaintextLength} bytes, {Abbreviate(ourChecksum)}); nothing was overwritten",
                objectKey);
        }
    }

    private static string Abbreviate(string checksum) => checksum.Length > 20 ? checksum[..20] + "..." : checksum;

    private static async Task<WalSegmentHeader> ReadHeaderAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            return await WalSegmentHeader.ReadFileAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw FileMissing(path, ex);
        }
    }

    private static PgDrException FileMissing(string path, Exception ex) =>
        new(ErrorIds.WalNotFound, PgDrErrorCategory.ObjectNotFound, $"There is no file {path} to archive.", path, ex);
}
