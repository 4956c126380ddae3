using System.Net;
using System.Net.Sockets;

namespace PgDr.Tests.Fixtures;

public static class Ports
{
    /// <summary>A loopback port nothing listens on (taken and released at once).</summary>
    public static int Closed()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
