using System.Diagnostics;

namespace PgDr.Failover.Measurement;

/// <summary>One timed step of a failover, switchover or rejoin.</summary>
public sealed class PgDrStep
{
    public required string Name { get; init; }

    /// <summary>From the call's start to the step's start.</summary>
    public TimeSpan StartedAfter { get; init; }

    public TimeSpan Duration { get; init; }

    /// <summary>Whether the step lies inside the recovery time (before the first accepted write).</summary>
    public bool CountsTowardsRto { get; init; }

    /// <summary>The step's part of the RTO, 0 to 1 (0 for steps after the first accepted write).</summary>
    public double ShareOfRto { get; set; }

    /// <summary>What the step did or found.</summary>
    public string? Detail { get; init; }

    public override string ToString() => $"{Name} {Duration.TotalMilliseconds:0} ms{(Detail is null ? string.Empty : $" ({Detail})")}";
}

/// <summary>
/// Times the steps of one operation on the monotonic clock, from the call to the first accepted write (the RTO) and
/// beyond; each step's share of the RTO is filled in when the RTO is known.
/// </summary>
public sealed class StepClock
{
    private readonly Stopwatch _watch = Stopwatch.StartNew();
    private readonly List<PgDrStep> _steps = [];
    private TimeSpan? _rto;

    public IReadOnlyList<PgDrStep> Steps => _steps;

    public TimeSpan Elapsed => _watch.Elapsed;

    /// <summary>From the call to the first write the new primary accepted; null until then.</summary>
    public TimeSpan? Rto => _rto;

    /// <summary>Runs one step and records its time; a step that throws is recorded too (with its error as detail).</summary>
    public async Task<T> TimeAsync<T>(string name, Func<Task<(T Value, string? Detail)>> step)
    {
        ArgumentNullException.ThrowIfNull(step);
        var start = _watch.Elapsed;
        try
        {
            var (value, detail) = await step().ConfigureAwait(false);
            Record(name, start, detail);
            return value;
        }
        catch (Exception ex)
        {
            Record(name, start, "failed: " + ex.Message);
            throw;
        }
    }

    public async Task TimeAsync(string name, Func<Task<string?>> step)
    {
        ArgumentNullException.ThrowIfNull(step);
        await TimeAsync<bool>(name, async () => (true, await step().ConfigureAwait(false))).ConfigureAwait(false);
    }

    /// <summary>Marks now as the first accepted write: the RTO ends here and every step so far gets its share.</summary>
    public TimeSpan MarkFirstAcceptedWrite()
    {
        var rto = _watch.Elapsed;
        _rto = rto;
        foreach (var step in _steps.Where(s => s.CountsTowardsRto))
        {
            step.ShareOfRto = rto > TimeSpan.Zero ? step.Duration / rto : 0;
        }

        return rto;
    }

    private void Record(string name, TimeSpan start, string? detail) =>
        _steps.Add(new PgDrStep { Name = name, StartedAfter = start, Duration = _watch.Elapsed - start, CountsTowardsRto = _rto is null, Detail = detail });
}
