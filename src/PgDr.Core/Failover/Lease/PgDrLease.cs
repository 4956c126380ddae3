using System.Text.Json.Serialization;

namespace PgDr.Failover.Lease;

/// <summary>
/// The cluster's single-writer lease: which node may be the writable primary. It is one small object in the WAL
/// repository (<c>{stanza}/lease</c>), changed only by compare-and-swap, so of two failovers racing for it exactly one
/// wins. <see cref="Generation"/> is the fencing term: it increases on every change of holder and never goes back.
/// </summary>
public sealed class PgDrLease
{
    [JsonPropertyName("format")]
    public int Format { get; set; } = 1;

    [JsonPropertyName("stanza")]
    public string Stanza { get; set; } = string.Empty;

    /// <summary>pg_control's system identifier of the cluster (a string: JSON readers lose precision on 64-bit numbers).</summary>
    [JsonPropertyName("systemIdentifier")]
    public string SystemIdentifier { get; set; } = string.Empty;

    /// <summary>The holder's node name: its cluster_name, else host:port.</summary>
    [JsonPropertyName("holder")]
    public string Holder { get; set; } = string.Empty;

    /// <summary>host:port the holder was reached at when it took the lease.</summary>
    [JsonPropertyName("holderInstance")]
    public string HolderInstance { get; set; } = string.Empty;

    /// <summary>The fencing term: 1 for the first holder, one more on every change of holder.</summary>
    [JsonPropertyName("generation")]
    public long Generation { get; set; }

    /// <summary>The timeline the holder writes on (after its promotion), when known.</summary>
    [JsonPropertyName("timeline")]
    public uint? Timeline { get; set; }

    /// <summary>
    /// Null: held until a failover or switchover takes it (no agent renews it). Set: an agent renews it at least this
    /// often, and a taker must fence the holder, see it expire on its own clock, or be forced.
    /// </summary>
    [JsonPropertyName("ttlSeconds")]
    public int? TtlSeconds { get; set; }

    [JsonPropertyName("acquiredAt")]
    public DateTimeOffset AcquiredAt { get; set; }

    /// <summary>Last renewal by the holder (the agent); equals <see cref="AcquiredAt"/> until then. Informative only:
    /// expiry is judged by a taker's own monotonic clock, never by comparing clocks of two hosts.</summary>
    [JsonPropertyName("renewedAt")]
    public DateTimeOffset RenewedAt { get; set; }

    /// <summary>Why the holder took it (switchover, failover from region-a, ...).</summary>
    [JsonPropertyName("reason")]
    public string? Reason { get; set; }

    /// <summary>The store's version of the object this was read from (an ETag or a generation file); not stored.</summary>
    [JsonIgnore]
    public string Version { get; set; } = string.Empty;

    /// <summary>The repository the lease was read from.</summary>
    [JsonIgnore]
    public string Repository { get; set; } = string.Empty;

    /// <summary>Whether <paramref name="nodeName"/> holds this lease.</summary>
    public bool IsHeldBy(string nodeName) => string.Equals(Holder, nodeName, StringComparison.Ordinal);

    public override string ToString() => $"lease of {Stanza}: {Holder} ({HolderInstance}), generation {Generation}{(Timeline is { } t ? $", timeline {t}" : string.Empty)}";
}

[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(PgDrLease))]
internal sealed partial class LeaseJsonContext : JsonSerializerContext;
