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

        var objectKey = ArchiveLayout.WalKey(config.Stanza, name);
        var storedObjects = new ArchiveReadOptions { Key = key, KeyService = config.KeyService, AllowUnencrypted = true, Codecs = config.CodecImplementation };
        var file = new FileChecksums(path);
        var targets = config.Repositories.Select(entry => new Target(entry, factory)).ToArray();
        try
        {
            if (await ArchivedEverywhereAsync(targets, objectKey, file, storedObjects, cancellationToken).ConfigureAwait(false))
            {
                var checksum = await file.ChecksumAsync(config.ChecksumAlgorithm, cancellationToken).ConfigureAwait(false);
                return Conclude(name, [.. targets.Select(t => AlreadyArchived(t.Entry))], file.Length, checksum);
            }

            return await EncodeAndStoreAsync(config, name, header, dataKey, key, targets, objectKey, file, storedObjects, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            foreach (var target in targets)
            {
                await target.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>The file is encoded once into a private temporary file, then stored create-only in every repository at once.</summary>
    private static async Task<WalPushResult> EncodeAndStoreAsync(
        PgDrConfig config,
        WalFileName name,
        WalSegmentHeader? header,
        WrappedDataKey? dataKey,
        ArchiveKey? key,
        Target[] targets,
        string objectKey,
        FileChecksums file,
        ArchiveReadOptions storedObjects,
        CancellationToken cancellationToken)
    {
        var path = file.Path;
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

            file.Know(summary.PlaintextLength, summary.Header.ContentChecksum, summary.PlaintextChecksum);
            var results = await Task.WhenAll(targets.Select(target =>
                PushToAsync(target, config.Stanza, header, objectKey, file, tempPath, summary, storedObjects, cancellationToken))).ConfigureAwait(false);
            return Conclude(name, results, summary.PlaintextLength, summary.PlaintextChecksum);
        }
    }

    /// <summary>Archived only when every required repository holds it; a different file under the name above all else.</summary>
    private static WalPushResult Conclude(WalFileName name, RepositoryPushResult[] results, long bytes, string checksum)
    {
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

        return new WalPushResult { WalFileName = name.Name, Bytes = bytes, Checksum = checksum, Repositories = results };
    }

    /// <summary>
    /// PostgreSQL pushes a file again when the acknowledgement of an earlier push was lost (a crash, a timeout). When
    /// every repository already holds the name with this content, the file is only hashed and compared with each
    /// stored object's authenticated final record: no encoding, no upload (pgBackRest's archive-push also recognises a
    /// duplicate by its checksum). False when any repository lacks the name, holds other content or cannot say: the
    /// push itself then stores it, or reports why not with the same errors as ever (another cluster's stanza first).
    /// </summary>
    private static async Task<bool> ArchivedEverywhereAsync(Target[] targets, string objectKey, FileChecksums file, ArchiveReadOptions storedObjects, CancellationToken cancellationToken)
    {
        var held = await Task.WhenAll(targets.Select(t => t.LookUpAsync(objectKey, cancellationToken))).ConfigureAwait(false);
        if (!held.All(h => h))
        {
            return false;
        }

        try
        {
            await Task.WhenAll(targets.Select(t => VerifySameContentAsync(t.Repository, objectKey, file, storedObjects, cancellationToken))).ConfigureAwait(false);
            return true;
        }
        catch (PgDrException ex) when (ex.ErrorId != ErrorIds.WalNotFound)
        {
            return false;
        }
    }

    private static async Task<RepositoryPushResult> PushToAsync(
        Target target,
        string stanza,
        WalSegmentHeader? header,
        string objectKey,
        FileChecksums file,
        string encodedPath,
        ArchiveObjectSummary summary,
        ArchiveReadOptions storedObjects,
        CancellationToken cancellationToken)
    {
        if (target.Failure is { } failure)
        {
            return Failed(target.Entry, failure);
        }

        try
        {
            var repository = target.Repository;
            if (header is not null)
            {
                await RepositoryIdentity.EnsureAsync(repository, stanza, header, cancellationToken).ConfigureAwait(false);
            }

            // A repository seen holding the name is not uploaded to again; its object is compared instead.
            if (!target.Holds)
            {
                PutOutcome outcome;
                var content = new FileStream(encodedPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
                await using (content.ConfigureAwait(false))
                {
                    outcome = await repository.PutIfAbsentAsync(objectKey, content, cancellationToken).ConfigureAwait(false);
                }

                if (outcome == PutOutcome.Created)
                {
                    return new RepositoryPushResult { Repository = target.Entry.Name, Required = target.Entry.Required, Outcome = PushOutcome.Archived, StoredBytes = summary.StoredLength };
                }
            }

            await VerifySameContentAsync(repository, objectKey, file, storedObjects, cancellationToken).ConfigureAwait(false);
            return AlreadyArchived(target.Entry);
        }
        catch (PgDrException ex)
        {
            return Failed(target.Entry, ex);
        }
    }

    private static RepositoryPushResult AlreadyArchived(RepositoryEntry entry) =>
        new() { Repository = entry.Name, Required = entry.Required, Outcome = PushOutcome.AlreadyArchived };

    private static RepositoryPushResult Failed(RepositoryEntry entry, PgDrException ex) =>
        new() { Repository = entry.Name, Required = entry.Required, Outcome = PushOutcome.Failed, Error = $"repository '{entry.Name}': {ex.Message}", ErrorId = ex.ErrorId };

    /// <summary>
    /// The name is taken: the push succeeds only when the stored object holds exactly this content (same length and
    /// content checksum), as when PostgreSQL retries a push whose acknowledgement was lost. Only the stored object's
    /// authenticated final record is read (nothing decompressed); an object stored with another checksum algorithm
    /// (the configuration changed) is compared by hashing the file that way.
    /// </summary>
    private static async Task VerifySameContentAsync(IArchiveRepository repository, string objectKey, FileChecksums file, ArchiveReadOptions storedObjects, CancellationToken cancellationToken)
    {
        var stored = await repository.OpenReadAsync(objectKey, cancellationToken).ConfigureAwait(false)
            ?? throw new PgDrException(ErrorIds.RepositoryOperationFailed, PgDrErrorCategory.InvalidOperation, $"{objectKey} was reported as existing but cannot be read.", objectKey);
        ArchiveObjectSummary theirs;
        await using (stored.ConfigureAwait(false))
        {
            theirs = await ArchiveObjectReader.ReadRecordedAsync(stored, storedObjects, cancellationToken).ConfigureAwait(false);
        }

        var ourChecksum = await file.ChecksumAsync(theirs.Header.ContentChecksum, cancellationToken).ConfigureAwait(false);
        if (theirs.PlaintextLength != file.Length || !string.Equals(theirs.PlaintextChecksum, ourChecksum, StringComparison.Ordinal))
        {
            throw new PgDrArchiveException(
                ErrorIds.WalAlreadyArchivedDifferently,
                PgDrErrorCategory.ResourceExists,
                $"{Path.GetFileName(objectKey)} is already archived with different content ({theirs.PlaintextLength} bytes, {Abbreviate(theirs.PlaintextChecksum)}; this file {file.Length} bytes, {Abbreviate(ourChecksum)}); nothing was overwritten",
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

    /// <summary>
    /// The file's length and content checksums, each computed at most once (several repositories may compare with it,
    /// and the encoding already knows the configured algorithm's).
    /// </summary>
    private sealed class FileChecksums(string path)
    {
        public string Path => path;

        private readonly Dictionary<ContentChecksumAlgorithm, Task<string>> _checksums = [];
        private long? _length;

        public long Length => _length ??= Measure();

        public void Know(long length, ContentChecksumAlgorithm algorithm, string checksum)
        {
            _length = length;
            _checksums[algorithm] = Task.FromResult(checksum);
        }

        public Task<string> ChecksumAsync(ContentChecksumAlgorithm algorithm, CancellationToken cancellationToken)
        {
            lock (_checksums)
            {
                if (!_checksums.TryGetValue(algorithm, out var checksum))
                {
                    checksum = ComputeAsync(algorithm, cancellationToken);
                    _checksums[algorithm] = checksum;
                }

                return checksum;
            }
        }

        private async Task<string> ComputeAsync(ContentChecksumAlgorithm algorithm, CancellationToken cancellationToken)
        {
            try
            {
                return await ContentChecksum.ComputeFileAsync(path, algorithm, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
            {
                throw FileMissing(path, ex);
            }
        }

        private long Measure()
        {
            try
            {
                return new FileInfo(path).Length;
            }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
            {
                throw FileMissing(path, ex);
            }
        }
    }

    /// <summary>One configured repository of this push, opened on first use and shared by the duplicate check and the upload.</summary>
    private sealed class Target(RepositoryEntry entry, Func<RepositoryConfig, IArchiveRepository> factory) : IAsyncDisposable
    {
        private IArchiveRepository? _repository;

        public RepositoryEntry Entry => entry;

        /// <summary>Opened when first asked for, so a repository that cannot be opened fails only its own part of the push.</summary>
        public IArchiveRepository Repository => _repository ??= factory(entry.ToRepositoryConfig());

        /// <summary>True once the repository said it holds the name.</summary>
        public bool Holds { get; private set; }

        /// <summary>Why the repository could not be asked (unreachable, access denied): the push reports it without asking again.</summary>
        public PgDrException? Failure { get; private set; }

        public async Task<bool> LookUpAsync(string objectKey, CancellationToken cancellationToken)
        {
            try
            {
                Holds = await Repository.StatAsync(objectKey, cancellationToken).ConfigureAwait(false) is not null;
            }
            catch (PgDrException ex)
            {
                Failure = ex;
            }

            return Holds;
        }

        public ValueTask DisposeAsync() => _repository?.DisposeAsync() ?? ValueTask.CompletedTask;
    }
}
