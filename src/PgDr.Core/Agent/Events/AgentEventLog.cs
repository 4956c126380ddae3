using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using PgDr.Errors;

namespace PgDr.Agent.Events;

/// <summary>
/// The node's own event log: one JSON object per line, appended and flushed as each event happens.
/// </summary>
/// <remarks>
/// A local file rather than the repository: the events matter most when the repository (or the network) is what
/// failed, and a local append cannot fail for the same reason. JSON lines because every log shipper reads them, a
/// crash can cut at most the last line (which the reader skips), and `pgdr events` / Get-PgDrEvent need nothing but
/// the file. It is rotated at <see cref="MaxBytes"/> to one previous file (.1), so it never fills the disk.
/// </remarks>
public sealed class AgentEventLog
{
    public const long MaxBytes = 16L * 1024 * 1024;

    private readonly object _gate = new();

    public AgentEventLog(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = System.IO.Path.GetFullPath(path);
    }

    public string Path { get; }

    /// <summary>Appends one event; the file (and its directory) is created on first use.</summary>
    public void Append(PgDrAgentEvent agentEvent)
    {
        ArgumentNullException.ThrowIfNull(agentEvent);
        var line = JsonSerializer.Serialize(agentEvent, AgentEventJsonContext.Default.PgDrAgentEvent) + "\n";
        lock (_gate)
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
            if (File.Exists(Path) && new FileInfo(Path).Length > MaxBytes)
            {
                File.Move(Path, Path + ".1", overwrite: true);
            }

            using var stream = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            stream.Write(Encoding.UTF8.GetBytes(line));
            stream.Flush(flushToDisk: false);
        }
    }

    /// <summary>
    /// The events of the log at <paramref name="path"/> (its rotated predecessor first), oldest first, from
    /// <paramref name="since"/> on; the last <paramref name="last"/> of them when given. A line that is not a whole event
    /// (cut by a crash) is skipped. A log that does not exist is AgentEventLogNotFound.
    /// </summary>
    public static IReadOnlyList<PgDrAgentEvent> Read(string path, DateTimeOffset? since = null, int? last = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new PgDrNotFoundException(ErrorIds.AgentEventLogNotFound, $"There is no agent event log at {path} (the agent writes it once it runs; see agent.eventsPath).", path);
        }

        var events = new List<PgDrAgentEvent>();
        foreach (var file in new[] { path + ".1", path }.Where(File.Exists))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            while (reader.ReadLine() is { } line)
            {
                if (line.Length == 0)
                {
                    continue;
                }

                try
                {
                    if (JsonSerializer.Deserialize(line, AgentEventJsonContext.Default.PgDrAgentEvent) is { } e && (since is null || e.Time >= since))
                    {
                        events.Add(e);
                    }
                }
                catch (JsonException)
                {
                    // A line cut short by a crash: not an event.
                }
            }
        }

        return last is { } n && n >= 0 && events.Count > n ? events.GetRange(events.Count - n, n) : events;
    }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(PgDrAgentEvent))]
internal sealed partial class AgentEventJsonContext : JsonSerializerContext;
