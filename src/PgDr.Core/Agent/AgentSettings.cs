using System.Text.Json;
using PgDr.Archive.Configuration;
using PgDr.Connections;
using PgDr.Errors;
using PgDr.Hosting.Services;

namespace PgDr.Agent;

/// <summary>Another node as the agent reaches it, and its agent's HTTP endpoint when the configuration names one.</summary>
public sealed record AgentPeer(string Name, PgInstance Instance, string Region, Uri? Agent = null)
{
    /// <summary>Whether this is the node reached at <paramref name="instance"/> or named <paramref name="clusterName"/>.</summary>
    public bool Is(PgInstance instance, string? clusterName)
    {
        ArgumentNullException.ThrowIfNull(instance);
        return string.Equals(Instance.Name, instance.Name, StringComparison.OrdinalIgnoreCase)
            || (clusterName is not null && string.Equals(Name, clusterName, StringComparison.Ordinal));
    }
}

/// <summary>The failover policy with its values checked and turned into times.</summary>
public sealed record AgentPolicy
{
    public bool AutomaticFailover { get; init; } = true;

    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(1);

    public int MissedHeartbeats { get; init; } = 3;

    public int LeaseTtlSeconds { get; init; } = 6;

    public TimeSpan RenewInterval { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan FenceMargin { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Regions that may take over; empty: all.</summary>
    public IReadOnlyList<string> Regions { get; init; } = [];

    public IReadOnlyDictionary<string, int> Priority { get; init; } = new Dictionary<string, int>();

    public long MaxDataLossBytes { get; init; } = 16 * 1024 * 1024;

    public TimeSpan HoldOff { get; init; } = TimeSpan.FromSeconds(60);

    public TimeSpan LeaseTtl => TimeSpan.FromSeconds(LeaseTtlSeconds);

    /// <summary>
    /// How long after the start of its last successful renewal the holder fences itself: the TTL less the margin. An
    /// observer's TTL starts no earlier than that renewal landed, which is after it started, so the holder is fenced
    /// at least the margin before any observer can judge the lease expired (docs/agent.md: the margin's budget).
    /// </summary>
    public TimeSpan FenceAfter => LeaseTtl - FenceMargin;

    /// <summary>Time limit of one call to the lease repository: a renewal that hangs must not hold up the next one.</summary>
    public TimeSpan LeaseCallTimeout => TimeSpan.FromTicks(Math.Min(Math.Max(RenewInterval.Ticks, TimeSpan.FromSeconds(2).Ticks), FenceAfter.Ticks / 2));

    /// <summary>Time limit of one SQL heartbeat of another node (a partitioned node does not refuse, it stays silent).</summary>
    public TimeSpan ProbeTimeout => TimeSpan.FromTicks(Math.Max(HeartbeatInterval.Ticks, TimeSpan.FromSeconds(1).Ticks));

    /// <summary>Time limit of the probe of the agent's own node: local, so only a hung server takes this long.</summary>
    public TimeSpan LocalProbeTimeout => TimeSpan.FromTicks(Math.Max(HeartbeatInterval.Ticks * 2, TimeSpan.FromSeconds(2).Ticks));

    public bool MayTakeOver(string region) => Regions.Count == 0 || Regions.Contains(region, StringComparer.Ordinal);

    public int PriorityOf(string region) => Priority.TryGetValue(region, out var p) ? p : 0;

    /// <summary>Checks the values; <paramref name="fail"/> makes the error (InvalidConfig naming the setting).</summary>
    public void Validate(Func<string, Exception> fail)
    {
        ArgumentNullException.ThrowIfNull(fail);
        if (HeartbeatInterval < TimeSpan.FromMilliseconds(50) || HeartbeatInterval > TimeSpan.FromMinutes(1))
        {
            throw fail("'policy.heartbeatIntervalSeconds' must be between 0.05 and 60");
        }

        if (MissedHeartbeats is < 1 or > 100)
        {
            throw fail("'policy.missedHeartbeats' must be between 1 and 100");
        }

        if (LeaseTtlSeconds is < 2 or > 3600)
        {
            throw fail("'policy.leaseTtlSeconds' must be between 2 and 3600");
        }

        if (FenceMargin < TimeSpan.FromMilliseconds(500) || FenceMargin >= LeaseTtl)
        {
            throw fail($"'policy.fenceMarginSeconds' must be at least 0.5 and less than the TTL ({LeaseTtlSeconds} s): the primary fences itself that long before the TTL ends");
        }

        if (RenewInterval < TimeSpan.FromMilliseconds(50) || RenewInterval.Ticks * 2 > FenceAfter.Ticks)
        {
            throw fail($"'policy.renewIntervalSeconds' must be at least 0.05 and at most half of TTL less margin ({FenceAfter.TotalSeconds:0.##} s), so that a renewal can fail once and still be retried before the primary fences itself");
        }

        if (MaxDataLossBytes < 0)
        {
            throw fail("'policy.maxDataLossBytes' must be 0 or more");
        }

        if (HoldOff < TimeSpan.Zero || HoldOff > TimeSpan.FromDays(1))
        {
            throw fail("'policy.holdOffSeconds' must be between 0 and 86400");
        }
    }
}

/// <summary>Everything a node agent runs with, checked: read from the configuration file, or built by tests.</summary>
public sealed record AgentSettings
{
    /// <summary>This node's name as the lease names it (its cluster_name); null: read from PostgreSQL when it answers.</summary>
    public string? Node { get; init; }

    /// <summary>Its region; null: its name.</summary>
    public string? Region { get; init; }

    /// <summary>The local PostgreSQL, as the agent reaches it.</summary>
    public required PgInstance Instance { get; init; }

    /// <summary>host:port written in the lease (how others reach this node); null: the instance's.</summary>
    public string? Advertise { get; init; }

    public PgServiceSpec Service { get; init; } = PgServiceSpec.Auto;

    public string? DataDirectory { get; init; }

    public string HttpAddress { get; init; } = "0.0.0.0";

    /// <summary>0: no HTTP endpoint (tests that only need the engine).</summary>
    public int HttpPort { get; init; } = 8080;

    /// <summary>The event log; null: events are only reported, not kept.</summary>
    public string? EventsPath { get; init; }

    public IReadOnlyList<AgentPeer> Peers { get; init; } = [];

    public AgentPolicy Policy { get; init; } = new();

    /// <summary>Where the node is advertised: the configured address, else the instance's host:port.</summary>
    public string AdvertisedInstance => Advertise ?? Instance.Name;

    public static string DefaultEventsPath => OperatingSystem.IsWindows()
        ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.CommonApplicationData), "pgdr", "agent-events.jsonl")
        : "/var/lib/pgdr/agent-events.jsonl";

