using PgDr.Backup.Create;
using PgDr.Backup.Restore;
using PgDr.Hosting;
using PgDr.Hosting.Sandbox;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Backup;

/// <summary>A primary that archives, with one streaming standby: backups are taken on the standby's host to offload the primary.</summary>
public sealed class StandbyArchivedClusterFixture : ArchivedClusterFixture
{
    protected override int StandbyCount => 1;

    protected override async Task<IReadOnlyList<object>> RepositoriesAsync(string directory)
    {
        var repository = System.IO.Directory.CreateDirectory(Path.Combine(directory, "repo")).FullName;
        await OsUser.ForPostgres().TakeOwnershipAsync(repository, CancellationToken.None);
        return [ArchiveTestSupport.FileSystemRepository("local", repository)];
    }
}

[CollectionDefinition(Name)]
public sealed class StandbyBackups : ICollectionFixture<StandbyArchivedClusterFixture>
{
    public const string Name = "Backups taken on a standby";
}

[Collection(StandbyBackups.Name)]
public sealed class StandbyBackupTests(StandbyArchivedClusterFixture fixture)
{
    [Fact]
    public async Task A_backup_taken_on_a_standby_completes_with_its_primary_switching_WAL_and_restores_what_the_primary_had()
    {
        var standby = fixture.Sandbox.Nodes[1].Instance;
        await Sql.ExecuteAsync(fixture.Primary, "DROP TABLE IF EXISTS offloaded; CREATE TABLE offloaded AS SELECT g AS id FROM generate_series(1, 5000) g");
        var written = await Sql.ScalarAsync<NpgsqlTypes.NpgsqlLogSequenceNumber>(fixture.Primary, "SELECT pg_current_wal_lsn()");
        await Wait.UntilAsync(
            async _ => await Sql.ScalarAsync<bool>(standby, $"SELECT pg_last_wal_replay_lsn() >= '{written}'::pg_lsn"),
            TimeSpan.FromSeconds(60), "the standby to replay the table", CancellationToken.None);

        var backup = await BackupService.CreateAsync(fixture.Config, new BackupRequest { Instance = standby, Primary = fixture.Primary, ArchiveTimeout = TimeSpan.FromSeconds(120) }, progress: null, CancellationToken.None);

        Assert.True(backup.FromStandby);
        await using var restored = await RestoredCluster.RestoreAsync(fixture, d => new RestoreRequest { DataDirectory = d, Label = backup.Label, Immediate = true, TargetAction = RecoveryTargetAction.Promote });
        await restored.StartAndWaitForPromotionAsync();
        Assert.Equal(5000L, await Sql.ScalarAsync<long>(restored.Instance, "SELECT count(*) FROM offloaded"));
    }

    [Fact]
    public async Task A_restore_as_standby_streams_from_the_primary_with_a_conninfo_that_names_a_password_file()
    {
        var backup = await BackupService.CreateAsync(fixture.Config, new BackupRequest { Instance = fixture.Primary }, progress: null, CancellationToken.None);
        await using var restored = await RestoredCluster.RestoreAsync(fixture, d => new RestoreRequest
        {
            DataDirectory = d,
            Label = backup.Label,
            AsStandby = true,
            Primary = fixture.Primary,
            ReplicationUser = PgSandbox.ReplicationUser,
            PasswordFile = fixture.Sandbox.PasswordFile,
            StandbyName = "seeded",
        });
        var conninfo = Assert.Single(restored.Result.Settings, s => s.StartsWith("primary_conninfo", StringComparison.Ordinal));
        Assert.Contains("passfile=", conninfo, StringComparison.Ordinal);
        Assert.DoesNotContain("password=", conninfo, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(restored.DataDirectory, "standby.signal")));

        await restored.Cluster.StartAsync(CancellationToken.None);
        await Wait.UntilAsync(
            async _ => await Sql.ScalarAsync<bool>(fixture.Primary, "SELECT EXISTS (SELECT 1 FROM pg_stat_replication WHERE application_name = 'seeded' AND state = 'streaming')"),
            TimeSpan.FromSeconds(90), "the seeded standby to stream", CancellationToken.None);
        await Sql.ExecuteAsync(fixture.Primary, "DROP TABLE IF EXISTS streamed; CREATE TABLE streamed AS SELECT 42 AS answer");
        await Wait.UntilAsync(
            async _ => await Sql.ScalarAsync<bool>(restored.Instance, "SELECT to_regclass('streamed') IS NOT NULL"),
            TimeSpan.FromSeconds(60), "the seeded standby to replay a new table", CancellationToken.None);
        Assert.True(await Sql.ScalarAsync<bool>(restored.Instance, "SELECT pg_is_in_recovery()"));
    }
}
