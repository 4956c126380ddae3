using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using PgDr.Agent;
using PgDr.Agent.Events;
using PgDr.Connections;
using PgDr.Failover.Lease;
using PgDr.Hosting;
using PgDr.Tests.Failover;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Agent;

/// <summary>Short policy values for the tests (the defaults are for production: docs/agent.md).</summary>
public static class TestPolicy
{
    public static AgentPolicy Fast(Dictionary<string, int>? priority = null) => new()
    {
        HeartbeatInterval = TimeSpan.FromMilliseconds(500),
        MissedHeartbeats = 3,
        LeaseTtlSeconds = 5,
        RenewInterval = TimeSpan.FromMilliseconds(500),
        FenceMargin = TimeSpan.FromSeconds(2),
        Priority = priority ?? new Dictionary<string, int>(),
        HoldOff = TimeSpan.FromSeconds(60),
    };

    /// <summary>The same policy as the configuration file's JSON.</summary>
    public static JsonObject Json(Dictionary<string, int>? priority = null)
    {
        var json = new JsonObject
        {
            ["heartbeatIntervalSeconds"] = 0.5,
            ["missedHeartbeats"] = 3,
            ["leaseTtlSeconds"] = 5,
            ["renewIntervalSeconds"] = 0.5,
            ["fenceMarginSeconds"] = 2,
            ["holdOffSeconds"] = 60,
        };
        var p = new JsonObject();
        foreach (var (region, value) in priority ?? [])
        {
            p[region] = value;
        }

        json["priority"] = p;
        return json;
    }
}

/// <summary>A node agent run in the test process through the engine, stopped (parking its lease) on dispose.</summary>
public sealed class RunningAgent : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;

    public RunningAgent(AgentSettings settings, LeaseStore lease)
    {
        Settings = settings;
        Agent = new NodeAgent(settings, lease, settings.EventsPath is { } p ? new AgentEventLog(p) : null);
        _run = Task.Run(() => Agent.RunAsync(_stop.Token));
    }

    public AgentSettings Settings { get; }

    public NodeAgent Agent { get; }

    public string Name => Settings.Node ?? Settings.Instance.Name;

    public bool Has(AgentEventKind kind) => Agent.Events.Any(e => e.Kind == kind);

    public async Task<PgDrAgentEvent> WaitForAsync(AgentEventKind kind, TimeSpan timeout)
    {
        await Wait.UntilAsync(_ => Task.FromResult(Has(kind) || _run.IsCompleted), timeout, $"{Name}: {kind}", CancellationToken.None);
        if (_run.IsFaulted)
        {
            await _run;
        }

        return Agent.Events.First(e => e.Kind == kind);
    }

    public async Task WaitForRoleAsync(AgentRole role, TimeSpan timeout)
    {
        try
        {
            await Wait.UntilAsync(_ => Task.FromResult(Agent.Status.Role == role || _run.IsCompleted), timeout, $"{Name} to be {role}", CancellationToken.None);
        }
        catch (Errors.PgDrException ex)
        {
            Assert.Fail($"{ex.Message} It is {Agent.Status.Role}; its events: {string.Join(" | ", Agent.Events)}");
        }

        if (_run.IsCompleted)
        {
            await _run; // a failed agent: its exception is the test's failure
            Assert.Fail($"{Name}'s agent stopped; its events: {string.Join(" | ", Agent.Events)}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _run;
        }
        catch (Exception ex) when (ex is OperationCanceledException or Errors.PgDrException)
        {
            // Stopped, or it failed (the test has asserted what it needed).
        }

        _stop.Dispose();
    }
}

/// <summary>`pgdr agent` as its own process (the built pgdr.dll), its stdout lines collected, stopped with SIGTERM.</summary>
public sealed class AgentProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();

    private AgentProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) _lines.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _lines.Enqueue("stderr: " + e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public IReadOnlyList<string> Lines => [.. _lines];

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public static AgentProcess Start(string configPath, IReadOnlyDictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "pgdr.dll"), "agent", "--config", configPath })
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        return new AgentProcess(Process.Start(start)!);
    }

    public Task WaitForLineAsync(string text, TimeSpan timeout) =>
        Wait.UntilAsync(_ => Task.FromResult(Lines.Any(l => l.Contains(text, StringComparison.Ordinal))), timeout, $"a line with '{text}' (got: {string.Join(" | ", Lines.TakeLast(5))})", CancellationToken.None);

    /// <summary>SIGTERM, as systemd stops it; returns the exit code.</summary>
    public async Task<int> TerminateAsync()
    {
        if (!_process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await _process.WaitForExitAsync(timeout.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}

/// <summary>Helpers shared by the agent topology tests.</summary>
public static class AgentTestSupport
{
    public static async Task<HttpStatusCode> GetAsync(int port, string path)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        try
        {
            return (await http.GetAsync($"http://127.0.0.1:{port}{path}")).StatusCode;
        }
        catch (HttpRequestException)
        {
            return 0;
        }
    }

    public static Task WaitForHttpAsync(int port, string path, HttpStatusCode expected, TimeSpan timeout) =>
        Wait.UntilAsync(async _ => await GetAsync(port, path) == expected, timeout, $"GET :{port}{path} -> {(int)expected}", CancellationToken.None);

    /// <summary>Settings of an in-process agent for a sandbox node.</summary>
    public static AgentSettings AgentSettingsFor(FailoverSandbox sb, string node, AgentPolicy policy, string? advertise = null, IEnumerable<(string Name, PgInstance Instance)>? peers = null, int httpPort = 0) => new()
    {
        Node = node,
        Region = node,
        Instance = sb[node],
        Advertise = advertise,
        HttpAddress = "127.0.0.1",
        HttpPort = httpPort,
        EventsPath = TestDirectories.Path($"events-{node}-{Guid.NewGuid():N}.jsonl"),
        Peers = (peers ?? []).Select(p => new AgentPeer(p.Name, p.Instance, p.Name)).ToList(),
        Policy = policy,
    };

    /// <summary>
    /// A client with a multi-host connection string that only takes the writable node (target_session_attrs=read-write):
    /// what applications use to find the primary after a failover.
    /// </summary>
    public static string MultiHostConnectionString(FailoverSandbox sb, params int[] ports) =>
        new Npgsql.NpgsqlConnectionStringBuilder
        {
            Host = string.Join(',', ports.Select(p => $"127.0.0.1:{p}")),
            Username = "postgres",
            Password = sb["region-a"].Password,
            Database = "postgres",
            TargetSessionAttributes = "read-write",
            Timeout = 3,
            HostRecheckSeconds = 1,
            Pooling = false,
        }.ConnectionString;

    /// <summary>Tries one write through the multi-host string; true when a node accepted it.</summary>
    public static async Task<bool> TryClientWriteAsync(string connectionString, string table)
    {
        try
        {
            await using var conn = new Npgsql.NpgsqlConnection(connectionString);
            await conn.OpenAsync();
            await using var cmd = new Npgsql.NpgsqlCommand($"INSERT INTO {table} (at) VALUES (clock_timestamp())", conn);
            await cmd.ExecuteNonQueryAsync();
            return true;
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or IOException or TimeoutException or InvalidOperationException)
        {
            return false;
        }
    }
}
