using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using PgDr.Agent;
using PgDr.Agent.Events;
using PgDr.Cli.Output;
using PgDr.Errors;

namespace PgDr.Cli.Commands;

/// <summary>pgdr agent | pgdr events: Start-PgDrAgent, Get-PgDrEvent.</summary>
internal static class AgentCommands
{
    private static readonly Option<string?> Config = new("--config")
    {
        Description = "PgDr configuration with the 'agent' section (default: PGDR_CONFIG, else the system file).",
    };

    public static IEnumerable<Command> Build() => [BuildAgent(), BuildEvents()];

    private static Command BuildAgent()
    {
        var command = new Command("agent", "Run the node agent in the foreground until stopped (SIGTERM, Ctrl+C): heartbeat HTTP endpoint, lease keeping and self-fencing, automated failover by the policy; one event per line on stdout.");
        var windowsService = new Option<bool>("--windows-service") { Description = "Run under the Windows service control manager (the command line the service definition registers; docs/agent.md)." };
        command.Options.Add(Config);
        command.Options.Add(windowsService);
        Runner.SetAction(command, async (parse, progress, ct) =>
        {
            var json = parse.GetValue(CommonOptions.Json);
            var config = parse.GetValue(Config);
            if (parse.GetValue(windowsService))
            {
                if (!OperatingSystem.IsWindows())
                {
                    throw new PgDrArgumentException(ErrorIds.InvalidServiceSpec, "--windows-service runs the agent under the Windows service control manager; on this system use the systemd unit (packaging/systemd/pgdr-agent.service).");
                }

                _ = AgentHost.Load(config);
                var error = PgDr.Agent.Services.WindowsServiceHost.Run(PgDr.Agent.Services.AgentServiceDefinitions.WindowsServiceName, stop => AgentHost.RunAsync(config, e => WriteEvent(e, json), stop));
                return error == 0 ? Runner.Success : Runner.Failure;
            }

            // SIGTERM is how systemd (and docker stop) ask a service to stop: the agent then parks its lease or fences.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, signal =>
            {
                signal.Cancel = true;
                stop.Cancel();
            });
            await AgentHost.RunAsync(config, e => WriteEvent(e, json), stop.Token).ConfigureAwait(false);
            return Runner.Success;
        });
        return command;
    }

    private static Command BuildEvents()
    {
        var path = new Option<string?>("--path") { Description = "The event log to read (default: agent.eventsPath of the configuration)." };
        var since = new Option<string?>("--since") { Description = "Only events from then on: a time (2026-12-01T18:00:00Z) or an age (10m, 2h, 30s)." };
        var last = new Option<int?>("--last") { Description = "Only the last N events." };
        var command = new Command("events", "Read this node's agent events (decisions and their reasons), oldest first. Exit 1 when there are none.");
        foreach (var option in new Option[] { Config, path, since, last })
        {
            command.Options.Add(option);
        }

        Runner.SetAction(command, (parse, _, _) =>
        {
            var events = AgentHost.ReadEvents(parse.GetValue(Config), parse.GetValue(path), ParseSince(parse.GetValue(since)), parse.GetValue(last));
            if (parse.GetValue(CommonOptions.Json))
            {
                JsonOutput.Write(events, PgDrJsonContext.Default.IReadOnlyListPgDrAgentEvent);
            }
            else
            {
                Table.Write(
                    events,
                    ("Time (UTC)", e => e.Time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture)),
                    ("Node", e => e.Node),
                    ("Kind", e => e.Kind.ToString()),
                    ("Gen", e => e.LeaseGeneration?.ToString(CultureInfo.InvariantCulture)),
                    ("Reason", e => e.ErrorId is null ? e.Reason : $"{e.Reason} [{e.ErrorId}]"));
            }

            return Task.FromResult(events.Count == 0 ? Runner.Unhealthy : Runner.Success);
        });
        return command;
    }

    /// <summary>An absolute time, or an age before now (30s, 10m, 2h, 1d).</summary>
    internal static DateTimeOffset? ParseSince(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var unit = text[^1];
        if (unit is 's' or 'm' or 'h' or 'd' && double.TryParse(text[..^1], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount))
        {
            return DateTimeOffset.UtcNow - (unit switch { 's' => TimeSpan.FromSeconds(amount), 'm' => TimeSpan.FromMinutes(amount), 'h' => TimeSpan.FromHours(amount), _ => TimeSpan.FromDays(amount) });
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? at
            : throw new PgDrArgumentException(ErrorIds.InvalidThreshold, $"--since takes a time (2026-12-01T18:00:00Z) or an age (30s, 10m, 2h, 1d), not '{text}'.", text);
    }

    private static void WriteEvent(PgDrAgentEvent agentEvent, bool json)
    {
        // One line per event, flushed: journald and container logs read stdout.
        Console.Out.WriteLine(json ? JsonSerializer.Serialize(agentEvent, PgDrJsonContext.Default.PgDrAgentEvent).ReplaceLineEndings(string.Empty) : agentEvent.ToString() + (agentEvent.ErrorId is null ? string.Empty : $" [{agentEvent.ErrorId}]"));
        Console.Out.Flush();
    }
}
