using PgDr.Archive.Repositories;
using PgDr.Backup.Catalog;
using PgDr.Backup.Create;
using PgDr.Backup.Restore;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Backup;

/// <summary>A cluster archiving into two encrypted object stores at once, s3rver and Azurite, both required.</summary>
public sealed class ObjectStoreArchivedClusterFixture : ArchivedClusterFixture
{
    private readonly S3rverFixture _s3 = new();
    private readonly AzuriteFixture _azurite = new();

    protected override async Task<IReadOnlyList<object>> RepositoriesAsync(string directory)
    {
        await Task.WhenAll(_s3.InitializeAsync(), _azurite.InitializeAsync());
        return [ArchiveTestSupport.S3Repository("s3", _s3), ArchiveTestSupport.AzureRepository("azure", _azurite)];
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _s3.DisposeAsync();
        await _azurite.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class ObjectStoreBackups : ICollectionFixture<ObjectStoreArchivedClusterFixture>
{
    public const string Name = "Backups in S3 and Azure repositories";
}

[Collection(ObjectStoreBackups.Name)]
public sealed class ObjectStoreBackupTests(ObjectStoreArchivedClusterFixture fixture)
{
    [Fact]
    public async Task A_backup_into_S3_and_Azure_at_once_restores_exactly_to_every_target_type_from_each()
    {
        await Sql.ExecuteAsync(fixture.Primary, "DROP TABLE IF EXISTS markers; CREATE TABLE markers (id int PRIMARY KEY)");
        var backup = await BackupService.CreateAsync(fixture.Config, new BackupRequest { Instance = fixture.Primary }, progress: null, CancellationToken.None);
        Assert.Equal(["s3", "azure"], backup.Repositories);
        Assert.Empty(backup.FailedRepositories);

        // s3rver stores what it is sent, framing included, with a 200: every object's stored size must be what was encoded.
        using var keys = BackupKeys.Load(fixture.Config);
        foreach (var entry in fixture.Config.Repositories)
        {
            await using var repository = ArchiveRepositoryFactory.Create(entry.ToRepositoryConfig());
            var manifest = await BackupCatalog.ReadManifestAsync(repository, "main", backup.Label, keys.Read, CancellationToken.None);
            foreach (var stored in manifest.Objects)
            {
                var info = await repository.StatAsync(BackupLayout.ObjectKey("main", backup.Label, stored.Id), CancellationToken.None);
                Assert.Equal(stored.StoredBytes, info?.Size);
            }
        }

        var markers = await MarkerTimeline.WriteAsync(fixture.Primary, "store-markers");
        await fixture.ArchiveCurrentSegmentAsync();
        foreach (var repository in new[] { "s3", "azure" })
        {
            var outcomes = await Task.WhenAll(markers.Targets(backup.Label).Select(async target =>
            {
                await using var restored = await RestoredCluster.RestoreAsync(fixture, d => target.Request(d) with { Repository = repository });
                Assert.Equal(repository, restored.Result.Repository);
                await restored.StartAndWaitForPromotionAsync();
                return (target.Name, target.Expected, Actual: await restored.MarkersAsync());
            }));
            Assert.All(outcomes, o => Assert.True(o.Expected == o.Actual, $"{repository}, restore to {o.Name}: expected markers [{o.Expected}], found [{o.Actual}]"));
        }
    }
}
