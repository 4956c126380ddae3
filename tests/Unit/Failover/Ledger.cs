using Npgsql;
using PgDr.Connections;

namespace PgDr.Tests.Failover;

/// <summary>
/// The write ledger of the failover tests: a writer commits numbered rows, one transaction each, and remembers which
/// commits were acknowledged. A commit that fails is retried with the same number on whichever node is primary
/// (INSERT ... ON CONFLICT DO NOTHING: it may have counted after all), unless the writer stops at the first failure.
/// Afterwards the rows a node lacks are compared with what was acknowledged.
/// </summary>
public sealed class Ledger : IAsyncDisposable
{
    public const string Table = "pgdr_ledger";

    private readonly PgInstance[] _nodes;
    private readonly bool _followPrimary;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<long> _acknowledged = [];
    private readonly List<long> _inDoubt = [];
    private Task? _writer;
    private long _next = 1;

    private Ledger(PgInstance[] nodes, bool followPrimary)
    {
        _nodes = nodes;
        _followPrimary = followPrimary;
    }

    /// <summary>Creates the table on <paramref name="primary"/> and starts writing to it.</summary>
    /// <param name="followPrimary">On a failed commit, find the node that is primary now among <paramref name="others"/> and go on there (switchover); otherwise stop.</param>
    public static async Task<Ledger> StartAsync(PgInstance primary, bool followPrimary, params PgInstance[] others)
    {
        await Fixtures.Sql.ExecuteAsync(primary, $"CREATE TABLE IF NOT EXISTS {Table} (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())");
        var ledger = new Ledger([primary, .. others], followPrimary);
        ledger._writer = Task.Run(ledger.WriteAsync);
        return ledger;
    }

    /// <summary>Rows whose commit the server acknowledged.</summary>
    public IReadOnlyList<long> Acknowledged
    {
        get
        {
            lock (_acknowledged)
            {
                return [.. _acknowledged];
            }
        }
    }

    /// <summary>Rows whose commit failed without telling whether it counted.</summary>
    public IReadOnlyList<long> InDoubt
    {
        get
        {
            lock (_acknowledged)
            {
                return [.. _inDoubt];
            }
        }
    }

    /// <summary>Whether the writer stopped by itself (its primary went away and it was not to follow).</summary>
    public bool Stopped => _writer?.IsCompleted == true;

    /// <summary>Waits until at least <paramref name="count"/> more rows were acknowledged.</summary>
    public async Task WaitForMoreAsync(int count, TimeSpan timeout)
    {
        var target = Acknowledged.Count + count;
        var deadline = DateTime.UtcNow + timeout;
        while (Acknowledged.Count < target)
        {
            if (DateTime.UtcNow > deadline || Stopped)
            {
                throw new TimeoutException($"the ledger writer acknowledged {Acknowledged.Count} rows, not {target}");
            }

            await Task.Delay(10);
        }
    }

    /// <summary>Stops the writer and waits for it.</summary>
    public async Task StopAsync()
    {
        _stop.Cancel();
        if (_writer is not null)
        {
            await _writer;
        }
    }

    /// <summary>The ledger rows a node holds.</summary>
    public static async Task<HashSet<long>> RowsOnAsync(PgInstance node) =>
        await PgConnector.RunAsync(node, async conn =>
        {
            var rows = new HashSet<long>();
            await using var cmd = new NpgsqlCommand($"SELECT id FROM {Table}", conn);
            await using var reader = await cmd.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                rows.Add(reader.GetInt64(0));
            }

            return rows;
        }, CancellationToken.None);

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }

    private async Task WriteAsync()
    {
        var current = _nodes[0];
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await using var data = PgConnector.CreateDataSource(current);
                await using var conn = await data.OpenConnectionAsync(_stop.Token);
                while (!_stop.IsCancellationRequested)
                {
                    await using var insert = new NpgsqlCommand($"INSERT INTO {Table} (id) VALUES ($1) ON CONFLICT (id) DO NOTHING", conn);
                    insert.Parameters.AddWithValue(_next);
                    try
                    {
                        await insert.ExecuteNonQueryAsync(CancellationToken.None);
                    }
                    catch (Exception ex) when (ex is NpgsqlException or IOException)
                    {
                        lock (_acknowledged)
                        {
                            // A refused statement (read-only) never committed; a broken connection leaves it in doubt.
                            if (ex is not PostgresException)
                            {
                                _inDoubt.Add(_next);
                            }
                        }

                        throw;
                    }

                    lock (_acknowledged)
                    {
                        _acknowledged.Add(_next);
                        _inDoubt.Remove(_next);
                    }

                    _next++;
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or IOException or TimeoutException or PgDr.Errors.PgDrException)
            {
                if (!_followPrimary)
                {
                    return;
                }

                current = await FindPrimaryAsync() ?? current;
            }
        }
    }

    private async Task<PgInstance?> FindPrimaryAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            foreach (var node in _nodes)
            {
                try
                {
                    var inRecovery = await Fixtures.Sql.ScalarAsync<bool>(node, "SELECT pg_is_in_recovery() OR current_setting('default_transaction_read_only')::bool");
                    if (!inRecovery)
                    {
                        return node;
                    }
                }
                catch (PgDr.Errors.PgDrException)
                {
                    // Down or restarting: try the next.
                }
            }

            await Task.Delay(20);
        }

        return null;
    }
}
