using System.Collections.Concurrent;
using System.Text.Json.Serialization;
using PgDr.Archive.Configuration;
using PgDr.Archive.Encryption;
using PgDr.Archive.Format;
using PgDr.Archive.Repositories;
using PgDr.Archive.Wal;
using PgDr.Errors;
using PgDr.Progress;

namespace PgDr.Archive.Transfer;

/// <summary>One archived WAL object that did not verify.</summary>
public sealed record WalArchiveObjectFailure(string WalFileName, string ErrorId, string Message);

/// <summary>What reading back one repository's WAL archive showed (Test-PgWalArchive, pgdr wal verify).</summary>
public sealed class PgWalArchiveVerification
{
    public required string Repository { get; init; }

    public required string Stanza { get; init; }

    /// <summary>Objects read to their end with every check passed.</summary>
    public long VerifiedCount { get; init; }

    /// <summary>Bytes of WAL the verified objects restore to.</summary>
    public long PlaintextBytes { get; init; }

    /// <summary>Bytes stored (compressed and encrypted) for the verified objects.</summary>
    public long StoredBytes { get; init; }

    /// <summary>The objects that did not verify, by file name; verification went on past each of them.</summary>
    public required IReadOnlyList<WalArchiveObjectFailure> Failures { get; init; }

    public int FailedCount => Failures.Count;

    /// <summary>Why the repository could not be read to the end (unreachable, access denied...); null when it was.</summary>
    [JsonIgnore]
    public PgDrException? Exception { get; init; }

    public string? Error => Exception?.Message;

    public string? ErrorId => Exception?.ErrorId;

    /// <summary>True when the whole repository was read and every object in it verified with the key held.</summary>
    public bool Readable => Exception is null && Failures.Count == 0;

    public override string ToString() =>
        $"{Repository}: {VerifiedCount} verified, {FailedCount} failed{(Exception is null ? string.Empty : $", {ErrorId}")}";
}

/// <summary>How <see cref="WalArchiveVerifier.VerifyAsync"/> reads.</summary>
public sealed class WalArchiveVerifyOptions
{
    /// <summary>Only this repository (by its configured name); all of them when null.</summary>
    public string? Repository { get; init; }

    /// <summary>
    /// The key to read with, in place of the configuration's keyFile/keyEnv (a cmdlet's -EncryptionKey). The caller
    /// keeps ownership and disposes it.
    /// </summary>
    public ArchiveKey? Key { get; init; }

    /// <summary>Objects read at once per repository: each read is mostly waiting on storage, and a repository can hold thousands.</summary>
    public int Parallelism { get; init; } = 4;
}

/// <summary>
/// Proves the WAL archive can be restored with the key held: every archived WAL object is read to its end exactly as
/// restore_command would read it (authentication tags or whole-object SHA-256, decompression, content checksum,
/// length, the name the object holds), without writing anything. A damaged object is reported and the others are
/// still read; a repository that cannot be listed or read fails that repository's result alone.
/// </summary>
public static class WalArchiveVerifier
{
    private const string Activity = "Verifying the WAL archive";

    public static async Task<IReadOnlyList<PgWalArchiveVerification>> VerifyAsync(
        PgDrConfig config,
        WalArchiveVerifyOptions options,
        IProgress<PgDrProgress>? progress,
        CancellationToken cancellationToken,
        Func<RepositoryConfig, IArchiveRepository>? repositoryFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Parallelism, 1);
        var entries = WalArchiveCatalog.SelectRepositories(config, options.Repository);
        var factory = repositoryFactory ?? (c => ArchiveRepositoryFactory.Create(c));

        // A key given by the caller wins over the configured one; only a key loaded here is disposed here.
        using var configuredKey = options.Key is null ? config.LoadKey() : null;
        var key = options.Key ?? configuredKey;

