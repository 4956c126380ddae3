using PgDr.Archive.Server;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Archive.Server;

/// <summary>Planning archiving settings for a standby (what -WhatIf shows): only reads, so the shared topology serves.</summary>
[Collection(SharedTopology.Name)]
public sealed class WalArchivingOnStandbyTests(SharedTopologyFixture fixture)
{
    // Planning on a node of this host first proves the postgres account can run pgdr and read the configuration, so
    // both must be real even though nothing is applied.
    private static readonly Lazy<Task<string>> ConfigPath = new(async () =>
    {
        var directory = await ArchiveTestSupport.NewDirectoryAsync("onstandby");
        var json = ArchiveTestSupport.ConfigJson("main", [ArchiveTestSupport.FileSystemRepository("local", Path.Combine(directory, "repo"))]);
        return await ArchiveTestSupport.WriteConfigAsync(directory, json);
    });

    private static async Task<WalArchivingRequest> Request(bool onStandby) => new()
    {
        PgDrPath = PgDrForPostgres.ExecutablePath,
        ConfigPath = await ConfigPath.Value,
        ArchiveOnStandby = onStandby,
    };

    [Fact]
    public async Task Archive_mode_on_for_a_standby_comes_with_a_note_that_it_archives_nothing_until_promoted()
    {
        var standby = fixture.Sandbox.Instance("region-b");

        var plan = await WalArchivingService.SetAsync(standby, await Request(onStandby: false), apply: false, restart: false, CancellationToken.None);

        Assert.True(plan.IsStandby);
        Assert.Equal("on", plan.Settings.Single(s => s.Name == "archive_mode").NewValue);
        Assert.NotNull(plan.Note);
        Assert.Contains("promoted", plan.Note, StringComparison.Ordinal);
        Assert.Contains("always", plan.Note, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ArchiveOnStandby_plans_archive_mode_always_and_needs_no_note()
    {
        var standby = fixture.Sandbox.Instance("region-b");

        var plan = await WalArchivingService.SetAsync(standby, await Request(onStandby: true), apply: false, restart: false, CancellationToken.None);

        Assert.Equal("always", plan.Settings.Single(s => s.Name == "archive_mode").NewValue);
        Assert.Null(plan.Note);
    }

    [Fact]
    public async Task A_primary_gets_no_note()
    {
        var plan = await WalArchivingService.SetAsync(fixture.Sandbox.Instance("region-a"), await Request(onStandby: false), apply: false, restart: false, CancellationToken.None);

        Assert.False(plan.IsStandby);
        Assert.Null(plan.Note);
    }
}
