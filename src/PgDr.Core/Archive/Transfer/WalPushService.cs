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
/// pgdr wal push: PostgreSQL's archive_command. Every repository is first asked (at once) for the cluster's identity
/// and whether it already holds the name. When all of them do (PostgreSQL pushes again after a lost acknowledgement,
/// or after another repository failed), the file is only hashed and compared with what they recorded. Otherwise it is
/// read once, compressed and encrypted once into a private temporary file (constant memory, whatever the segment
/// size), then stored create-only in every repository at once. It counts as archived only when every required
/// repository holds it.
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

        WalSegmentHeader? header = null;
        if (name.Kind is WalFileKind.Segment or WalFileKind.Partial)
        {
            header = await ReadHeaderAsync(path, cancellationToken).ConfigureAwait(false);
        }

        var objectKey = ArchiveLayout.WalKey(config.Stanza, name);
        var targets = config.Repositories.Select(entry => Target.Open(entry, factory)).ToList();
        try
        {
            await Task.WhenAll(targets.Select(t => t.PrepareAsync(config.Stanza, header, objectKey, cancellationToken))).ConfigureAwait(false);
            var local = new LocalFile(path);
            var reachable = targets.Where(t => t.Failure is null).ToList();
            WalPushResult result;
            if (reachable.Count > 0 && reachable.All(t => t.HoldsObject))
            {
                CheckSegmentLength(path, name, header, local.Length);
                var results = await Task.WhenAll(targets.Select(t => t.ConfirmAsync(objectKey, local, key, cancellationToken))).ConfigureAwait(false);
                result = new WalPushResult { WalFileName = name.Name, Bytes = local.Length, Checksum = await local.ChecksumAsync(config.ChecksumAlgorithm, cancellationToken).ConfigureAwait(false), Repositories = results };
            }
            else
            {
                result = await EncodeAndStoreAsync(config, name, header, objectKey, path, local, targets, key, cancellationToken).ConfigureAwait(false);
            }

            // A different file under an archived name is never "archived": report it above everything else.
            var conflict = result.Repositories.FirstOrDefault(r => r.ErrorId == ErrorIds.WalAlreadyArchivedDifferently);
            var failed = conflict ?? result.Repositories.FirstOrDefault(r => r.Required && r.Outcome == PushOutcome.Failed);
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
        finally
        {
            foreach (var target in targets)
            {
                await target.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static async Task<WalPushResult> EncodeAndStoreAsync(
        PgDrConfig config,
        WalFileName name,
        WalSegmentHeader? header,
        string objectKey,
        string path,
        LocalFile local,
        List<Target> targets,
        ArchiveKey? key,
        CancellationToken cancellationToken)
    {
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
                summary = await ArchiveObjectWriter.WriteFileAsync(path, encoded, new ArchiveObjectOptions { Name = name.Name, Compression = config.CompressionSpec, Checksum = config.ChecksumAlgorithm, Key = key }, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
            {
                throw FileMissing(path, ex);
            }

            await encoded.FlushAsync(cancellationToken).ConfigureAwait(false);
            CheckSegmentLength(path, name, header, summary.PlaintextLength);
            local.Encoded(summary);
            var results = await Task.WhenAll(targets.Select(t => t.StoreAsync(objectKey, tempPath, summary, local, key, cancellationToken))).ConfigureAwait(false);
            return new WalPushResult { WalFileName = name.Name, Bytes = summary.PlaintextLength, Checksum = summary.PlaintextChecksum, Repositories = results };
        }
    }

    private static void CheckSegmentLength(string path, WalFileName name, WalSegmentHeader? header, long length)
    {
        if (header is not null && name.Kind == WalFileKind.Segment && length != header.SegmentSize)
        {
            throw new PgDrArchiveException(
                ErrorIds.NotAWalSegment,
                PgDrErrorCategory.InvalidData,
                $"{path} has {length} bytes but its header says segments are {header.SegmentSize} bytes; refusing to archive a truncated segment.",
                path);
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
    /// The file being pushed: its length, and its content checksum per algorithm, each computed at most once (from the
    /// encoding when there was one, otherwise by hashing the file).
    /// </summary>
    private sealed class LocalFile(string path)
    {
        private readonly Dictionary<ContentChecksumAlgorithm, Task<string>> _checksums = [];

        public long Length { get; private set; } = ReadLength(path);

        public void Encoded(ArchiveObjectSummary summary)
        {
            Length = summary.PlaintextLength;
            lock (_checksums)
            {
                _checksums[summary.Header.ContentChecksum] = Task.FromResult(summary.PlaintextChecksum);
            }
        }

        public Task<string> ChecksumAsync(ContentChecksumAlgorithm algorithm, CancellationToken cancellationToken)
        {
            lock (_checksums)
            {
                if (!_checksums.TryGetValue(algorithm, out var checksum))
                {
                    checksum = ContentChecksum.ComputeFileAsync(path, algorithm, cancellationToken);
                    _checksums[algorithm] = checksum;
                }

                return checksum;
            }
        }

        private static long ReadLength(string path)
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

    /// <summary>One repository of this push, from opening it to its result.</summary>
    private sealed class Target : IAsyncDisposable
    {
        private readonly RepositoryEntry _entry;
        private readonly IArchiveRepository? _repository;

        private Target(RepositoryEntry entry, IArchiveRepository? repository, RepositoryPushResult? failure)
        {
            _entry = entry;
            _repository = repository;
            Failure = failure;
        }

        /// <summary>Set when the repository could not be opened or prepared; it then takes no further part.</summary>
        public RepositoryPushResult? Failure { get; private set; }

        /// <summary>Whether the repository already held an object under the name when it was prepared.</summary>
        public bool HoldsObject { get; private set; }

        public static Target Open(RepositoryEntry entry, Func<RepositoryConfig, IArchiveRepository> factory)
        {
            try
            {
                return new Target(entry, factory(entry.ToRepositoryConfig()), null);
            }
            catch (PgDrException ex)
            {
                return new Target(entry, null, null) { Failure = Failed(entry, ex) };
            }
        }

        /// <summary>The cluster's identity (created on first use, another cluster's segment refused) and whether the name is taken.</summary>
        public async Task PrepareAsync(string stanza, WalSegmentHeader? header, string objectKey, CancellationToken cancellationToken)
        {
            if (Failure is not null)
            {
                return;
            }

            try
            {
                if (header is not null)
                {
                    await RepositoryIdentity.EnsureAsync(_repository!, stanza, header, cancellationToken).ConfigureAwait(false);
                }

                HoldsObject = await _repository!.StatAsync(objectKey, cancellationToken).ConfigureAwait(false) is not null;
            }
            catch (PgDrException ex)
            {
                Failure = Failed(_entry, ex);
            }
        }

        /// <summary>The repository already holds the name: the push succeeds there only if it holds this very content.</summary>
        public async Task<RepositoryPushResult> ConfirmAsync(string objectKey, LocalFile local, ArchiveKey? key, CancellationToken cancellationToken)
        {
            if (Failure is not null)
            {
                return Failure;
            }

            try
            {
                await VerifySameContentAsync(objectKey, local, key, cancellationToken).ConfigureAwait(false);
                return Result(PushOutcome.AlreadyArchived);
            }
            catch (PgDrException ex)
            {
                return Failed(_entry, ex);
            }
        }

        /// <summary>
        /// Stores the encoded object create-only; where the name was taken (before or meanwhile) it compares as
        /// <see cref="ConfirmAsync"/> does instead.
        /// </summary>
        public async Task<RepositoryPushResult> StoreAsync(string objectKey, string encodedPath, ArchiveObjectSummary summary, LocalFile local, ArchiveKey? key, CancellationToken cancellationToken)
        {
            if (Failure is not null)
            {
                return Failure;
            }

            try
            {
                if (HoldsObject)
                {
                    await VerifySameContentAsync(objectKey, local, key, cancellationToken).ConfigureAwait(false);
                    return Result(PushOutcome.AlreadyArchived);
                }

                PutOutcome outcome;
                var content = new FileStream(encodedPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
                await using (content.ConfigureAwait(false))
                {
                    outcome = await _repository!.PutIfAbsentAsync(objectKey, content, cancellationToken).ConfigureAwait(false);
                }

                if (outcome == PutOutcome.Created)
                {
                    return Result(PushOutcome.Archived, summary.StoredLength);
                }

                await VerifySameContentAsync(objectKey, local, key, cancellationToken).ConfigureAwait(false);
                return Result(PushOutcome.AlreadyArchived);
            }
            catch (PgDrException ex)
            {
                return Failed(_entry, ex);
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_repository is not null)
            {
                await _repository.DisposeAsync().ConfigureAwait(false);
            }
        }

        private static RepositoryPushResult Failed(RepositoryEntry entry, PgDrException ex) =>
            new() { Repository = entry.Name, Required = entry.Required, Outcome = PushOutcome.Failed, Error = $"repository '{entry.Name}': {ex.Message}", ErrorId = ex.ErrorId };

        private RepositoryPushResult Result(PushOutcome outcome, long storedBytes = 0) =>
            new() { Repository = _entry.Name, Required = _entry.Required, Outcome = outcome, StoredBytes = storedBytes };

        /// <summary>
        /// Same length and content checksum as the file, as the stored object's authenticated final record states them
        /// (nothing is decompressed). An object stored with another checksum algorithm (the configuration changed) is
        /// compared by hashing the file that way.
        /// </summary>
        private async Task VerifySameContentAsync(string objectKey, LocalFile local, ArchiveKey? key, CancellationToken cancellationToken)
        {
            var stored = await _repository!.OpenReadAsync(objectKey, cancellationToken).ConfigureAwait(false)
                ?? throw new PgDrException(ErrorIds.RepositoryOperationFailed, PgDrErrorCategory.InvalidOperation, $"{objectKey} was reported as existing but cannot be read.", objectKey);
            ArchiveObjectSummary theirs;
            await using (stored.ConfigureAwait(false))
            {
                theirs = await ArchiveObjectReader.ReadRecordedAsync(stored, new ArchiveReadOptions { Key = key, AllowUnencrypted = true }, cancellationToken).ConfigureAwait(false);
            }

            var ourChecksum = await local.ChecksumAsync(theirs.Header.ContentChecksum, cancellationToken).ConfigureAwait(false);
            if (theirs.PlaintextLength != local.Length || !string.Equals(theirs.PlaintextChecksum, ourChecksum, StringComparison.Ordinal))
            {
                throw new PgDrArchiveException(
                    ErrorIds.WalAlreadyArchivedDifferently,
                    PgDrErrorCategory.ResourceExists,
                    $"{Path.GetFileName(objectKey)} is already archived with different content ({theirs.PlaintextLength} bytes, {Abbreviate(theirs.PlaintextChecksum)}; this file {local.Length} bytes, {Abbreviate(ourChecksum)}); nothing was overwritten",
                    objectKey);
            }
        }
    }
}