        var results = new List<PgWalArchiveVerification>();
        foreach (var entry in entries)
        {
            results.Add(await VerifyRepositoryAsync(entry, factory, config.Stanza, new ArchiveReadOptions { Key = key, KeyService = config.KeyService, Codecs = config.CodecImplementation }, options.Parallelism, progress, cancellationToken).ConfigureAwait(false));
        }

        return results;
    }

    private static async Task<PgWalArchiveVerification> VerifyRepositoryAsync(
        RepositoryEntry entry,
        Func<RepositoryConfig, IArchiveRepository> factory,
        string stanza,
        ArchiveReadOptions readOptions,
        int parallelism,
        IProgress<PgDrProgress>? progress,
        CancellationToken cancellationToken)
    {
        var tally = new Tally();
        PgDrException? repositoryError = null;
        try
        {
            var repository = factory(entry.ToRepositoryConfig());
            await using (repository.ConfigureAwait(false))
            {
                var parallel = new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken };
                await Parallel.ForEachAsync(WalArchiveCatalog.ListWalFilesAsync(repository, stanza, cancellationToken), parallel, async (file, ct) =>
                {
                    await VerifyObjectAsync(repository, file.Name, file.Info, readOptions, tally, ct).ConfigureAwait(false);
                    progress?.Report(new PgDrProgress(Activity, $"{entry.Name}: {tally.Verified} verified, {tally.Failures.Count} failed"));
                }).ConfigureAwait(false);
            }
        }
        catch (PgDrException ex)
        {
            // The repository itself failed (unreachable, access denied, misconfigured): the others are still verified.
            repositoryError = ex;
        }

        return new PgWalArchiveVerification
        {
            Repository = entry.Name,
            Stanza = stanza,
            VerifiedCount = tally.Verified,
            PlaintextBytes = tally.PlaintextBytes,
            StoredBytes = tally.StoredBytes,
            Failures = tally.Failures.OrderBy(f => f.WalFileName, StringComparer.Ordinal).ToList(),
            Exception = repositoryError,
        };
    }

    private static async Task VerifyObjectAsync(IArchiveRepository repository, WalFileName name, ArchiveObjectInfo info, ArchiveReadOptions readOptions, Tally tally, CancellationToken cancellationToken)
    {
        try
        {
            var stored = await repository.OpenReadAsync(info.Key, cancellationToken).ConfigureAwait(false);
            if (stored is null)
            {
                // Deleted between the listing and the read: nothing is left that recovery could fail on.
                return;
            }

            await using (stored.ConfigureAwait(false))
            {
                var summary = await ArchiveObjectReader.ReadAsync(stored, Stream.Null, readOptions, cancellationToken).ConfigureAwait(false);
                WalFetchService.EnsureHolds(summary, name);
                tally.Add(summary);
            }
        }
        catch (PgDrException ex) when (ex is not PgDrRepositoryException)
        {
            // About this object alone (damaged, another key, not encrypted...): report it and read the rest.
            tally.Failures.Add(new WalArchiveObjectFailure(name.Name, ex.ErrorId, ex.Message));
        }
        catch (IOException ex)
        {
            // The repositories map their own failures; a stream that breaks while it is read (a dropped connection,
            // a bad disk block) reaches here raw and is a failure to read this object.
            tally.Failures.Add(new WalArchiveObjectFailure(name.Name, ErrorIds.RepositoryOperationFailed, $"Reading {name.Name} failed: {ex.Message}"));
        }
    }

    private sealed class Tally
    {
        private long _verified;
        private long _plaintextBytes;
        private long _storedBytes;

        public ConcurrentBag<WalArchiveObjectFailure> Failures { get; } = [];

        public long Verified => Interlocked.Read(ref _verified);

        public long PlaintextBytes => Interlocked.Read(ref _plaintextBytes);

        public long StoredBytes => Interlocked.Read(ref _storedBytes);

        public void Add(ArchiveObjectSummary summary)
        {
            Interlocked.Add(ref _plaintextBytes, summary.PlaintextLength);
            Interlocked.Add(ref _storedBytes, summary.StoredLength);
            Interlocked.Increment(ref _verified);
        }
    }
}
