using PgDr.Connections;

namespace PgDr.Diagnostics;

/// <summary>Makes the results of one node's checks, so every check names the node the same way.</summary>
internal sealed class CheckWriter(PgInstance instance, string? clusterName)
{
    public PgDrCheck Pass(PgDrCheckArea area, string checkId, string evidence, string? subject = null) =>
        Make(area, checkId, PgDrCheckVerdict.Pass, evidence, null, subject);

    public PgDrCheck Warn(PgDrCheckArea area, string checkId, string evidence, string fix, string? subject = null) =>
        Make(area, checkId, PgDrCheckVerdict.Warn, evidence, fix, subject);

    public PgDrCheck Fail(PgDrCheckArea area, string checkId, string evidence, string fix, string? subject = null) =>
        Make(area, checkId, PgDrCheckVerdict.Fail, evidence, fix, subject);

    public PgDrCheck Make(PgDrCheckArea area, string checkId, PgDrCheckVerdict verdict, string evidence, string? fix, string? subject = null, int? count = null, DateTimeOffset? lastSeen = null) => new()
    {
        Instance = instance,
        ClusterName = clusterName,
        Area = area,
        CheckId = checkId,
        Subject = subject,
        Verdict = verdict,
        Evidence = evidence,
        Fix = verdict == PgDrCheckVerdict.Pass ? null : fix,
        Count = count,
        LastSeen = lastSeen,
    };
}