    /// <summary>The agent section of <paramref name="config"/>, checked; InvalidConfig naming the setting when it is wrong.</summary>
    public static AgentSettings FromConfig(PgDrConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        Exception Fail(string why) => new PgDrException(ErrorIds.InvalidConfig, PgDrErrorCategory.InvalidData, $"The PgDr configuration {config.SourcePath} is not valid: {why}.", config.SourcePath);
        if (config.Agent is not { ValueKind: JsonValueKind.Object } section)
        {
            throw Fail("it has no 'agent' section (docs/agent.md shows one)");
        }

        AgentConfig agent;
        try
        {
            agent = section.Deserialize(AgentConfigJsonContext.Default.AgentConfig) ?? throw new JsonException("empty");
        }
        catch (JsonException ex)
        {
            throw Fail($"its 'agent' section does not have the expected shape ({ex.Message})");
        }

        var p = agent.Policy ?? new AgentPolicyConfig();
        var policy = new AgentPolicy
        {
            AutomaticFailover = p.AutomaticFailover,
            HeartbeatInterval = Seconds(p.HeartbeatIntervalSeconds, "policy.heartbeatIntervalSeconds", Fail),
            MissedHeartbeats = p.MissedHeartbeats,
            LeaseTtlSeconds = p.LeaseTtlSeconds,
            RenewInterval = Seconds(p.RenewIntervalSeconds, "policy.renewIntervalSeconds", Fail),
            FenceMargin = Seconds(p.FenceMarginSeconds, "policy.fenceMarginSeconds", Fail),
            Regions = p.Regions ?? [],
            Priority = p.Priority ?? [],
            MaxDataLossBytes = p.MaxDataLossBytes,
            HoldOff = Seconds(p.HoldOffSeconds, "policy.holdOffSeconds", Fail),
        };
        policy.Validate(Fail);
        if (agent.HttpPort is < 1 or > 65535)
        {
            throw Fail($"'agent.httpPort' must be between 1 and 65535 (got {agent.HttpPort})");
        }

        var peers = new List<AgentPeer>();
        foreach (var peer in agent.Peers ?? [])
        {
            if (string.IsNullOrWhiteSpace(peer.Name))
            {
                throw Fail("every entry of 'agent.peers' needs a 'name'");
            }

            peers.Add(new AgentPeer(
                peer.Name,
                ParseInstance(peer.Instance, $"agent.peers[{peer.Name}].instance", Fail),
                peer.Region ?? peer.Name,
                string.IsNullOrWhiteSpace(peer.Agent) ? null : ParseAgent(peer.Agent, $"agent.peers[{peer.Name}].agent", Fail)));
        }

        if (agent.Advertise is { Length: > 0 } advertise)
        {
            _ = ParseInstance(advertise, "agent.advertise", Fail);
        }

        PgServiceSpec service;
        try
        {
            service = PgServiceSpec.Parse(agent.Service);
        }
        catch (PgDrException ex)
        {
            throw Fail($"'agent.service': {ex.Message}");
        }

        return new AgentSettings
        {
            Node = string.IsNullOrWhiteSpace(agent.Node) ? null : agent.Node,
            Region = string.IsNullOrWhiteSpace(agent.Region) ? null : agent.Region,
            Instance = ParseInstance(agent.Instance, "agent.instance", Fail),
            Advertise = string.IsNullOrWhiteSpace(agent.Advertise) ? null : PgInstance.Parse(agent.Advertise).Name,
            Service = service,
            DataDirectory = agent.DataDirectory,
            HttpAddress = string.IsNullOrWhiteSpace(agent.HttpAddress) ? "0.0.0.0" : agent.HttpAddress,
            HttpPort = agent.HttpPort,
            EventsPath = string.IsNullOrWhiteSpace(agent.EventsPath) ? DefaultEventsPath : agent.EventsPath,
            Peers = peers,
            Policy = policy,
        };
    }

