namespace PgDr.Diagnostics;

/// <summary>
/// One reading of a node's clock through SQL: this host's clock just before the query was sent and just after the
/// answer arrived, and the server's clock_timestamp() in between. The server read its clock somewhere inside that
/// round trip, so its offset from this host is known to within half the round trip.
/// </summary>
public readonly record struct ClockSample(DateTimeOffset SentAt, DateTimeOffset ServerTime, DateTimeOffset ReceivedAt)
{
    public TimeSpan RoundTrip => ReceivedAt - SentAt;

    /// <summary>The server's clock minus this host's, taking the middle of the round trip as the moment it was read.</summary>
    public TimeSpan Offset => ServerTime - (SentAt + RoundTrip / 2);

    /// <summary>How wrong <see cref="Offset"/> can be: half the round trip.</summary>
    public TimeSpan Uncertainty => RoundTrip / 2;
}

/// <summary>The arithmetic of clock skew between nodes, kept apart from SQL so it is tested on its own.</summary>
public static class ClockSkew
{
    /// <summary>The most precise of several samples of one node: the one with the shortest round trip.</summary>
    public static ClockSample Best(IEnumerable<ClockSample> samples) => samples.MinBy(s => s.RoundTrip);

    /// <summary>
    /// How far <paramref name="node"/>'s clock is ahead of <paramref name="reference"/>'s (negative: behind), and the
    /// least it certainly is: the skew minus both uncertainties, never below zero.
    /// </summary>
    public static (TimeSpan Skew, TimeSpan AtLeast) Between(ClockSample node, ClockSample reference)
    {
        var skew = node.Offset - reference.Offset;
        var atLeast = skew.Duration() - node.Uncertainty - reference.Uncertainty;
        return (skew, atLeast < TimeSpan.Zero ? TimeSpan.Zero : atLeast);
    }

    /// <summary>Pass within <paramref name="max"/>, Warn beyond it, Fail beyond ten times it; judged on what is certain.</summary>
    public static PgDrCheckVerdict Judge(TimeSpan atLeast, TimeSpan max) =>
        atLeast > max * 10 ? PgDrCheckVerdict.Fail : atLeast > max ? PgDrCheckVerdict.Warn : PgDrCheckVerdict.Pass;
}
