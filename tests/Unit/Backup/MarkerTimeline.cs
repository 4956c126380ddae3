using PgDr.Backup.Restore;
using PgDr.Connections;
using PgDr.Tests.Fixtures;
using PgDr.Topology;

namespace PgDr.Tests.Backup;

/// <summary>
/// pgBackRest's way of proving recovery targets: a marker row is written before each target is noted, more rows after,
/// and a restore to each target must hold exactly the markers written before it. One timeline, noted once, serves a
/// restore per target type.
/// </summary>
public sealed class MarkerTimeline
{
    public required string Table { get; init; }

    /// <summary>Markers 1: a time after it, before marker 2.</summary>
    public DateTimeOffset Time { get; private init; }

    /// <summary>Markers 1-2: the WAL position after marker 2's commit, before marker 3.</summary>
    public PgLsn Lsn { get; private init; }

    /// <summary>Markers 1-4: the transaction that wrote marker 4.</summary>
    public ulong Xid { get; private init; }

    /// <summary>Markers 1-6: a restore point made after marker 6.</summary>
    public string RestorePoint { get; private init; } = string.Empty;

    /// <summary>Every marker written (7).</summary>
    public string All => "1,2,3,4,5,6,7";

    /// <summary>Writes the markers on <paramref name="primary"/> into a new table (markers must already exist as a table in the backup or not at all).</summary>
    public static async Task<MarkerTimeline> WriteAsync(PgInstance primary, string restorePoint)
    {
        async Task Marker(int id) => await Sql.ExecuteAsync(primary, $"INSERT INTO markers (id) VALUES ({id})");

        await Marker(1);
        var time = await Sql.ScalarAsync<DateTime>(primary, "SELECT clock_timestamp()");
        await Marker(2);
        var lsn = PgLsn.From(await Sql.ScalarAsync<NpgsqlTypes.NpgsqlLogSequenceNumber>(primary, "SELECT pg_current_wal_lsn()"));
        await Marker(3);
        var xid = await PgConnector.RunAsync(primary, async conn =>
        {
            await using var tx = await conn.BeginTransactionAsync();
            await using (var insert = new Npgsql.NpgsqlCommand("INSERT INTO markers (id) VALUES (4)", conn, tx))
            {
                await insert.ExecuteNonQueryAsync();
            }

            await using var id = new Npgsql.NpgsqlCommand("SELECT txid_current()", conn, tx);
            var value = (long)(await id.ExecuteScalarAsync())!;
            await tx.CommitAsync();
            return (ulong)value;
        }, CancellationToken.None);
        await Marker(5);
        await Marker(6);
        await Sql.ExecuteAsync(primary, $"SELECT pg_create_restore_point('{restorePoint}')");
        await Marker(7);
        return new MarkerTimeline { Table = "markers", Time = new DateTimeOffset(time.ToUniversalTime(), TimeSpan.Zero), Lsn = lsn, Xid = xid, RestorePoint = restorePoint };
    }

    /// <summary>Each target with the markers a restore to it must hold.</summary>
    public IEnumerable<(string Name, Func<string, RestoreRequest> Request, string Expected)> Targets(string label) =>
    [
        ("time", d => new RestoreRequest { DataDirectory = d, Label = label, TargetTime = Time, TargetAction = RecoveryTargetAction.Promote }, "1"),
        ("lsn", d => new RestoreRequest { DataDirectory = d, Label = label, TargetLsn = Lsn, TargetAction = RecoveryTargetAction.Promote }, "1,2"),
        ("xid", d => new RestoreRequest { DataDirectory = d, Label = label, TargetXid = Xid, TargetAction = RecoveryTargetAction.Promote }, "1,2,3,4"),
        ("name", d => new RestoreRequest { DataDirectory = d, Label = label, TargetName = RestorePoint, TargetAction = RecoveryTargetAction.Promote }, "1,2,3,4,5,6"),
        ("immediate", d => new RestoreRequest { DataDirectory = d, Label = label, Immediate = true, TargetAction = RecoveryTargetAction.Promote }, string.Empty),
        ("latest", d => new RestoreRequest { DataDirectory = d, Label = label }, All),
    ];

    /// <summary>Restores the backup to every target at once (each on its own port) and checks each holds exactly its markers.</summary>
    public async Task AssertEveryTargetAsync(ArchivedClusterFixture fixture, string label)
    {
        var outcomes = await Task.WhenAll(Targets(label).Select(async target =>
        {
            await using var restored = await RestoredCluster.RestoreAsync(fixture, target.Request);
            await restored.StartAndWaitForPromotionAsync();
            return (target.Name, target.Expected, Actual: await restored.MarkersAsync());
        }));
        Assert.All(outcomes, o => Assert.True(o.Expected == o.Actual, $"restore to {o.Name}: expected markers [{o.Expected}], found [{o.Actual}]"));
    }
}
