using System.Text.Json;
using PgDr.Errors;

namespace PgDr.Agent.Http;

/// <summary>Reads another node's agent view (GET /status): what a check on one host learns of a node on another.</summary>
public static class AgentStatusClient
{
    // One client for the process: a handler per call would leave a socket behind each time.
    private static readonly HttpClient Http = new() { Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>The agent's view, or AgentUnreachable when it does not answer within <paramref name="timeout"/> or answers with something else.</summary>
    public static async Task<PgDrAgentStatus> GetAsync(Uri agent, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(agent);
        var status = new Uri(agent, "/status");
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(timeout);
        try
        {
            using var response = await Http.GetAsync(status, bounded.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw Unreachable(agent, $"GET {status} answered {(int)response.StatusCode}", null);
            }

            var stream = await response.Content.ReadAsStreamAsync(bounded.Token).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                return await JsonSerializer.DeserializeAsync(stream, AgentStatusJsonContext.Default.PgDrAgentStatus, bounded.Token).ConfigureAwait(false)
                    ?? throw Unreachable(agent, $"GET {status} answered an empty body", null);
            }
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw Unreachable(agent, $"no answer within {timeout.TotalSeconds:0.#} s", ex);
        }
        catch (HttpRequestException ex)
        {
            throw Unreachable(agent, ex.Message, ex);
        }
        catch (JsonException ex)
        {
            throw Unreachable(agent, $"GET {status} did not answer with an agent's status ({ex.Message})", ex);
        }
    }

    private static PgDrConnectionException Unreachable(Uri agent, string why, Exception? inner) =>
        new(ErrorIds.AgentUnreachable, PgDrErrorCategory.ConnectionError, $"The agent at {agent} cannot be read: {why}.", agent, inner);
}
