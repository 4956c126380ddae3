using System.Text.Json;
using PgDr.Archive;
using PgDr.Archive.Configuration;
using PgDr.Archive.Encryption;
using PgDr.Archive.Format;
using PgDr.Archive.Repositories;
using PgDr.Archive.Stanza;
using PgDr.Archive.Transfer;
using PgDr.Archive.Wal;
using PgDr.Errors;
using PgDr.Tests.Archive.Async;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Archive.Encryption;

/// <summary>
/// Envelope encryption with AWS KMS against moto_server: real WAL pushed and fetched with no key on the host, the
/// wrapped data key in each object, rotation to a new key without rewriting, the way from a key file to KMS, and a
/// disabled key or a wrong key id refused with KmsKeyUnusable before anything is written.
/// </summary>
[Collection(AsyncCorpus.Name)]
public sealed class KmsEnvelopeTests(WalCorpusFixture corpus, MotoKmsFixture moto) : IClassFixture<MotoKmsFixture>
{
    [Fact]
    public async Task Real_WAL_round_trips_through_a_KMS_wrapped_data_key_with_no_key_on_the_host()
    {
        var (keyId, alias) = await moto.NewKeyAsync();
        var (config, repository) = await ConfigAsync("kms", alias);
        var segment = corpus.Segments[0];

        await WalPushService.PushAsync(config, segment, CancellationToken.None);
        var header = await ReadHeaderAsync(repository, "kms", segment);
        var restored = Path.Combine(repository, "RECOVERYXLOG");
        await WalFetchService.FetchAsync(await ReloadAsync(config), Path.GetFileName(segment), restored, CancellationToken.None);

        Assert.Null(config.LoadKey());
        Assert.Equal(ArchiveFormat.WrappedKeyVersion, header.FormatVersion);
        Assert.Equal(ArchiveCipher.Aes256GcmWrappedKey, header.Cipher);
        Assert.Equal(ArchiveTestSupport.Sha256(segment), ArchiveTestSupport.Sha256(restored));

        // The same data key serves every object of one process; another process (a reload) gets a new one.
        await WalPushService.PushAsync(config, corpus.Segments[1], CancellationToken.None);
        var second = await ReadHeaderAsync(repository, "kms", corpus.Segments[1]);
        Assert.Equal(header.WrappedKey, second.WrappedKey);
        await WalPushService.PushAsync(await ReloadAsync(config), corpus.Segments[2], CancellationToken.None);
        Assert.NotEqual(header.WrappedKey, (await ReadHeaderAsync(repository, "kms", corpus.Segments[2])).WrappedKey);
        Assert.NotEqual(keyId, alias);
    }

    [Fact]
    public async Task Moving_to_a_new_KMS_key_rewrites_nothing_and_objects_of_the_old_key_stay_readable()
    {
        var (_, oldAlias) = await moto.NewKeyAsync();
        var (_, newAlias) = await moto.NewKeyAsync();
        var (config, repository) = await ConfigAsync("rotate", oldAlias);
        await WalPushService.PushAsync(config, corpus.Segments[0], CancellationToken.None);
        var oldObject = await File.ReadAllBytesAsync(ObjectPath(repository, "rotate", corpus.Segments[0]));

        var (rotated, _) = await ConfigAsync("rotate", newAlias, repository);
        await WalPushService.PushAsync(rotated, corpus.Segments[1], CancellationToken.None);

        Assert.Equal(oldObject, await File.ReadAllBytesAsync(ObjectPath(repository, "rotate", corpus.Segments[0])));
        foreach (var segment in corpus.Segments.Take(2))
        {
            var restored = Path.Combine(repository, "RECOVERYXLOG");
            await WalFetchService.FetchAsync(rotated, Path.GetFileName(segment), restored, CancellationToken.None);
            Assert.Equal(ArchiveTestSupport.Sha256(segment), ArchiveTestSupport.Sha256(restored));
        }

        var verified = Assert.Single(await WalArchiveVerifier.VerifyAsync(rotated, new WalArchiveVerifyOptions(), null, CancellationToken.None));
        Assert.True(verified.Readable);
        Assert.Equal(2, verified.VerifiedCount);
    }

