using PgDr.Archive;
using PgDr.Archive.Configuration;
using PgDr.Archive.Encryption;
using PgDr.Archive.Format;
using PgDr.Archive.Repositories;
using PgDr.Backup.Catalog;
using PgDr.Backup.Create;
using PgDr.Backup.Restore;
using PgDr.Backup.Retention;
using PgDr.Backup.Verify;
using PgDr.Errors;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Backup;

/// <summary>
/// A cluster whose configuration encrypts with encryption.kms alone (moto_server's KMS): no key on the host, WAL and
/// backups both wrapped. A cluster of its own because its archive_command must push through KMS too: a restore of a
/// kms-only backup replays WAL that only the key service opens.
/// </summary>
public sealed class KmsArchivedClusterFixture : FileSystemArchivedClusterFixture
{
    private readonly MotoKmsFixture _kms = new();

    public MotoKmsFixture Kms => _kms;

    public string KeyId { get; private set; } = string.Empty;

    /// <summary>The fixture's configuration with another encryption.kms (a wrong key id, an identity without a grant).</summary>
    public PgDrConfig ConfigWith(Dictionary<string, object> kms) =>
        PgDrConfig.Parse(ArchiveTestSupport.ConfigJson(Stanza, [ArchiveTestSupport.FileSystemRepository("local", RepositoryPath)], "zstd", kms: kms), "test");

