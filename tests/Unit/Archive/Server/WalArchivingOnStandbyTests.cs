using PgDr.Archive.Server;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Archive.Server;

/// <summary>Planning archiving settings for a standby (what -WhatIf shows): only reads, so the shared topology serves.</summary>
[Collection(SharedTopology.Name)]
public sealed class WalArchivingOnStandbyTests(SharedTopologyFixture fixture)
{
    private static WalArchivingRequest Request(bool onStandby) => new()
    {
        PgDrPath = "/usr/local/bin/pgdr",
        ConfigPath = "/etc/pgdr/pgdr.json",
        ArchiveOnStandby = onStandby,
    };

    [Fact]
    public async Task Archive_mode_on_for_a_standby_comes_with_a_note_that_it_archives_nothing_until_promoted()
    {
        var standby = fixture.Sandbox.Instance("region-b");

        var plan = await WalArchivingService.SetAsync(standby, Request(onStandby: false), apply: false, restart: false, CancellationToken.None);

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

        var plan = await WalArchivingService.SetAsync(standby, Request(onStandby: true), apply: false, restart: false, CancellationToken.None);

        Assert.Equal("always", plan.Settings.Single(s => s.Name == "archive_mode").NewValue);
        Assert.Null(plan.Note);
    }

    [Fact]
    public async Task A_primary_gets_no_note()
    {
        var plan = await WalArchivingService.SetAsync(fixture.Sandbox.Instance("region-a"), Request(onStandby: false), apply: false, restart: false, CancellationToken.None);

        Assert.False(plan.IsStandby);
        Assert.Null(plan.Note);
    }
}
