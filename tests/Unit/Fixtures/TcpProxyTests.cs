using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace PgDr.Tests.Fixtures;

/// <summary>The network simulator the failover tests rely on: bytes cross intact, late, or not at all while cut.</summary>
public sealed class TcpProxyTests : IAsyncLifetime, IDisposable
{
    private readonly TcpListener _echo = new(IPAddress.Loopback, 0);

    public Task InitializeAsync()
    {
        _echo.Start();
        _ = Task.Run(async () =>
        {
            while (true)
            {
                var socket = await _echo.AcceptSocketAsync();
                _ = Task.Run(async () =>
                {
                    using (socket)
                    {
                        var buffer = new byte[4096];
                        int read;
                        while ((read = await socket.ReceiveAsync(buffer)) > 0)
                        {
                            await socket.SendAsync(buffer.AsMemory(0, read));
                        }
                    }
                });
            }
        });
        return Task.CompletedTask;
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _echo.Dispose();

    private int EchoPort => ((IPEndPoint)_echo.LocalEndpoint).Port;

    [Fact]
    public async Task Bytes_cross_in_order_and_intact()
    {
        await using var proxy = TcpProxy.Start("127.0.0.1", EchoPort);
        using var client = await ConnectAsync(proxy);
        var sent = Enumerable.Range(0, 200_000).Select(i => (byte)(i * 7)).ToArray();
        var receiving = ReceiveAsync(client, sent.Length);
        await client.SendAsync(sent);
        Assert.Equal(sent, await receiving.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task A_round_trip_takes_at_least_twice_the_one_way_latency()
    {
        await using var proxy = TcpProxy.Start("127.0.0.1", EchoPort, TimeSpan.FromMilliseconds(40));
        using var client = await ConnectAsync(proxy);
        await RoundTripAsync(client); // the first one also pays the handshake
        var watch = Stopwatch.StartNew();
        await RoundTripAsync(client);
        // Timers may fire a little early (77.1 ms seen once on a busy CI run): 75 ms still proves both directions were
        // delayed (without the proxy's delay the round trip takes well under a millisecond).
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(75), $"round trip took {watch.Elapsed.TotalMilliseconds:0.0} ms");
    }

    [Fact]
    public async Task A_partition_holds_bytes_back_until_it_heals()
    {
        await using var proxy = TcpProxy.Start("127.0.0.1", EchoPort);
        using var client = await ConnectAsync(proxy);
        await RoundTripAsync(client);
        proxy.Partition();
        var pending = RoundTripAsync(client);
        await Assert.ThrowsAsync<TimeoutException>(() => pending.WaitAsync(TimeSpan.FromMilliseconds(500)));
        proxy.Heal();
        await pending.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_connection_opened_during_a_partition_reaches_the_server_after_the_heal()
    {
        await using var proxy = TcpProxy.Start("127.0.0.1", EchoPort);
        proxy.Partition();
        using var client = await ConnectAsync(proxy);
        var pending = RoundTripAsync(client);
        await Assert.ThrowsAsync<TimeoutException>(() => pending.WaitAsync(TimeSpan.FromMilliseconds(500)));
        proxy.Heal();
        await pending.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Resetting_connections_closes_them_for_the_client()
    {
        await using var proxy = TcpProxy.Start("127.0.0.1", EchoPort);
        using var client = await ConnectAsync(proxy);
        await RoundTripAsync(client);
        proxy.ResetConnections();
        var buffer = new byte[16];
        Assert.Equal(0, await client.ReceiveAsync(buffer).WaitAsync(TimeSpan.FromSeconds(30)));
    }

    private static async Task<Socket> ConnectAsync(TcpProxy proxy)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, proxy.Port);
        return socket;
    }

    private static async Task RoundTripAsync(Socket client)
    {
        await client.SendAsync(new byte[] { 42 });
        Assert.Equal([42], await ReceiveAsync(client, 1));
    }

    private static async Task<byte[]> ReceiveAsync(Socket socket, int length)
    {
        var result = new byte[length];
        var offset = 0;
        while (offset < length)
        {
            var read = await socket.ReceiveAsync(result.AsMemory(offset));
            if (read == 0)
            {
                throw new IOException("closed early");
            }

            offset += read;
        }

        return result;
    }
}