    [Fact]
    public async Task A_withdrawn_grant_stops_push_and_fetch_with_KmsKeyUnusable_and_push_writes_nothing()
    {
        var (_, alias) = await moto.NewKeyAsync();
        var (config, repository) = await ConfigAsync("revoked", alias);
        await WalPushService.PushAsync(config, corpus.Segments[0], CancellationToken.None);

        // The same key, the same repository, an identity whose grant on the key is gone (IAM, as revocation works in AWS).
        var revoked = Parse("revoked", repository, new Dictionary<string, object> { ["kms"] = moto.KmsConfig(alias, revoked: true) });
        var push = await Assert.ThrowsAsync<PgDrArchiveException>(() => WalPushService.PushAsync(revoked, corpus.Segments[1], CancellationToken.None));
        var fetch = await Assert.ThrowsAsync<PgDrArchiveException>(() => WalFetchService.FetchAsync(revoked, Path.GetFileName(corpus.Segments[0]), Path.Combine(repository, "RECOVERYXLOG"), CancellationToken.None));

        Assert.Equal(ErrorIds.KmsKeyUnusable, push.ErrorId);
        Assert.Equal(ErrorIds.WalFetchFailed, fetch.ErrorId);
        Assert.Contains($"[{ErrorIds.KmsKeyUnusable}]", fetch.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(ObjectPath(repository, "revoked", corpus.Segments[1])));
        Assert.False(File.Exists(Path.Combine(repository, "RECOVERYXLOG")));

        // With the grant (the archiver's identity) both work again; nothing was lost.
        await WalPushService.PushAsync(ReloadSync(config), corpus.Segments[1], CancellationToken.None);
        Assert.True(File.Exists(ObjectPath(repository, "revoked", corpus.Segments[1])));
    }

    [Fact]
    public async Task A_wrong_key_id_is_KmsKeyUnusable_and_nothing_is_written()
    {
        var (config, repository) = await ConfigAsync("wrongid", "alias/pgdr-no-such-key-" + Guid.NewGuid().ToString("N")[..8]);

        var ex = await Assert.ThrowsAsync<PgDrArchiveException>(() => WalPushService.PushAsync(config, corpus.Segments[0], CancellationToken.None));

        Assert.Equal(ErrorIds.KmsKeyUnusable, ex.ErrorId);
        Assert.Empty(Directory.EnumerateFileSystemEntries(repository));
    }

    [Fact]
    public async Task From_a_key_file_to_KMS_the_key_file_still_opens_older_objects_and_KMS_alone_asks_for_it()
    {
        var (_, alias) = await moto.NewKeyAsync();
        var directory = await ArchiveTestSupport.NewDirectoryAsync("migrate");
        var repository = Directory.CreateDirectory(Path.Combine(directory, "repo")).FullName;
        var keyFile = await ArchiveTestSupport.NewKeyFileAsync(directory);
        var before = ArchiveTestSupport.Config("migrate", [ArchiveTestSupport.FileSystemRepository("local", repository)], "zstd", keyFile);
        await WalPushService.PushAsync(before, corpus.Segments[0], CancellationToken.None);

        var both = Parse("migrate", repository, new Dictionary<string, object> { ["kms"] = moto.KmsConfig(alias), ["keyFile"] = keyFile });
        await WalPushService.PushAsync(both, corpus.Segments[1], CancellationToken.None);
        var kmsOnly = Parse("migrate", repository, new Dictionary<string, object> { ["kms"] = moto.KmsConfig(alias) });

        Assert.Equal(ArchiveCipher.Aes256Gcm, (await ReadHeaderAsync(repository, "migrate", corpus.Segments[0])).Cipher);
        Assert.Equal(ArchiveCipher.Aes256GcmWrappedKey, (await ReadHeaderAsync(repository, "migrate", corpus.Segments[1])).Cipher);
        Assert.True(Assert.Single(await WalArchiveVerifier.VerifyAsync(both, new WalArchiveVerifyOptions(), null, CancellationToken.None)).Readable);
        var kmsAlone = Assert.Single(await WalArchiveVerifier.VerifyAsync(kmsOnly, new WalArchiveVerifyOptions(), null, CancellationToken.None));
        Assert.Equal(ErrorIds.ArchiveKeyRequired, Assert.Single(kmsAlone.Failures).ErrorId);
        Assert.Equal(1, kmsAlone.VerifiedCount);
    }

