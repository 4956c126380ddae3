using PgDr.Backup.Catalog;
using PgDr.Backup.Create;
using PgDr.Backup.Restore;
using PgDr.Backup.Verify;
using PgDr.Errors;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Backup;

/// <summary>One byte flipped in a stored backup object: restore and Test-PgBackup fail naming the object, and nothing is started.</summary>
[Collection(FileSystemBackups.Name)]
public sealed class CorruptBackupTests(FileSystemArchivedClusterFixture fixture)
{
    [Fact]
    public async Task One_flipped_byte_fails_restore_and_the_restore_test_naming_the_object_and_nothing_is_started()
    {
        var backup = await BackupService.CreateAsync(fixture.Config, new BackupRequest { Instance = fixture.Primary }, progress: null, CancellationToken.None);
        var objects = Directory.GetFiles(Path.Combine(fixture.RepositoryPath, "main", "backup", "data", backup.Label));
        var victim = objects.OrderByDescending(f => new FileInfo(f).Length).First();
        var key = $"main/backup/data/{backup.Label}/{Path.GetFileName(victim)}";
        var bytes = await File.ReadAllBytesAsync(victim);
        var offset = bytes.Length / 2;
        try
        {
            bytes[offset] ^= 0x01;
            await File.WriteAllBytesAsync(victim, bytes);

            var directory = Path.Combine(await ArchiveTestSupport.NewDirectoryAsync("corrupt"), "data");
            var error = await Assert.ThrowsAnyAsync<PgDrException>(() => RestoreService.RunAsync(
                fixture.Config, new RestoreRequest { DataDirectory = directory, Label = backup.Label, PgDrPath = PgDrForPostgres.ExecutablePath }, progress: null, CancellationToken.None));
            Assert.Equal(ErrorIds.ArchiveObjectCorrupt, error.ErrorId);
            Assert.Equal(key, error.Target);
            Assert.Contains(key, error.Message, StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(directory, "global", "pg_control")), "without pg_control the half-restored directory cannot be started");

            var test = Assert.Single(await BackupTestService.TestAsync(
                fixture.Config,
                new BackupTestRequest { Label = backup.Label, PgDrPath = PgDrForPostgres.ExecutablePath, ScratchDirectory = TestDirectories.Root },
                progress: null,
                CancellationToken.None));
            Assert.False(test.Success);
            var restore = test.Steps.Single(s => s.Name == "restore");
            Assert.Equal(ErrorIds.ArchiveObjectCorrupt, restore.ErrorId);
            Assert.Contains(key, restore.Detail, StringComparison.Ordinal);
            Assert.DoesNotContain(test.Steps, s => s.Name == "start");
            Assert.False(Directory.Exists(test.ScratchDirectory));
        }
        finally
        {
            bytes[offset] ^= 0x01;
            await File.WriteAllBytesAsync(victim, bytes);
        }
    }
}
