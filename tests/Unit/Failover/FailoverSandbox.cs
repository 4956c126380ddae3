using PgDr.Archive.Configuration;
using PgDr.Connections;
using PgDr.Failover.Lease;
using PgDr.Hosting;
using PgDr.Hosting.Sandbox;
using PgDr.Replication;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Failover;

/// <summary>
/// A small sandbox of its own for one topology-changing test, with the lease store of its pgdr.json; stopped and
/// removed on dispose, whatever the test did to it.
/// </summary>
public sealed class FailoverSandbox : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _owned = [];

    private FailoverSandbox(PgSandbox sandbox, LeaseStore lease)
    {
        Sandbox = sandbox;
        Lease = lease;
    }

    public PgSandbox Sandbox { get; }

    public LeaseStore Lease { get; }

    public static async Task<FailoverSandbox> CreateAsync(string label, int standbys, bool cascading = false)
    {
        var directory = SandboxFixture.NewDirectory(label);
        Directory.CreateDirectory(Path.GetDirectoryName(directory)!);
        var sandbox = await SandboxService.CreateAsync(new SandboxSpec { Directory = directory, Standbys = standbys, Cascading = cascading }, progress: null, CancellationToken.None);
        return new FailoverSandbox(sandbox, LeaseStore.Open(PgDrConfig.Load(sandbox.ConfigPath)));
    }

    public PgInstance this[string node] => Sandbox.Instance(node);

    /// <summary>Something to dispose with the sandbox (a proxy, a ledger).</summary>
    public T Own<T>(T disposable) where T : IAsyncDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    /// <summary>Points a standby's replication link at <paramref name="port"/> (a proxy) and waits until it streams through it.</summary>
    public async Task StreamThroughAsync(string standby, int port)
    {
        var instance = this[standby];
        var conninfo = await Sql.ScalarAsync<string>(instance, "SELECT current_setting('primary_conninfo')");
        var repointed = PrimaryConnInfo.Repoint(conninfo, new PgInstance("127.0.0.1", port));
        await Sql.ExecuteAsync(instance, $"ALTER SYSTEM SET primary_conninfo = '{repointed.ToString().Replace("'", "''", StringComparison.Ordinal)}'");
        await Sql.ExecuteAsync(instance, "SELECT pg_reload_conf()");
        await Wait.UntilAsync(
            async _ => await Sql.ScalarAsync<int>(instance, $"SELECT count(*)::int FROM pg_stat_wal_receiver WHERE status = 'streaming' AND sender_port = {port}") == 1,
            TimeSpan.FromSeconds(60),
            $"{standby} to stream through port {port}",
            CancellationToken.None);
    }

    /// <summary>Waits until <paramref name="node"/> holds ledger row <paramref name="id"/> (it replayed that far).</summary>
    public static Task WaitForRowAsync(PgInstance node, long id) =>
        Wait.UntilAsync(
            async _ => await Sql.ScalarAsync<bool>(node, $"SELECT EXISTS (SELECT 1 FROM {Ledger.Table} WHERE id = {id})"),
            TimeSpan.FromSeconds(60),
            $"row {id} on {node}",
            CancellationToken.None);

    /// <summary>Waits until <paramref name="node"/> has replayed the creation of <paramref name="table"/>.</summary>
    public static Task WaitForTableAsync(PgInstance node, string table) =>
        Wait.UntilAsync(
            async _ => await Sql.ScalarAsync<bool>(node, $"SELECT to_regclass('{table}') IS NOT NULL"),
            TimeSpan.FromSeconds(60),
            $"{table} on {node}",
            CancellationToken.None);

    public static Task<bool> IsPrimaryAsync(PgInstance node) => Sql.ScalarAsync<bool>(node, "SELECT NOT pg_is_in_recovery()");

    public async ValueTask DisposeAsync()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
        {
            await owned.DisposeAsync();
        }

        await Lease.DisposeAsync();
        await SandboxService.RemoveAsync(Sandbox.Directory, progress: null, CancellationToken.None);
    }
}
