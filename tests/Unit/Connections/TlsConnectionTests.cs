using System.Net;
using PgDr.Connections;
using PgDr.Errors;
using PgDr.Hosting;
using PgDr.Tests.Archive.Server;
using PgDr.Tests.Fixtures;
using PgDr.Topology;

namespace PgDr.Tests.Connections;

/// <summary>TLS settings reach the server: verify-full against the server's own CA passes, a foreign CA and a TLS-less server fail.</summary>
public sealed class TlsConnectionTests(LonePrimaryFixture fixture) : IClassFixture<LonePrimaryFixture>
{
    [Fact]
    public async Task VerifyFull_with_the_servers_root_certificate_connects_and_a_foreign_one_is_refused_with_TlsFailed()
    {
        var sandbox = fixture.Sandbox;
        var plain = sandbox.Primary.Instance;

        // Without TLS on the server, require must fail rather than fall back to plain text.
        var refused = await Assert.ThrowsAsync<PgDrConnectionException>(() => NodeInspector.GetNodeAsync(plain.WithTls(PgSslMode.Require, null), CancellationToken.None));
        Assert.Equal(ErrorIds.TlsFailed, refused.ErrorId);

        var directory = await ArchiveTestSupport.NewDirectoryAsync("tls");
        var (serverCert, serverKey) = TestCertificates.WriteSelfSigned(directory, "server", IPAddress.Loopback);
        var (foreignCert, _) = TestCertificates.WriteSelfSigned(directory, "foreign", IPAddress.Loopback);
        await OsUser.ForPostgres().TakeOwnershipAsync(directory, CancellationToken.None);
        await Sql.ExecuteAsync(plain, $"ALTER SYSTEM SET ssl_cert_file = '{serverCert}'");
        await Sql.ExecuteAsync(plain, $"ALTER SYSTEM SET ssl_key_file = '{serverKey}'");
        await Sql.ExecuteAsync(plain, "ALTER SYSTEM SET ssl = on");
        await Sql.ExecuteAsync(plain, "SELECT pg_reload_conf()");
        await Wait.UntilAsync(async _ => await Sql.ScalarAsync<string>(plain, "SHOW ssl") == "on", TimeSpan.FromSeconds(15), "ssl to turn on", CancellationToken.None);

        var verified = plain.WithTls(PgSslMode.VerifyFull, serverCert);
        var node = await NodeInspector.GetNodeAsync(verified, CancellationToken.None);
        Assert.Equal(PgNodeRole.Primary, node.Role);
        Assert.True(await Sql.ScalarAsync<bool>(verified, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"));

        var foreign = await Assert.ThrowsAsync<PgDrConnectionException>(() => NodeInspector.GetNodeAsync(plain.WithTls(PgSslMode.VerifyFull, foreignCert), CancellationToken.None));
        Assert.Equal(ErrorIds.TlsFailed, foreign.ErrorId);

        var parsed = PgInstance.Parse($"postgresql://127.0.0.1:{plain.Port}/postgres?sslmode=verify-full&sslrootcert={serverCert}").WithCredential("postgres", sandbox.SuperuserPassword);
        Assert.Equal(PgNodeRole.Primary, (await NodeInspector.GetNodeAsync(parsed, CancellationToken.None)).Role);
    }
}