    [Fact]
    public async Task A_damaged_header_of_a_wrapped_key_object_is_ArchiveObjectCorrupt_before_the_key_service_is_asked()
    {
        var (_, alias) = await moto.NewKeyAsync();
        var (config, repository) = await ConfigAsync("flip", alias);
        await WalPushService.PushAsync(config, corpus.Segments[0], CancellationToken.None);
        var stored = await File.ReadAllBytesAsync(ObjectPath(repository, "flip", corpus.Segments[0]));
        var header = await ReadHeaderAsync(repository, "flip", corpus.Segments[0]);

        for (var i = 0; i < header.Length; i++)
        {
            var damaged = (byte[])stored.Clone();
            damaged[i] ^= 0x01;
            var ex = await Assert.ThrowsAsync<PgDrArchiveException>(() =>
                ArchiveObjectReader.ReadAsync(new MemoryStream(damaged), Stream.Null, new ArchiveReadOptions { KeyService = config.KeyService }, CancellationToken.None));
            Assert.True(ex.ErrorId is ErrorIds.ArchiveObjectCorrupt or ErrorIds.ArchiveFormatUnsupported, $"byte {i}: {ex.ErrorId}");
        }
    }

    private async Task<(PgDrConfig Config, string Repository)> ConfigAsync(string stanza, string keyId, string? repository = null)
    {
        repository ??= Directory.CreateDirectory(Path.Combine(await ArchiveTestSupport.NewDirectoryAsync(stanza), "repo")).FullName;
        return (Parse(stanza, repository, new Dictionary<string, object> { ["kms"] = moto.KmsConfig(keyId) }), repository);
    }

    private static PgDrConfig Parse(string stanza, string repository, Dictionary<string, object> encryption) =>
        PgDrConfig.Parse(
            JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["stanza"] = stanza,
                ["repositories"] = new[] { ArchiveTestSupport.FileSystemRepository("local", repository) },
                ["compression"] = "lz4",
                ["encryption"] = encryption,
            }),
            "test");

    // A new configuration object is what a new pgdr process has: its own key service, its own data key.
    private static Task<PgDrConfig> ReloadAsync(PgDrConfig config) => Task.FromResult(ReloadSync(config));

    private static PgDrConfig ReloadSync(PgDrConfig config) =>
        PgDrConfig.Parse(JsonSerializer.Serialize(config, PgDrConfigTestJson.Options), "test");

    private static string ObjectPath(string repository, string stanza, string segment) =>
        Path.Combine(repository, ArchiveLayout.WalKey(stanza, WalFileName.Parse(Path.GetFileName(segment))));

    private static async Task<ArchiveObjectHeader> ReadHeaderAsync(string repository, string stanza, string segment)
    {
        await using var stored = File.OpenRead(ObjectPath(repository, stanza, segment));
        return await ArchiveObjectHeader.ReadAsync(stored, CancellationToken.None);
    }
}

/// <summary>Serializes a parsed configuration back to its JSON (reflection is fine in tests).</summary>
internal static class PgDrConfigTestJson
{
    public static readonly JsonSerializerOptions Options = new() { TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver() };
}
