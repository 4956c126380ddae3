using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace PgDr.Tests.Fixtures;

/// <summary>
/// A TCP proxy on loopback that stands for the network between two regions: it adds one-way latency to every byte in
/// both directions and can partition the link. The kernel's netem is not available on these machines, so cross-region
/// latency, partitions and their healing are simulated here, in the test process (shared/ENVIRONMENT.md).
/// Point a client or a standby's primary_conninfo at <see cref="Port"/> instead of the server's own port.
/// </summary>
/// <remarks>
/// A partition behaves like a real one with TCP retransmission: nothing crosses while it lasts, bytes sent into it are
/// held (not lost) and arrive after <see cref="Heal"/>, and new connections are accepted by the kernel but reach the
/// server only after the heal. <see cref="ResetConnections"/> is the other outcome of a long partition: every connection
/// through the proxy is closed, as a keepalive or TCP timeout would. Latency changes apply to bytes read after the
/// change. A new connection's first bytes also pay the handshake's round trip, which the kernel answered at once.
/// </remarks>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Link> _links = [];
    private readonly Task _acceptLoop;
    private volatile TaskCompletionSource _healed = CompletedSignal();
    private long _latencyTicks;

    private TcpProxy(string targetHost, int targetPort, TimeSpan oneWayLatency)
    {
        _targetHost = targetHost;
        _targetPort = targetPort;
        Latency = oneWayLatency;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = AcceptLoopAsync();
    }

    /// <summary>Starts a proxy to <paramref name="targetHost"/>:<paramref name="targetPort"/> on a free loopback port.</summary>
    public static TcpProxy Start(string targetHost, int targetPort, TimeSpan oneWayLatency = default) =>
        new(targetHost, targetPort, oneWayLatency);

    /// <summary>The loopback port clients connect to.</summary>
    public int Port { get; }

    /// <summary>Delay added to bytes in each direction (a round trip costs twice this).</summary>
    public TimeSpan Latency
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _latencyTicks));
        set => Interlocked.Exchange(ref _latencyTicks, value.Ticks);
    }

    /// <summary>True while the link is cut.</summary>
    public bool Partitioned => !_healed.Task.IsCompleted;

    /// <summary>Connections currently open through the proxy.</summary>
    public int OpenConnections
    {
        get
        {
            lock (_links)
            {
                return _links.Count;
            }
        }
    }

    /// <summary>Cuts the link: from now on nothing crosses in either direction until <see cref="Heal"/>.</summary>
    public void Partition()
    {
        if (!Partitioned)
        {
            _healed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    /// <summary>Restores the link: what was held back crosses now, in order.</summary>
    public void Heal() => _healed.TrySetResult();

    /// <summary>Closes every connection through the proxy (both ends see the connection end), as a timeout would.</summary>
    public void ResetConnections()
    {
        List<Link> links;
        lock (_links)
        {
            links = [.. _links];
        }

        foreach (var link in links)
        {
            link.Close();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        _listener.Stop();
        Heal();
        ResetConnections();
        try
        {
            await _acceptLoop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopped on purpose.
        }

        _stopping.Dispose();
    }

    private static TaskCompletionSource CompletedSignal()
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        signal.SetResult();
        return signal;
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = RunLinkAsync(client);
        }
    }

    private async Task RunLinkAsync(Socket client)
    {
        client.NoDelay = true;
        using var link = new Link(client);
        lock (_links)
        {
            _links.Add(link);
        }

        try
        {
            // The handshake's round trip, which the kernel answered at once on loopback, is paid before the first byte.
            var firstByteNotBefore = Stopwatch.GetTimestamp() + ToTimestamp(Latency * 2);
            await _healed.Task.WaitAsync(link.Closing).ConfigureAwait(false);
            await link.Server.ConnectAsync(_targetHost, _targetPort, link.Closing).ConfigureAwait(false);
            await Task.WhenAll(
                PumpAsync(link.Client, link.Server, firstByteNotBefore, link),
                PumpAsync(link.Server, link.Client, 0, link)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException or IOException)
        {
            // The connection ended: a side closed, the proxy reset it, or the server refused it.
        }
        finally
        {
            link.Close();
            lock (_links)
            {
                _links.Remove(link);
            }
        }
    }

    /// <summary>
    /// Moves bytes from one socket to the other: a reader stamps each chunk with the time it may be delivered, a writer
    /// delivers chunks in order once that time has come and the link is not cut. Either side ending closes the link.
    /// </summary>
    private async Task PumpAsync(Socket from, Socket to, long firstDeliveryNotBefore, Link link)
    {
        var queue = Channel.CreateUnbounded<(byte[] Data, long DueAt)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var reader = Task.Run(async () =>
        {
            try
            {
                var buffer = new byte[64 * 1024];
                int read;
                while ((read = await from.ReceiveAsync(buffer, SocketFlags.None, link.Closing).ConfigureAwait(false)) > 0)
                {
                    var due = Math.Max(Stopwatch.GetTimestamp() + ToTimestamp(Latency), firstDeliveryNotBefore);
                    await queue.Writer.WriteAsync((buffer.AsSpan(0, read).ToArray(), due), link.Closing).ConfigureAwait(false);
                }
            }
            finally
            {
                queue.Writer.TryComplete();
            }
        });

        try
        {
            await foreach (var (data, dueAt) in queue.Reader.ReadAllAsync(link.Closing).ConfigureAwait(false))
            {
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), dueAt);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, link.Closing).ConfigureAwait(false);
                }

                await _healed.Task.WaitAsync(link.Closing).ConfigureAwait(false);
                await to.SendAsync(data, SocketFlags.None, link.Closing).ConfigureAwait(false);
            }
        }
        finally
        {
            link.Close();
            await reader.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private static long ToTimestamp(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    /// <summary>One client connection and its connection to the server.</summary>
    private sealed class Link(Socket client) : IDisposable
    {
        private readonly CancellationTokenSource _closing = new();
        private int _closed;

        // Either side ending ends the link: PostgreSQL's protocol never half-closes a connection.
        public Socket Client { get; } = client;

        public Socket Server { get; } = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };

        public CancellationToken Closing => _closing.Token;

        /// <summary>Ends both connections; any number of callers, once.</summary>
        public void Close()
        {
            if (Interlocked.Exchange(ref _closed, 1) == 0)
            {
                _closing.Cancel();
                Client.Close();
                Server.Close();
            }
        }

        public void Dispose()
        {
            Close();
            _closing.Dispose();
        }
    }
}