    // The credentials' variables are set before the sandbox starts: PostgreSQL, and so archive_command, inherit them.
    protected override async Task<string> ConfigJsonAsync(IReadOnlyList<object> repositories)
    {
        await _kms.InitializeAsync();
        (KeyId, _) = await _kms.NewKeyAsync();
        return ArchiveTestSupport.ConfigJson(Stanza, repositories, "zstd", kms: _kms.KmsConfig(KeyId));
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _kms.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class KmsBackups : ICollectionFixture<KmsArchivedClusterFixture>
{
    public const string Name = "Backups encrypted through AWS KMS";
}

/// <summary>
/// Base backups with envelope encryption: every object and catalog document carries the backup's one wrapped data key
/// (format 3), and listing, restore, Test-PgBackup, retention and the incremental's prior manifest open them through
/// the key service; a key the service refuses stops the backup before anything is written.
/// </summary>
[Collection(KmsBackups.Name)]
public sealed class KmsBackupTests(KmsArchivedClusterFixture fixture)
{
    [Fact]
    public async Task A_kms_only_full_and_incremental_backup_is_wrapped_with_one_data_key_each_and_lists_restores_delta_restores_and_tests()
    {
        var primary = fixture.Primary;
        Assert.Null(fixture.Config.Encryption?.KeyFile);
        Assert.Null(fixture.Config.Encryption?.KeyEnv);
        Assert.Null(fixture.Config.LoadKey());
        await Sql.ExecuteAsync(primary, "DROP TABLE IF EXISTS markers, kms_rows; CREATE TABLE markers (id int PRIMARY KEY); CREATE TABLE kms_rows AS SELECT g AS id FROM generate_series(1, 5000) g");

        var (full, fullKeys) = await BackupAsync(BackupType.Full);
        await Sql.ExecuteAsync(primary, "INSERT INTO kms_rows SELECT g FROM generate_series(5001, 6000) g");
        var (incremental, incrementalKeys) = await BackupAsync(BackupType.Incremental);
        var markers = await MarkerTimeline.WriteAsync(primary, "kms-markers");
        await fixture.ArchiveCurrentSegmentAsync();

        // One data key per backup: the service was asked once, and every object of the backup carries that one wrapped key.
        Assert.Equal((1, 1), (fullKeys.DataKeyCalls, incrementalKeys.DataKeyCalls));
        Assert.Equal((BackupType.Incremental, full.Label), (incremental.Type, incremental.Prior));
        var fullWrapped = await WrappedKeysOfAsync(full.Label);
        var incrementalWrapped = await WrappedKeysOfAsync(incremental.Label);
        Assert.Equal(fullKeys.Issued, Assert.Single(fullWrapped));
        Assert.Equal(incrementalKeys.Issued, Assert.Single(incrementalWrapped));
        Assert.Contains(incrementalKeys.Unwrapped, w => w.SequenceEqual(fullKeys.Issued!)); // the prior manifest, opened through the service

        var listed = await BackupCatalog.ListAsync(fixture.Config, null, CancellationToken.None);
        Assert.Contains(listed, b => b.Label == full.Label);
        Assert.Contains(full.Label, listed.Single(b => b.Label == incremental.Label).References);
        var expiry = await RetentionService.PlanAsync(fixture.Config, new RetentionRequest { KeepFull = 1, ExpireWal = false }, CancellationToken.None);
        Assert.DoesNotContain(expiry, e => e.Label == full.Label || e.Label == incremental.Label);

        var time = markers.Targets(incremental.Label).Single(t => t.Name == "time");
        await using var restored = await RestoredCluster.RestoreAsync(fixture, time.Request);
        await restored.StartAndWaitForPromotionAsync();
        Assert.Equal(time.Expected, await restored.MarkersAsync());
        Assert.Equal(6000L, await Sql.ScalarAsync<long>(restored.Instance, "SELECT count(*) FROM kms_rows"));

        // A delta restore of the full backup over that (now diverged) copy rewrites what differs, through the key service too.
        await restored.Cluster.StopAsync(PgDr.Hosting.StopMode.Fast, CancellationToken.None);
        await using var delta = await RestoredCluster.RestoreAsync(
            fixture, d => new RestoreRequest { DataDirectory = d, Label = full.Label, Immediate = true, TargetAction = RecoveryTargetAction.Promote, Delta = true }, restored.DataDirectory);
        Assert.True(delta.Result.FilesKept > 0, "a delta restore keeps the files that match");
        await delta.StartAndWaitForPromotionAsync();
        Assert.Equal(5000L, await Sql.ScalarAsync<long>(delta.Instance, "SELECT count(*) FROM kms_rows"));
        await delta.Cluster.StopAsync(PgDr.Hosting.StopMode.Fast, CancellationToken.None);

        var test = Assert.Single(await BackupTestService.TestAsync(
            fixture.Config,
            new BackupTestRequest { Label = incremental.Label, Tables = ["public.kms_rows"], Amcheck = false, PgDrPath = PgDrForPostgres.ExecutablePath, ScratchDirectory = TestDirectories.Root },
            progress: null,
            CancellationToken.None));
        Assert.True(test.Success, string.Join(Environment.NewLine, test.Steps));
        Assert.Equal("passed", test.VerifyResult);
        Assert.Equal(6000, test.RowCounts["public.kms_rows"]);
    }

    [Fact]
    public async Task A_key_the_service_refuses_stops_the_backup_with_KmsKeyUnusable_and_leaves_no_catalog_entry() =>
        // moto does not model a disabled key; a withdrawn grant is how AWS refuses the same way (see MotoKmsFixture).
        await AssertBackupRefusedAsync(fixture.ConfigWith(fixture.Kms.KmsConfig(fixture.KeyId, revoked: true)));

    [Fact]
    public async Task A_wrong_key_id_stops_the_backup_with_KmsKeyUnusable_and_leaves_no_catalog_entry() =>
        await AssertBackupRefusedAsync(fixture.ConfigWith(fixture.Kms.KmsConfig("alias/pgdr-no-such-key-" + Guid.NewGuid().ToString("N")[..8])));

    [Fact]
    public async Task With_a_key_file_beside_kms_new_backups_are_wrapped_and_the_key_file_still_opens_older_ones_as_for_WAL()
    {
        var directory = await ArchiveTestSupport.NewDirectoryAsync("kms-both");
        var keyFile = await ArchiveTestSupport.NewKeyFileAsync(directory);
        var repositoryEntry = ArchiveTestSupport.FileSystemRepository("local", Directory.CreateDirectory(Path.Combine(directory, "repo")).FullName);
        var keyOnly = ArchiveTestSupport.Config("both", [repositoryEntry], "zstd", keyFile);
        var both = PgDrConfig.Parse(ArchiveTestSupport.ConfigJson("both", [repositoryEntry], "zstd", keyFile, kms: fixture.Kms.KmsConfig(fixture.KeyId)), "test");
        var kmsOnly = PgDrConfig.Parse(ArchiveTestSupport.ConfigJson("both", [repositoryEntry], "zstd", kms: fixture.Kms.KmsConfig(fixture.KeyId)), "test");
        await using var repository = new FileSystemArchiveRepository("local", Path.Combine(directory, "repo"));

        // What a backup writes with each configuration (its catalog documents and data objects share DocumentEncoding).
        foreach (var (config, label) in new[] { (keyOnly, "20261201-000001F"), (both, "20261201-000002F") })
        {
            using var keys = BackupKeys.Load(config);
            var encoding = await keys.EncodingAsync(CancellationToken.None);
            var started = new BackupStarted { Label = label, Host = "test", StartedAt = DateTimeOffset.UtcNow };
            await CatalogDocument.PutAsync(repository, BackupLayout.StartedKey("both", label), started, BackupJsonContext.Default.BackupStarted, encoding, CancellationToken.None);
        }

        Assert.Equal((ArchiveFormat.Version, ArchiveCipher.Aes256Gcm), await FormatOfAsync(repository, BackupLayout.StartedKey("both", "20261201-000001F")));
        Assert.Equal((ArchiveFormat.WrappedKeyVersion, ArchiveCipher.Aes256GcmWrappedKey), await FormatOfAsync(repository, BackupLayout.StartedKey("both", "20261201-000002F")));
        using (var keys = BackupKeys.Load(both))
        {
            foreach (var label in new[] { "20261201-000001F", "20261201-000002F" })
            {
                var read = await CatalogDocument.ReadAsync(repository, BackupLayout.StartedKey("both", label), BackupJsonContext.Default.BackupStarted, keys.Read, CancellationToken.None);
                Assert.Equal(label, read?.Label);
            }
        }

        using var kmsAlone = BackupKeys.Load(kmsOnly);
        var error = await Assert.ThrowsAnyAsync<PgDrException>(() =>
            CatalogDocument.ReadAsync(repository, BackupLayout.StartedKey("both", "20261201-000001F"), BackupJsonContext.Default.BackupStarted, kmsAlone.Read, CancellationToken.None));
        Assert.Equal(ErrorIds.ArchiveKeyRequired, error.ErrorId);
    }

    private async Task AssertBackupRefusedAsync(PgDrConfig config)
    {
        var before = CatalogEntries();

        var error = await Assert.ThrowsAnyAsync<PgDrException>(() => BackupService.CreateAsync(config, new BackupRequest { Instance = fixture.Primary }, progress: null, CancellationToken.None));

        Assert.Equal(ErrorIds.KmsKeyUnusable, error.ErrorId);
        Assert.Equal(before, CatalogEntries());
    }

    private async Task<(PgBackupResult Result, CountingKeyService Keys)> BackupAsync(BackupType type)
    {
        // A configuration object per backup, as each pgdr or cmdlet call loads its own.
        var config = fixture.Config;
        var keys = new CountingKeyService(config.KeyService!);
        config.KeyService = keys;
        var result = await BackupService.CreateAsync(config, new BackupRequest { Instance = fixture.Primary, Type = type }, progress: null, CancellationToken.None);
        return (result, keys);
    }

    /// <summary>The distinct wrapped keys in the headers of a backup's data objects and catalog documents, each checked to be format 3 / cipher 2.</summary>
    private async Task<IReadOnlyList<byte[]>> WrappedKeysOfAsync(string label)
    {
        var backupRoot = Path.Combine(fixture.RepositoryPath, "main", "backup");
        var files = Directory.EnumerateFiles(Path.Combine(backupRoot, "data", label))
            .Concat(Directory.EnumerateFiles(Path.Combine(backupRoot, "catalog"), label + ".*"))
            .ToList();
        Assert.Contains(files, f => f.EndsWith(BackupLayout.ManifestSuffix, StringComparison.Ordinal));
        var wrapped = new List<byte[]>();
        foreach (var file in files)
        {
            await using var stored = File.OpenRead(file);
            var header = await ArchiveObjectHeader.ReadAsync(stored, CancellationToken.None);
            Assert.True(header.FormatVersion == ArchiveFormat.WrappedKeyVersion && header.Cipher == ArchiveCipher.Aes256GcmWrappedKey, $"{file}: format {header.FormatVersion}, cipher {header.Cipher}");
            if (!wrapped.Any(w => w.SequenceEqual(header.WrappedKey!)))
            {
                wrapped.Add(header.WrappedKey!);
            }
        }

        return wrapped;
    }

    private static async Task<(byte Version, ArchiveCipher Cipher)> FormatOfAsync(FileSystemArchiveRepository repository, string key)
    {
        await using var stored = (await repository.OpenReadAsync(key, CancellationToken.None))!;
        var header = await ArchiveObjectHeader.ReadAsync(stored, CancellationToken.None);
        return (header.FormatVersion, header.Cipher);
    }

    private string[] CatalogEntries()
    {
        var catalog = Path.Combine(fixture.RepositoryPath, "main", "backup", "catalog");
        return Directory.Exists(catalog) ? [.. Directory.EnumerateFiles(catalog).Order(StringComparer.Ordinal)] : [];
    }
}

/// <summary>Counts what a backup asks of the key service (the real one, behind it, caches as it always does).</summary>
internal sealed class CountingKeyService(IArchiveKeyService inner) : IArchiveKeyService
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<byte[]> _unwrapped = new();
    private int _dataKeyCalls;

    public string Description => inner.Description;

    public int DataKeyCalls => _dataKeyCalls;

    /// <summary>The wrapped key the service handed out (null before the first call).</summary>
    public byte[]? Issued { get; private set; }

    public IReadOnlyCollection<byte[]> Unwrapped => _unwrapped;

    public async Task<WrappedDataKey> DataKeyAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _dataKeyCalls);
        var key = await inner.DataKeyAsync(cancellationToken);
        Issued = key.Wrapped;
        return key;
    }

    public Task<ArchiveKey> UnwrapAsync(byte[] wrappedKey, CancellationToken cancellationToken)
    {
        _unwrapped.Enqueue(wrappedKey);
        return inner.UnwrapAsync(wrappedKey, cancellationToken);
    }

    public void Dispose() => inner.Dispose();
}
