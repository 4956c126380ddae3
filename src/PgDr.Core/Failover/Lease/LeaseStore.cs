using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using PgDr.Archive.Configuration;
using PgDr.Archive.Repositories;
using PgDr.Archive.Stanza;
using PgDr.Errors;

namespace PgDr.Failover.Lease;

/// <summary>Who takes the lease, and why.</summary>
public sealed record LeaseClaim(string Holder, string HolderInstance, ulong SystemIdentifier, uint? Timeline, string Reason);

/// <summary>
/// Reads and changes the single-writer lease in one repository by compare-and-swap. Failover and switchover take it;
/// the agent (issue 13) renews it and watches it through the same calls.
/// </summary>
public sealed class LeaseStore : IAsyncDisposable
{
    private readonly IConditionalObjectStore _store;
    private readonly IAsyncDisposable? _owned;

    public LeaseStore(IConditionalObjectStore store, string stanza, IAsyncDisposable? owned = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrEmpty(stanza);
        _store = store;
        Stanza = stanza;
        _owned = owned;
    }

    public string Stanza { get; }

    /// <summary>The repository that keeps the lease.</summary>
    public string Repository => _store.Name;

    private string Key => ArchiveLayout.LeaseKey(Stanza);

    /// <summary>The lease store of a configuration: its lease repository (PgDrConfig.LeaseRepository).</summary>
    public static LeaseStore Open(PgDrConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var repository = ArchiveRepositoryFactory.Create(config.LeaseRepository.ToRepositoryConfig());
        if (repository is not IConditionalObjectStore conditional)
        {
            throw new PgDrException(
                ErrorIds.LeaseRepositoryUnsupported,
                PgDrErrorCategory.InvalidOperation,
                $"Repository '{repository.Name}' cannot keep the lease: it offers no compare-and-swap.",
                repository.Name);
        }

        return new LeaseStore(conditional, config.Stanza, repository);
    }

    /// <summary>
    /// The lease store of the configuration file <paramref name="configPath"/> names; without one, PGDR_CONFIG's or the
    /// default file's when it exists, else null (no lease is kept: failover then needs a confirmed fence, or Force).
    /// </summary>
    public static LeaseStore? OpenConfigured(string? configPath)
    {
        if (string.IsNullOrEmpty(configPath) && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("PGDR_CONFIG")) && !File.Exists(PgDrConfig.DefaultPath))
        {
            return null;
        }