    /// <summary>
    /// The agents a configuration names, each with the node it keeps: this node's own (its endpoint as reached on this
    /// host) and every peer with an 'agent' address; none without an agent section. pgdr check reads from them what it
    /// cannot measure of a node on another host (its disks).
    /// </summary>
    public static IReadOnlyList<AgentPeer> AgentsOf(PgDrConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.Agent is not { ValueKind: JsonValueKind.Object })
        {
            return [];
        }

        var settings = FromConfig(config);
        var listen = settings.HttpAddress is "0.0.0.0" or "::" ? "127.0.0.1" : settings.HttpAddress;
        var own = new Uri($"http://{(listen.Contains(':', StringComparison.Ordinal) ? $"[{listen}]" : listen)}:{settings.HttpPort}/");
        var name = settings.Node ?? settings.Instance.Name;
        return [new AgentPeer(name, settings.Instance, settings.Region ?? name, own), .. settings.Peers.Where(p => p.Agent is not null)];
    }

    /// <summary>An agent's HTTP endpoint: host:port, or an http:// URL.</summary>
    private static Uri ParseAgent(string text, string setting, Func<string, Exception> fail)
    {
        var withScheme = text.Contains("://", StringComparison.Ordinal) ? text : "http://" + text;
        return Uri.TryCreate(withScheme, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttp && uri.AbsolutePath == "/"
            ? uri
            : throw fail($"'{setting}' must be the agent's HTTP endpoint as host:port or http://host:port, not '{text}'");
    }

    private static TimeSpan Seconds(double value, string setting, Func<string, Exception> fail) =>
        double.IsFinite(value) && value is >= 0 and <= 86400 ? TimeSpan.FromSeconds(value) : throw fail($"'{setting}' must be a number of seconds between 0 and 86400");

    /// <summary>An instance from the configuration: never with a password in it (the file is readable; use the pgpass file).</summary>
    private static PgInstance ParseInstance(string? text, string setting, Func<string, Exception> fail)
    {
        PgInstance instance;
        try
        {
            instance = PgInstance.Parse(text ?? string.Empty);
        }
        catch (PgDrException ex)
        {
            throw fail($"'{setting}': {ex.Message}");
        }

        return instance.HasPassword
            ? throw fail($"'{setting}' holds a password; put it in the pgpass file (PGPASSFILE) instead, this file is readable and ends up in logs")
            : instance;
    }
}
