using PgDr.Archive.Server;
using PgDr.Errors;
using PgDr.Hosting.Sandbox;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Archive.Server;

/// <summary>A primary alone, whose archiving settings these tests change in order.</summary>
public sealed class LonePrimaryFixture : SandboxFixture
{
    protected override SandboxSpec Spec(string directory) => new() { Directory = directory, Standbys = 0 };
}

public sealed class WalArchivingSettingsTests(LonePrimaryFixture fixture) : IClassFixture<LonePrimaryFixture>
{
    private readonly PgSandbox _sandbox = fixture.Sandbox;

    // A real pgdr whose every push fails: its configuration and key are readable by the postgres account (Set checks
    // that first), but the repository directory does not exist (RepositoryNotFound).
    private static async Task<WalArchivingRequest> FailingRequestAsync()
    {
        var directory = await ArchiveTestSupport.NewDirectoryAsync("settings");
        var keyFile = await ArchiveTestSupport.NewKeyFileAsync(directory);
        var configPath = await ArchiveTestSupport.WriteConfigAsync(directory,
            ArchiveTestSupport.ConfigJson("settings", [ArchiveTestSupport.FileSystemRepository("local", Path.Combine(directory, "absent"))], "zstd", keyFile));
        return new WalArchivingRequest { PgDrPath = PgDrForPostgres.ExecutablePath, ConfigPath = configPath, ArchiveTimeout = TimeSpan.FromSeconds(30) };
    }

    [Fact]
    public async Task Set_applies_live_settings_at_once_reports_pending_restart_then_restart_makes_archive_mode_live_and_the_node_reports_its_failures()
    {
        var primary = _sandbox.Instance("region-a");
        var request = await FailingRequestAsync();

        // -WhatIf: the exact changes, nothing written.
        var planned = await WalArchivingService.SetAsync(primary, request, apply: false, restart: false, CancellationToken.None);
        Assert.False(planned.Applied);
        var mode = Assert.Single(planned.Settings, s => s.Name == "archive_mode");
        Assert.Equal("off", mode.OldValue);
        Assert.Equal("on", mode.NewValue);
        Assert.True(mode.RequiresRestart);
        Assert.Equal("30s", planned.Settings.Single(s => s.Name == "archive_timeout").NewValue);
        Assert.False(planned.Settings.Single(s => s.Name == "wal_level").Changed);
        Assert.Equal("off", await Sql.ScalarAsync<string>(primary, "SHOW archive_mode"));
        Assert.Equal("0", await Sql.ScalarAsync<string>(primary, "SHOW archive_timeout"));

        // Applied without restart: archive_command and archive_timeout are live, archive_mode waits.
        var applied = await WalArchivingService.SetAsync(primary, request, apply: true, restart: false, CancellationToken.None);
        Assert.True(applied.Applied);
        Assert.True(applied.RestartPending);
        Assert.Equal(WalArchivingService.ArchiveCommand(request.PgDrPath!, request.ConfigPath!), await Sql.ScalarAsync<string>(primary, "SELECT reset_val FROM pg_settings WHERE name = 'archive_command'"));
        Assert.Equal("30s", await Sql.ScalarAsync<string>(primary, "SHOW archive_timeout"));
        var before = await WalArchivingHealthService.TestAsync(primary, new WalArchivingTestOptions(), null, CancellationToken.None);
        Assert.Contains(before.Reasons, r => r.StartsWith("archive_mode is off", StringComparison.Ordinal));

        // Applying again changes nothing more; with -Restart the node comes back archiving.
        var restarted = await WalArchivingService.SetAsync(primary, request, apply: true, restart: true, CancellationToken.None);
        Assert.All(restarted.Settings.Where(s => s.Name != "archive_mode"), s => Assert.False(s.Changed, s.ToString()));
        Assert.Equal("on", await Sql.ScalarAsync<string>(primary, "SHOW archive_mode"));

        // Every push fails: a forced switch must be reported as not archived, with the failure counted and named.
        var failing = await WalArchivingHealthService.TestAsync(primary, new WalArchivingTestOptions { ForceSwitch = true, Deadline = TimeSpan.FromSeconds(120) }, null, CancellationToken.None);
        Assert.False(failing.Healthy);
        Assert.True(failing.UsesPgDr);
        Assert.NotNull(failing.SwitchedWal);
        Assert.Null(failing.SwitchArchivedAfter);
        Assert.Equal(ErrorIds.RepositoryNotFound, failing.Failure?.ErrorId);
        Assert.True(failing.FailedCount > 0, $"failed {failing.FailedCount}, archived {failing.ArchivedCount}, ready {failing.ReadyCount}, mode {failing.ArchiveMode}, reasons {failing}");
        Assert.True(failing.ReadyCount > 0);
    }

    [Fact]
    public async Task Invalid_requests_are_refused_before_connecting()
    {
        var nowhere = new PgDr.Connections.PgInstance("127.0.0.1", Ports.Closed());
        var bad = new WalArchivingRequest { PgDrPath = " ", ConfigPath = "/etc/pgdr.json" };
        var missingConfig = new WalArchivingRequest { PgDrPath = "/usr/local/bin/pgdr" };

        var ex = await Assert.ThrowsAsync<PgDrArgumentException>(() => WalArchivingService.SetAsync(nowhere, bad, apply: false, restart: false, CancellationToken.None));

        Assert.Equal(ErrorIds.InvalidArchivingRequest, ex.ErrorId);
        var noConfig = await Assert.ThrowsAsync<PgDrArgumentException>(() => WalArchivingService.SetAsync(nowhere, missingConfig, apply: false, restart: false, CancellationToken.None));
        Assert.Equal(ErrorIds.InvalidArchivingRequest, noConfig.ErrorId);
    }

    [Theory]
    [InlineData("/usr/local/bin/pgdr", "/etc/pgdr/pgdr.json")]
    [InlineData("/opt/pg dr/it's/pgdr", "/etc/my pgdr/'q'.json")]
    public void Archive_command_reads_back_as_the_paths_it_was_made_of(string pgdr, string config)
    {
        Assert.Equal((pgdr, config), WalArchivingService.ParseArchiveCommand(WalArchivingService.ArchiveCommand(pgdr, config)));
    }

    [Theory]
    [InlineData("cp %p /archive/%f")]
    [InlineData("'/usr/local/bin/pgdr' wal push %p")]
    [InlineData("")]
    [InlineData("'unterminated")]
    public void Archive_commands_not_written_by_pgdr_are_not_taken_for_pgdr(string command)
    {
        Assert.Null(WalArchivingService.ParseArchiveCommand(command));
    }

    [Fact]
    public void Archive_command_quotes_paths_for_the_shell_and_holds_no_secret()
    {
        var command = WalArchivingService.ArchiveCommand("/opt/pg dr/it's/pgdr", "/etc/pgdr.json");

        Assert.Equal(@"'/opt/pg dr/it'\''s/pgdr' wal push --config '/etc/pgdr.json' %p", command);
    }
}