        return Open(PgDrConfig.Load(configPath));
    }

    /// <summary>The lease, or null when none was ever taken.</summary>
    public async Task<PgDrLease?> ReadAsync(CancellationToken cancellationToken)
    {
        var stored = await _store.ReadVersionedAsync(Key, cancellationToken).ConfigureAwait(false);
        if (stored is null)
        {
            return null;
        }

        PgDrLease lease;
        try
        {
            lease = JsonSerializer.Deserialize(stored.Content, LeaseJsonContext.Default.PgDrLease) ?? throw new JsonException("empty");
        }
        catch (JsonException ex)
        {
            throw new PgDrException(ErrorIds.ArchiveObjectCorrupt, PgDrErrorCategory.InvalidData, $"Repository '{Repository}': {Key} is damaged ({ex.Message}).", Repository, ex);
        }

        lease.Version = stored.Version;
        lease.Repository = Repository;
        return lease;
    }

    /// <summary>
    /// Gives the lease to <paramref name="claim"/>'s holder, provided it is still exactly <paramref name="expected"/>
    /// (null: provided there is none). A change of holder increases the generation. Throws LeaseConflict when another
    /// writer changed it in between: nothing was written then.
    /// </summary>
    public async Task<PgDrLease> TakeAsync(PgDrLease? expected, LeaseClaim claim, int? ttlSeconds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claim);
        var now = DateTimeOffset.UtcNow;
        var sameHolder = expected is not null && expected.IsHeldBy(claim.Holder);
        var lease = new PgDrLease
        {
            Stanza = Stanza,
            SystemIdentifier = claim.SystemIdentifier.ToString(CultureInfo.InvariantCulture),
            Holder = claim.Holder,
            HolderInstance = claim.HolderInstance,
            Generation = expected is null ? 1 : sameHolder ? expected.Generation : expected.Generation + 1,
            Timeline = claim.Timeline,
            TtlSeconds = ttlSeconds,
            AcquiredAt = sameHolder ? expected!.AcquiredAt : now,
            RenewedAt = now,
            Reason = claim.Reason,
        };
        return await WriteAsync(expected, lease, cancellationToken).ConfigureAwait(false)
            ?? throw Conflict(expected, claim.Holder);
    }

    /// <summary>
    /// The holder's renewal (the agent): same holder and generation, a new version. Returns null when the lease
    /// changed since <paramref name="current"/> was read: the caller has lost it and must stop writing.
    /// </summary>
    public async Task<PgDrLease?> RenewAsync(PgDrLease current, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(current);
        var renewed = Copy(current);
        renewed.RenewedAt = DateTimeOffset.UtcNow;
        return await WriteAsync(current, renewed, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Records the holder's new timeline after its promotion (same holder and generation).</summary>
    public async Task<PgDrLease> SetTimelineAsync(PgDrLease current, uint timeline, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(current);
        var updated = Copy(current);
        updated.Timeline = timeline;
        return await WriteAsync(current, updated, cancellationToken).ConfigureAwait(false)
            ?? throw Conflict(current, current.Holder);
    }

    /// <summary>
    /// Whether a lease with a TTL expired, judged on this process's monotonic clock: the lease must keep the version it
    /// had in <paramref name="observed"/> for a whole TTL (plus <paramref name="margin"/>) from now. Clocks of two hosts
    /// are never compared. Returns the lease as last read (null if it vanished) and the verdict.
    /// </summary>
    public async Task<(bool Expired, PgDrLease? Latest)> WaitForExpiryAsync(PgDrLease observed, TimeSpan margin, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(observed);
        if (observed.TtlSeconds is not { } ttl)
        {
            return (false, observed);
        }

        var watch = Stopwatch.StartNew();
        var deadline = TimeSpan.FromSeconds(ttl) + margin;
        while (true)
        {
            var latest = await ReadAsync(cancellationToken).ConfigureAwait(false);
            if (latest is null || latest.Version != observed.Version)
            {
                return (false, latest);
            }

            if (watch.Elapsed >= deadline)
            {
                return (true, latest);
            }

            var rest = deadline - watch.Elapsed;
            await Task.Delay(rest < TimeSpan.FromSeconds(1) ? rest : TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
        }
    }

    public ValueTask DisposeAsync() => _owned?.DisposeAsync() ?? ValueTask.CompletedTask;

    private async Task<PgDrLease?> WriteAsync(PgDrLease? expected, PgDrLease lease, CancellationToken cancellationToken)
    {
        var content = JsonSerializer.SerializeToUtf8Bytes(lease, LeaseJsonContext.Default.PgDrLease);
        var result = expected is null
            ? await _store.CreateIfAbsentAsync(Key, content, cancellationToken).ConfigureAwait(false)
            : await _store.ReplaceIfVersionAsync(Key, content, expected.Version, cancellationToken).ConfigureAwait(false);
        if (!result.Written)
        {
            return null;
        }

        lease.Version = result.Version!;
        lease.Repository = Repository;
        return lease;
    }

    private static PgDrLease Copy(PgDrLease lease) => JsonSerializer.Deserialize(
        JsonSerializer.SerializeToUtf8Bytes(lease, LeaseJsonContext.Default.PgDrLease), LeaseJsonContext.Default.PgDrLease)!;

    private PgDrException Conflict(PgDrLease? expected, string claimant) => new(
        ErrorIds.LeaseConflict,
        PgDrErrorCategory.ResourceBusy,
        $"The lease of stanza '{Stanza}' in repository '{Repository}' changed while {claimant} was taking it "
        + $"({(expected is null ? "it was created" : $"generation {expected.Generation} held by {expected.Holder} was replaced")} by another operation); nothing was changed. Read it again (Get-PgDrLease) before retrying.",
        Stanza);
}
