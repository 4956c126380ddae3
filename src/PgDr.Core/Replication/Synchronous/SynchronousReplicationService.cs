using Npgsql;
using PgDr.Connections;
using PgDr.Errors;
using PgDr.Settings;
using PgDr.Topology;

namespace PgDr.Replication.Synchronous;

/// <summary>
/// Sets synchronous_standby_names and synchronous_commit on a primary (Set-PgSynchronousReplication, pgdr sync set)
/// through ALTER SYSTEM and a reload: no restart, and a waiting commit is released as soon as the setting stops naming
/// standbys it waits for.
/// </summary>
public static class SynchronousReplicationService
{
    private static readonly string[] ManagedSettings = ["synchronous_standby_names", "synchronous_commit"];

    /// <summary>
    /// Works out the change against the primary's current settings and connected standbys; writes it unless
    /// <paramref name="apply"/> is false (-WhatIf shows old -> new and changes nothing). Standbys that are not connected
    /// are refused unless the request says Force: a mistyped name would make every commit wait.
    /// </summary>
    public static async Task<PgSynchronousReplicationChange> SetAsync(PgInstance primary, SynchronousReplicationRequest request, bool apply, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var names = request.Disable ? string.Empty : SynchronousStandbyNames.Format(request.Method, request.NumSync, request.StandbyNames);
        if (request.SynchronousCommit is { } level && !SynchronousStandbyNames.CommitLevels.Contains(level))
        {
            throw SynchronousStandbyNames.Invalid($"synchronous_commit '{level}' is not one of {string.Join(", ", SynchronousStandbyNames.CommitLevels)}", level);
        }

        var (changes, connected) = await PgConnector.RunAsync(primary, async conn =>
        {
            await NodeInspector.RequirePrimaryAsync(primary, conn, "synchronous replication", cancellationToken).ConfigureAwait(false);
            var current = await ServerSettings.ReadAsync(conn, ManagedSettings, cancellationToken).ConfigureAwait(false);
            // An array, so PowerShell indexes it ($change.Settings[0]).
            PgSettingChange[] planned =
            [
                ServerSettings.Change(current["synchronous_standby_names"], names),
                ServerSettings.Change(current["synchronous_commit"], request.SynchronousCommit ?? current["synchronous_commit"].Display),
            ];
            return (planned, await ConnectedStandbysAsync(conn, cancellationToken).ConfigureAwait(false));
        }, cancellationToken).ConfigureAwait(false);

        var missing = request.Disable ? [] : Missing(request, connected);
        if (missing.Count > 0 && !request.Force)
        {
            throw new PgDrInvalidOperationException(
                ErrorIds.SynchronousStandbyNotConnected,
                $"{string.Join(", ", missing)} {(missing.Count == 1 ? "is" : "are")} not connected to {primary} (connected: {(connected.Count == 0 ? "none" : string.Join(", ", connected))}); "
                + "naming a standby that is not there makes every commit wait for it. Check the name (its application_name), or -Force if it is about to connect.",
                primary);
        }

        if (apply)
        {
            await ServerSettings.AlterSystemAsync(primary, changes, cancellationToken).ConfigureAwait(false);
        }

        return new PgSynchronousReplicationChange
        {
            Instance = primary,
            Settings = changes,
            Applied = apply,
            ConnectedStandbys = connected,
            MissingStandbys = missing,
        };
    }

    /// <summary>Named standbys that are not connected; for *, how many more any-standby slots need one.</summary>
    private static List<string> Missing(SynchronousReplicationRequest request, IReadOnlyList<string> connected)
    {
        if (request.StandbyNames.Contains("*"))
        {
            return connected.Count >= request.NumSync ? [] : [$"{request.NumSync - connected.Count} more standby(s) for *"];
        }

        return request.StandbyNames.Where(n => !connected.Contains(n, StringComparer.OrdinalIgnoreCase)).ToList();
    }

    /// <summary>The application_name of every standby streaming from (or catching up with) the primary now.</summary>
    private static async Task<IReadOnlyList<string>> ConnectedStandbysAsync(NpgsqlConnection conn, CancellationToken cancellationToken)
    {
        using var cmd = new NpgsqlCommand("SELECT DISTINCT application_name FROM pg_stat_replication WHERE application_name <> '' ORDER BY 1", conn);
        using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var names = new List<string>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }
}
