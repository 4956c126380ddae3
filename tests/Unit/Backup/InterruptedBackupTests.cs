using System.Diagnostics;
using PgDr.Archive.Server;
using PgDr.Backup.Catalog;
using PgDr.Backup.Create;
using PgDr.Hosting;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Backup;

/// <summary>A backup process killed midway: never listed, its leftovers removed by the next backup, which succeeds.</summary>
[Collection(OwnClusterBackups.Name)]
public sealed class InterruptedBackupTests(FileSystemArchivedClusterFixture fixture)
{
    [Fact]
    public async Task A_backup_killed_midway_is_not_listed_and_the_next_backup_removes_its_leftovers_and_completes()
    {
        var dataPrefix = Path.Combine(fixture.RepositoryPath, "main", "backup", "data");
        var complete = (await BackupCatalog.ListAsync(fixture.Config, null, CancellationToken.None)).Select(b => b.Label).ToHashSet();
        string? Killed() => Directory.Exists(dataPrefix)
            ? Directory.GetDirectories(dataPrefix).Select(Path.GetFileName).FirstOrDefault(l => !complete.Contains(l!) && Directory.EnumerateFiles(Path.Combine(dataPrefix, l!)).Any())
            : null;

        // With archiving failing, the backup copies everything and then waits for its WAL: killed there (or while
        // copying), it never writes a manifest.
        await FailArchivingAsync();
        using var backup = StartPgDr(
            "backup", "create", $"127.0.0.1:{fixture.Primary.Port}", "--user", "postgres", "--config", fixture.ConfigPath, "--archive-timeout", "600");
        string killed;
        try
        {
            await Wait.UntilAsync(
                _ => Task.FromResult(Killed() is not null),
                TimeSpan.FromSeconds(120),
                "the backup to store its first object",
                CancellationToken.None);
            killed = Killed()!;
            backup.Kill(entireProcessTree: true);
            await backup.WaitForExitAsync();
        }
        finally
        {
            await RestoreArchivingAsync();
        }

        Assert.DoesNotContain(await BackupCatalog.ListAsync(fixture.Config, null, CancellationToken.None), b => b.Label == killed);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(dataPrefix, killed)));

        var next = await BackupService.CreateAsync(fixture.Config, new BackupRequest { Instance = fixture.Primary }, progress: null, CancellationToken.None);

        Assert.Contains(killed, next.LeftoversRemoved);
        Assert.False(Directory.Exists(Path.Combine(dataPrefix, killed)), "its objects and temporary files are gone");
        Assert.DoesNotContain(Directory.GetFiles(Path.Combine(fixture.RepositoryPath, "main", "backup", "catalog")), f => Path.GetFileName(f).StartsWith(killed, StringComparison.Ordinal));
        var listed = Assert.Single(await BackupCatalog.ListAsync(fixture.Config, null, CancellationToken.None), b => b.Label == next.Label);
        Assert.True(listed.Consistent);
    }

    // Set by hand: WalArchivingService refuses a command that is not a working pgdr, which is what this test needs.
    private async Task FailArchivingAsync()
    {
        await Sql.ExecuteAsync(fixture.Primary, "ALTER SYSTEM SET archive_command = '/bin/false'");
        await Sql.ExecuteAsync(fixture.Primary, "SELECT pg_reload_conf()");
    }

    private Task<PgWalArchivingChange> RestoreArchivingAsync() =>
        WalArchivingService.SetAsync(
            fixture.Primary, new WalArchivingRequest { PgDrPath = PgDrForPostgres.ExecutablePath, ConfigPath = fixture.ConfigPath }, apply: true, restart: false, CancellationToken.None);

    private Process StartPgDr(params string[] args)
    {
        var start = new ProcessStartInfo(PgDrForPostgres.ExecutablePath) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["PGPASSFILE"] = fixture.Sandbox.PasswordFile;
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
