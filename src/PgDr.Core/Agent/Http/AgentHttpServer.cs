using System.Net;
using System.Net.Sockets;
using System.Text;
using PgDr.Errors;

namespace PgDr.Agent.Http;

/// <summary>
/// The agent's HTTP endpoint on System.Net.HttpListener: part of .NET itself (no ASP.NET Core in the pgdr binary that
/// PostgreSQL starts per WAL segment), enough for the few GETs load balancers and Prometheus make.
/// </summary>
internal sealed class AgentHttpServer : IAsyncDisposable
{
    private readonly HttpListener _listener;
    private readonly Func<AgentHttpRequest, AgentHttpAnswer> _answer;
    private readonly Task _loop;

    private AgentHttpServer(HttpListener listener, int port, Func<AgentHttpRequest, AgentHttpAnswer> answer)
    {
        _listener = listener;
        _answer = answer;
        Port = port;
        _loop = Task.Run(ServeAsync);
    }

    public int Port { get; }

    /// <summary>Listens on <paramref name="address"/>:<paramref name="port"/> (0.0.0.0: every address); AgentPortInUse when it is taken.</summary>
    public static AgentHttpServer Start(string address, int port, Func<AgentHttpRequest, AgentHttpAnswer> answer)
    {
        var host = address is "0.0.0.0" or "*" or "+" or "" ? "+" : IPAddress.TryParse(address, out var ip) && ip.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address;
        var listener = new HttpListener();
        listener.Prefixes.Add($"http://{host}:{port}/");
        try
        {
            listener.Start();
        }
        catch (Exception ex) when (ex is HttpListenerException or SocketException)
        {
            listener.Close();
            throw new PgDrException(
                ErrorIds.AgentPortInUse,
                PgDrErrorCategory.ResourceBusy,
                $"The agent cannot listen on {address}:{port}: {ex.Message} (another agent or program holds the port; set agent.httpPort).",
                port,
                ex);
        }

        return new AgentHttpServer(listener, port, answer);
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(() => Respond(context));
        }
    }

    private void Respond(HttpListenerContext context)
    {
        try
        {
            var url = context.Request.Url!;
            var query = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var pair in url.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = pair.IndexOf('=', StringComparison.Ordinal);
                query[Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq])] = eq < 0 ? string.Empty : Uri.UnescapeDataString(pair[(eq + 1)..]);
            }

            var answer = _answer(new AgentHttpRequest(context.Request.HttpMethod, url.AbsolutePath, query));
            var body = Encoding.UTF8.GetBytes(answer.Body);
            context.Response.StatusCode = answer.StatusCode;
            context.Response.ContentType = answer.ContentType;
            context.Response.Headers["Cache-Control"] = "no-store";
            context.Response.ContentLength64 = context.Request.HttpMethod == "HEAD" ? 0 : body.Length;
            if (context.Request.HttpMethod != "HEAD")
            {
                context.Response.OutputStream.Write(body);
            }

            context.Response.Close();
        }
        catch (Exception ex) when (ex is HttpListenerException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The client went away.
        }
    }
}
