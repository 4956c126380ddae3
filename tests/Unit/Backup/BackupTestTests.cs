using PgDr.Backup.Create;
using PgDr.Backup.Verify;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Backup;

/// <summary>Test-PgBackup: a backup proved by restoring it into a scratch cluster, checked, and cleaned up.</summary>
[Collection(FileSystemBackups.Name)]
public sealed class BackupTestTests(FileSystemArchivedClusterFixture fixture)
{
    [Fact]
    public async Task Test_restores_verifies_with_pg_verifybackup_recovers_runs_amcheck_counts_rows_and_removes_the_scratch_cluster()
    {
        await Sql.ExecuteAsync(fixture.Primary, "DROP TABLE IF EXISTS counted; CREATE TABLE counted (id int PRIMARY KEY, note text); INSERT INTO counted SELECT g, md5(g::text) FROM generate_series(1, 1000) g");
        var backup = await BackupService.CreateAsync(fixture.Config, new BackupRequest { Instance = fixture.Primary }, progress: null, CancellationToken.None);

        var tests = await BackupTestService.TestAsync(
            fixture.Config,
            new BackupTestRequest
            {
                Label = backup.Label,
                Tables = ["public.counted"],
                Queries = ["SELECT count(*) = 1000 FROM counted", "SELECT sum(id) FROM counted"],
                PgDrPath = PgDrForPostgres.ExecutablePath,
                ScratchDirectory = TestDirectories.Root,
            },
            progress: null,
            CancellationToken.None);

        var test = Assert.Single(tests);
        Assert.True(test.Success, string.Join(Environment.NewLine, test.Steps));
        Assert.Equal(backup.Label, test.Label);
        Assert.Equal(["restore", "pg_verifybackup", "start", "recovery", "pg_amcheck", "count public.counted", "query 1", "query 2", "clean up"], test.Steps.Select(s => s.Name));
        Assert.All(test.Steps, s => Assert.True(s.Success, s.ToString()));
        Assert.Equal(1000, test.RowCounts["public.counted"]);
        Assert.Equal("passed", test.AmcheckResult);
        Assert.Equal("passed", test.VerifyResult);
        Assert.False(Directory.Exists(test.ScratchDirectory), "the scratch directory is removed");
    }

    [Fact]
    public async Task A_query_returning_false_fails_the_test_and_the_scratch_cluster_is_still_removed()
    {
        var backup = await BackupService.CreateAsync(fixture.Config, new BackupRequest { Instance = fixture.Primary }, progress: null, CancellationToken.None);

        var test = Assert.Single(await BackupTestService.TestAsync(
            fixture.Config,
            new BackupTestRequest { Label = backup.Label, Queries = ["SELECT 1 = 2"], Amcheck = false, VerifyFiles = false, PgDrPath = PgDrForPostgres.ExecutablePath, ScratchDirectory = TestDirectories.Root },
            progress: null,
            CancellationToken.None));

        Assert.False(test.Success);
        Assert.Equal(PgDr.Errors.ErrorIds.BackupTestFailed, test.Steps.Single(s => s.Name == "query 1").ErrorId);
        Assert.True(test.Steps.Single(s => s.Name == "clean up").Success);
        Assert.False(Directory.Exists(test.ScratchDirectory));
    }
}
