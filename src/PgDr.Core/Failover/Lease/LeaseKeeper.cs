using System.Diagnostics;
using PgDr.Errors;

namespace PgDr.Failover.Lease;

/// <summary>
/// Keeps a lease with a TTL renewed while the failover or switchover that took it runs. Promoting, proving a write and
/// repointing standbys can outlast the TTL on a loaded host, and no agent renews the lease meanwhile (the agent of the
/// new primary is the one waiting for this operation): without renewals an observer would see the lease unchanged for a
/// whole TTL and take it too, and two nodes would be promoted. Renewals and the operation's own changes to the lease
/// (its timeline) are one writer, serialized here, so they never fail each other's compare-and-swap.
/// </summary>
public sealed class LeaseKeeper : IAsyncDisposable
{
    private readonly LeaseStore _store;
    private readonly TimeSpan _interval;
    private readonly Action<PgDrLease, long>? _renewed;
    private readonly SemaphoreSlim _writer = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private PgDrLease _current;
    private volatile string? _lostTo;
    private int _renewals;

    private LeaseKeeper(LeaseStore store, PgDrLease lease, TimeSpan interval, Action<PgDrLease, long>? renewed)
    {
        _store = store;
        _current = lease;
        _interval = interval;
        _renewed = renewed;
        _loop = Task.Run(KeepAsync);
    }

    /// <summary>The lease as last written by this keeper (or the operation through <see cref="ChangeAsync"/>).</summary>
    public PgDrLease Current => Volatile.Read(ref _current);

    /// <summary>Successful renewals so far.</summary>
    public int Renewals => Volatile.Read(ref _renewals);

    /// <summary>Who has the lease now, once a renewal found it changed by another writer; null while it is held.</summary>
    public string? LostTo => _lostTo;

    /// <summary>
    /// Starts renewing <paramref name="lease"/> every <paramref name="interval"/> (default a third of its TTL), or returns
    /// null for a lease without a TTL, which never expires. <paramref name="renewed"/> is told of each renewal with the
    /// <see cref="Stopwatch"/> timestamp its write started at (a holder's fence deadline counts from there).
    /// </summary>
    public static LeaseKeeper? Start(LeaseStore store, PgDrLease lease, TimeSpan? interval = null, Action<PgDrLease, long>? renewed = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(lease);
        if (lease.TtlSeconds is not { } ttl)
        {
            return null;
        }

        var every = interval ?? TimeSpan.FromSeconds(ttl / 3.0);
        return new LeaseKeeper(store, lease, every > TimeSpan.Zero ? every : TimeSpan.FromMilliseconds(100), renewed);
    }

    /// <summary>Throws LeaseConflict, naming what was not done, once another writer has taken the lease.</summary>
    public void ThrowIfLost(string notDone, object? target)
    {
        if (_lostTo is { } other)
        {
            throw new PgDrException(
                ErrorIds.LeaseConflict,
                PgDrErrorCategory.ResourceBusy,
                $"The lease changed while this operation held it (now {other}): {notDone}.",
                target);
        }
    }

    /// <summary>A change of the held lease by the operation itself (its new timeline), in turn with the renewals.</summary>
    public async Task<PgDrLease> ChangeAsync(Func<PgDrLease, CancellationToken, Task<PgDrLease>> change, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(change);
        await _writer.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var changed = await change(_current, cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _current, changed);
            return changed;
        }
        finally
        {
            _writer.Release();
        }
    }

    /// <summary>Stops renewing (the lease stays as last written: its holder's agent takes over from here).</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopped while waiting.
        }

        _stop.Dispose();
        _writer.Dispose();
    }

    private async Task KeepAsync()
    {
        var token = _stop.Token;
        while (_lostTo is null)
        {
            await Task.Delay(_interval, token).ConfigureAwait(false);
            await _writer.WaitAsync(token).ConfigureAwait(false);
            try
            {
                await RenewOnceAsync(token).ConfigureAwait(false);
            }
            catch (PgDrException)
            {
                // The repository did not answer: try again next interval. If it stays away, the holder's agent fences
                // its node by its own clock, counted from the last renewal that succeeded.
            }
            finally
            {
                _writer.Release();
            }
        }
    }

    private async Task RenewOnceAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var held = _current;
        var renewed = await _store.RenewAsync(held, cancellationToken).ConfigureAwait(false);
        if (renewed is null)
        {
            // Either another writer took it, or an earlier renewal landed although its answer was lost.
            var now = await _store.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (now is not null && now.IsHeldBy(held.Holder) && now.Generation == held.Generation)
            {
                renewed = await _store.RenewAsync(now, cancellationToken).ConfigureAwait(false);
            }

            if (renewed is null)
            {
                _lostTo = now is null ? "removed" : $"held by {now.Holder}, generation {now.Generation}";
                return;
            }
        }

        Volatile.Write(ref _current, renewed);
        Interlocked.Increment(ref _renewals);
        _renewed?.Invoke(renewed, started);
    }
}
