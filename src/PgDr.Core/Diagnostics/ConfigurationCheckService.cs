using PgDr.Agent;
using PgDr.Archive.Configuration;
using PgDr.Connections;
using PgDr.Errors;
using PgDr.Hosting;
using PgDr.Progress;

namespace PgDr.Diagnostics;

/// <summary>
/// Test-PgDrConfiguration (pgdr check): the troubleshooting matrix as checks over one node or a whole topology. Each node
/// gets its settings, access, health and log checks; across nodes, their clocks are compared. A node that cannot be
/// reached, or a check that cannot run with the connection's privileges, is itself a verdict, never an exception: an
/// admin reading the result sees everything that is wrong at once.
/// </summary>
public static class ConfigurationCheckService
{
    private const string Activity = "Checking the DR configuration";

    public static async Task<IReadOnlyList<PgDrCheck>> CheckAsync(
        IReadOnlyList<PgInstance> instances, ConfigurationCheckOptions options, IProgress<PgDrProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(instances);
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);
        if (instances.Count == 0)
        {
            throw new PgDrArgumentException(ErrorIds.InvalidInstance, "Name at least one node to check.", instances);
        }

        IReadOnlyList<AgentPeer> agents = options.ConfigPath is null ? [] : AgentSettings.AgentsOf(PgDrConfig.Load(options.ConfigPath));
        var results = new List<PgDrCheck>();
        var clocks = new List<(PgInstance Instance, string? ClusterName, ClockSample Sample)>();
        for (var i = 0; i < instances.Count; i++)
        {
            var instance = instances[i];
            progress?.Report(new PgDrProgress(Activity, instance.Name, 100 * i / instances.Count));
            NodeFacts facts;
            try
            {
                facts = await NodeFacts.ReadAsync(instance, cancellationToken).ConfigureAwait(false);
            }
            catch (PgDrException ex)
            {
                results.Add(new CheckWriter(instance, null).Fail(PgDrCheckArea.Connection, CheckIds.Connection, $"{ex.Message} [{ex.ErrorId}]", ConnectionFix(ex.ErrorId)));
                continue;
            }

            var w = new CheckWriter(instance, facts.Node.ClusterName);
            results.Add(w.Pass(PgDrCheckArea.Connection, CheckIds.Connection,
                $"{facts.Node.Role}, PostgreSQL {facts.Node.ServerVersion.Split(' ')[0]}, timeline {facts.Node.Timeline}, system {facts.Node.SystemIdentifier}"));
            results.AddRange(SettingsChecks.Judge(facts, w));
            results.AddRange(AccessChecks.Judge(facts, w));
            var local = await FindLocalAsync(instance, cancellationToken).ConfigureAwait(false);
            results.AddRange(await Guard(w, PgDrCheckArea.Health, CheckIds.Archiver, () => HealthChecks.RunAsync(facts, local, agents, options, w, cancellationToken)).ConfigureAwait(false));
            if (options.ScanLog)
            {
                results.AddRange(await Guard(w, PgDrCheckArea.Log, CheckIds.LogScan, () => ServerLogScan.RunAsync(facts, local, options, w, cancellationToken)).ConfigureAwait(false));
            }

            if (instances.Count > 1 && await SampleClockAsync(instance, cancellationToken).ConfigureAwait(false) is { } sample)
            {
                clocks.Add((instance, facts.Node.ClusterName, sample));
            }
        }

        results.AddRange(CompareClocks(clocks, options));
        progress?.Report(new PgDrProgress(Activity, "done", 100));
        return results;
    }

    /// <summary>Each node's clock against the first reachable node's, judged on what the round trips leave certain.</summary>
    private static IEnumerable<PgDrCheck> CompareClocks(List<(PgInstance Instance, string? ClusterName, ClockSample Sample)> clocks, ConfigurationCheckOptions options)
    {
        if (clocks.Count < 2)
        {
            yield break;
        }

        var reference = clocks[0];
        var referenceName = reference.ClusterName ?? reference.Instance.Name;
        foreach (var (instance, clusterName, sample) in clocks.Skip(1))
        {
            var (skew, atLeast) = ClockSkew.Between(sample, reference.Sample);
            var verdict = ClockSkew.Judge(atLeast, options.MaxClockSkew);
            var uncertainty = sample.Uncertainty + reference.Sample.Uncertainty;
            yield return new CheckWriter(instance, clusterName).Make(PgDrCheckArea.Health, CheckIds.ClockSkew, verdict,
                $"{skew.TotalMilliseconds:+0;-0;0} ms against {referenceName} (+/- {uncertainty.TotalMilliseconds:0} ms), allowed {options.MaxClockSkew.TotalMilliseconds:0} ms",
                "Synchronise every node's clock with NTP (chrony, systemd-timesyncd): time lag, the lease's expiry and log times assume they agree.",
                subject: referenceName);
        }
    }

    // A node that goes away in the middle of its checks has said what it could; the checks that need it again are left out.
    private static async Task<LocalNode?> FindLocalAsync(PgInstance instance, CancellationToken cancellationToken)
    {
        try
        {
            return await LocalNode.FindAsync(instance, cancellationToken).ConfigureAwait(false);
        }
        catch (PgDrException)
        {
            return null;
        }
    }

    private static async Task<ClockSample?> SampleClockAsync(PgInstance instance, CancellationToken cancellationToken)
    {
        try
        {
            return await HealthChecks.SampleClockAsync(instance, cancellationToken).ConfigureAwait(false);
        }
        catch (PgDrException)
        {
            return null;
        }
    }

    /// <summary>A group of checks that fails to run (a privilege missing, a node gone mid-check) becomes a Warn that says so.</summary>
    private static async Task<IReadOnlyList<PgDrCheck>> Guard(CheckWriter w, PgDrCheckArea area, string checkId, Func<Task<IReadOnlyList<PgDrCheck>>> checks)
    {
        try
        {
            return await checks().ConfigureAwait(false);
        }
        catch (PgDrException ex)
        {
            return [w.Warn(area, checkId, $"could not be checked: {ex.Message} [{ex.ErrorId}]",
                ex.ErrorId == ErrorIds.InsufficientPrivilege ? "Run the check as a superuser, or as a member of pg_monitor and pg_read_server_files." : "Run the check again; if it persists, the message says what stopped it.")];
        }
    }

    private static string ConnectionFix(string errorId) => errorId switch
    {
        ErrorIds.HostUnreachable => "Start the server, or open its port from here (listen_addresses, firewall); a standby that cannot reach it cannot either.",
        ErrorIds.AuthenticationFailed => "Give the right credentials (-Credential, PGPASSWORD or the pgpass file), and check pg_hba.conf for this client's address.",
        ErrorIds.TlsFailed => "Give the server's root certificate (-RootCertificate / --sslrootcert), check the certificate's names and dates, or turn ssl on.",
        ErrorIds.InsufficientPrivilege => "Connect as a role allowed to log in to this database.",
        _ => "The message says what failed; fix it and run the check again.",
    };

    private static void Validate(ConfigurationCheckOptions options)
    {
        if (options.MaxReadyFiles < 0 || options.MaxReplayLagBytes < 0 || options.MaxClockSkew < TimeSpan.Zero
            || options.MinFreeDiskShare is < 0 or > 1 || options.LogWindow <= TimeSpan.Zero || options.LogTailBytes <= 0)
        {
            throw new PgDrArgumentException(ErrorIds.InvalidThreshold,
                "Check limits must not be negative, the free disk share is between 0 and 1, and the log window and tail must be positive.", options);
        }
    }
}
