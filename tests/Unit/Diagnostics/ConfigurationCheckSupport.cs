using PgDr.Diagnostics;
using PgDr.Hosting;
using PgDr.Hosting.Sandbox;
using PgDr.Replication;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Diagnostics;

/// <summary>Runs Test-PgDrConfiguration's engine on sandbox nodes and picks verdicts out of the result.</summary>
internal static class ConfigurationCheckSupport
{
    public static Task<IReadOnlyList<PgDrCheck>> CheckAsync(PgSandbox sandbox, params string[] nodes) =>
        CheckAsync(sandbox, new ConfigurationCheckOptions(), nodes);

    public static Task<IReadOnlyList<PgDrCheck>> CheckAsync(PgSandbox sandbox, ConfigurationCheckOptions options, params string[] nodes) =>
        ConfigurationCheckService.CheckAsync(nodes.Select(sandbox.Instance).ToList(), options, null, CancellationToken.None);

    /// <summary>The one result of <paramref name="checkId"/> on <paramref name="node"/> (about <paramref name="subject"/> when given).</summary>
    public static PgDrCheck Single(IReadOnlyList<PgDrCheck> results, string node, string checkId, string? subject = null)
    {
        var matches = results.Where(r => r.Node == node && r.CheckId == checkId && (subject is null || r.Subject == subject)).ToList();
        Assert.True(matches.Count == 1, $"expected one {checkId} on {node}{(subject is null ? string.Empty : $" about {subject}")}, got {matches.Count}:\n{Describe(results)}");
        return matches[0];
    }

    public static string Describe(IEnumerable<PgDrCheck> results) => string.Join('\n', results.Select(r => r.ToString()));

    /// <summary>Sets a standby's primary_conninfo (reloaded: its WAL receiver reconnects with it) and waits until it took.</summary>
    public static async Task SetPrimaryConnInfoAsync(PgDr.Connections.PgInstance standby, string conninfo)
    {
        await Sql.ExecuteAsync(standby, $"ALTER SYSTEM SET primary_conninfo = '{conninfo.Replace("'", "''", StringComparison.Ordinal)}'");
        await Sql.ExecuteAsync(standby, "SELECT pg_reload_conf()");
        await Wait.UntilAsync(async _ => await Sql.ScalarAsync<string>(standby, "SHOW primary_conninfo") == conninfo,
            TimeSpan.FromSeconds(15), "primary_conninfo to reload", CancellationToken.None);
    }

    /// <summary>Waits until <paramref name="standby"/> streams from its upstream again (after a test stopped a node).</summary>
    public static Task WaitForStreamingAsync(PgSandbox sandbox, string standby) =>
        Wait.UntilAsync(
            async ct => (await ReplicationLagService.GetLagAsync(sandbox.Instance(sandbox.Node(standby).UpstreamName!), new LagThresholds(), ct))
                .Any(l => l.StandbyName == standby && l.State == "streaming"),
            TimeSpan.FromSeconds(90), $"{standby} to stream again", CancellationToken.None);
}
