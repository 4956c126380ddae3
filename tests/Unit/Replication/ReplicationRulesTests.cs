using PgDr.Connections;
using PgDr.Errors;
using PgDr.Replication;
using PgDr.Topology;

namespace PgDr.Tests.Replication;

/// <summary>The pure rules behind lag and slot health, next to the tests on real servers.</summary>
public sealed class ReplicationRulesTests
{
    [Theory]
    [InlineData("a")]
    [InlineData("region_b")]
    [InlineData("slot_0123456789")]
    public void Valid_slot_names(string name) => Assert.True(ReplicationSlotName.IsValid(name));

    [Theory]
    [InlineData("")]
    [InlineData("Region")]
    [InlineData("region-b")]
    [InlineData("région")]
    [InlineData("a b")]
    [InlineData("x;drop")]
    public void Invalid_slot_names(string name) => Assert.False(ReplicationSlotName.IsValid(name));

    [Fact]
    public void Slot_names_are_at_most_63_characters()
    {
        Assert.True(ReplicationSlotName.IsValid(new string('a', 63)));
        Assert.False(ReplicationSlotName.IsValid(new string('a', 64)));
        Assert.Equal(ErrorIds.InvalidSlotName, Assert.Throws<PgDrArgumentException>(() => ReplicationSlotName.Validate(new string('a', 64))).ErrorId);
    }

    [Fact]
    public void Node_names_become_slot_names() => Assert.Equal("region_b2", ReplicationSlotName.FromNodeName("Region-B2"));

    [Fact]
    public void Name_patterns_match_wildcards_and_report_literal_names()
    {
        var pattern = new NamePattern(["region_*", "exact", "r?"]);

        Assert.True(pattern.IsMatch("region_b"));
        Assert.True(pattern.IsMatch("exact"));
        Assert.True(pattern.IsMatch("r1"));
        Assert.False(pattern.IsMatch("r12"));
        Assert.False(pattern.IsMatch("other"));
        Assert.Equal(["exact"], pattern.LiteralNames);
        Assert.True(new NamePattern(null).IsMatch("anything"));
    }

    [Fact]
    public void Sender_time_lag_is_zero_when_caught_up_whatever_PostgreSQL_reports()
    {
        Assert.Equal(TimeSpan.Zero, ReplicationLagService.SenderTimeLag(connected: true, byteLag: 0, replayLag: null));
        Assert.Equal(TimeSpan.Zero, ReplicationLagService.SenderTimeLag(connected: true, byteLag: 0, replayLag: TimeSpan.FromSeconds(3)));
        Assert.Equal(TimeSpan.FromSeconds(3), ReplicationLagService.SenderTimeLag(connected: true, byteLag: 10, replayLag: TimeSpan.FromSeconds(3)));
        Assert.Null(ReplicationLagService.SenderTimeLag(connected: false, byteLag: 0, replayLag: null));
    }

    [Fact]
    public void Standby_time_lag_counts_the_age_of_the_last_replayed_commit_only_while_WAL_waits()
    {
        var now = DateTimeOffset.Parse("2026-01-01T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        var hourAgo = now.AddHours(-1);

        Assert.Equal(TimeSpan.Zero, ReplicationLagService.StandbyTimeLag(0, hourAgo, now));
        Assert.Equal(TimeSpan.FromHours(1), ReplicationLagService.StandbyTimeLag(100, hourAgo, now));
        Assert.Null(ReplicationLagService.StandbyTimeLag(100, null, now));
        Assert.Equal(TimeSpan.Zero, ReplicationLagService.StandbyTimeLag(100, now.AddSeconds(1), now));
    }

    [Fact]
    public void Lag_limits_add_one_reason_each()
    {
        var thresholds = new LagThresholds(TimeSpan.FromSeconds(5), 1000);

        Assert.Empty(ReplicationLagService.Reasons(null, 1000, TimeSpan.FromSeconds(5), thresholds));
        Assert.Single(ReplicationLagService.Reasons(null, 1001, TimeSpan.FromSeconds(5), thresholds));
        Assert.Equal(2, ReplicationLagService.Reasons(null, 1001, TimeSpan.FromSeconds(6), thresholds).Count);
        Assert.Equal(3, ReplicationLagService.Reasons("disconnected", 1001, TimeSpan.FromSeconds(6), thresholds).Count);
    }

    [Theory]
    [InlineData(true, "reserved", 0L, null, true)]
    [InlineData(false, "reserved", 0L, null, false)]
    [InlineData(true, "unreserved", 0L, null, false)]
    [InlineData(true, "lost", 0L, null, false)]
    [InlineData(true, "extended", 100L, 100L, true)]
    [InlineData(true, "reserved", 101L, 100L, false)]
    public void Slot_health_rules(bool active, string walStatus, long retained, long? max, bool healthy)
    {
        var slot = new PgReplicationSlot
        {
            Instance = new PgInstance("db"),
            SlotName = "s",
            SlotType = "physical",
            Active = active,
            WalStatus = walStatus,
            RetainedBytes = retained,
        };

        Assert.Equal(healthy, ReplicationSlotService.Judge(slot, max).Healthy);
    }

    [Fact]
    public void Lsn_parses_prints_and_subtracts_as_PostgreSQL_does()
    {
        var a = PgLsn.Parse("16/B374D848");
        var b = PgLsn.Parse("16/B374D000");

        Assert.Equal("16/B374D848", a.ToString());
        Assert.Equal(0x848, a.BytesSince(b));
        Assert.Equal(0, b.BytesSince(a));
        Assert.Throws<FormatException>(() => PgLsn.Parse("16-B3"));
    }
}
