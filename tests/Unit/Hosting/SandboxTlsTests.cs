using System.Net;
using Npgsql;
using PgDr.Connections;
using PgDr.Diagnostics;
using PgDr.Errors;
using PgDr.Hosting;
using PgDr.Hosting.Sandbox;
using PgDr.Hosting.Services;
using PgDr.Replication;
using PgDr.Replication.Standby;
using PgDr.Tests.Archive;
using PgDr.Tests.Fixtures;
using PgDr.Topology;

namespace PgDr.Tests.Hosting;

/// <summary>A primary and a standby built with -Tls: the sandbox's own CA, hostssl only, verify-full everywhere.</summary>
public sealed class TlsSandboxFixture : SandboxFixture
{
    protected override SandboxSpec Spec(string directory) => new() { Directory = directory, Standbys = 1, Tls = true };
}

/// <summary>
/// TLS everywhere on a real sandbox: admin and replication connections verify-full against the sandbox CA, a connection
/// without TLS or trusting another CA is refused, a client certificate the CA signed logs in without a password, and
/// Test-PgDrConfiguration finds nothing to say about TLS.
/// </summary>
public sealed class SandboxTlsTests(TlsSandboxFixture fixture) : IClassFixture<TlsSandboxFixture>
{
    private readonly PgSandbox _sandbox = fixture.Sandbox;

    [Fact]
    public async Task Admin_connections_are_verify_full_against_the_sandbox_CA()
    {
        var primary = _sandbox.Primary.Instance;
        Assert.Equal(PgSslMode.VerifyFull, primary.SslMode);
        Assert.Equal(_sandbox.CaCertificate, primary.RootCertificate);

        Assert.Equal(PgNodeRole.Primary, (await NodeInspector.GetNodeAsync(primary, CancellationToken.None)).Role);
        Assert.Matches("^TLSv1\\.[23]$", await Sql.ScalarAsync<string>(primary, "SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid() AND ssl"));

        // Opened again from its directory, the sandbox hands out the same verify-full instances.
        var reopened = await SandboxService.OpenAsync(_sandbox.Directory, CancellationToken.None);
        Assert.Equal(PgSslMode.VerifyFull, reopened.Instance("region-b").SslMode);
        Assert.Equal(PgNodeRole.Standby, (await NodeInspector.GetNodeAsync(reopened.Instance("region-b"), CancellationToken.None)).Role);
    }

    [Fact]
    public async Task The_standby_streams_over_TLS_with_verify_full_in_its_primary_conninfo()
    {
        var conninfo = await Sql.ScalarAsync<string>(_sandbox.Instance("region-b"), "SHOW primary_conninfo");
        Assert.Contains("sslmode='verify-full'", conninfo, StringComparison.Ordinal);
        Assert.Contains($"sslrootcert='{_sandbox.CaCertificate}'", conninfo, StringComparison.Ordinal);

        Assert.True(await Sql.ScalarAsync<bool>(_sandbox.Primary.Instance,
            "SELECT s.ssl FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid) WHERE r.application_name = 'region-b'"));
    }

    [Fact]
    public async Task A_connection_without_TLS_or_trusting_a_foreign_CA_is_refused()
    {
        var primary = _sandbox.Primary.Instance;

        // hostssl only: a plain-text login is refused by pg_hba.conf before any password is asked.
        var plain = await Assert.ThrowsAsync<PgDrConnectionException>(() => NodeInspector.GetNodeAsync(primary.WithTls(PgSslMode.Disable, null), CancellationToken.None));
        Assert.Equal(ErrorIds.AuthenticationFailed, plain.ErrorId);
        Assert.Contains("no encryption", plain.Message, StringComparison.Ordinal);

        var directory = await ArchiveTestSupport.NewDirectoryAsync("foreign-ca");
        var (foreign, _) = TestCertificates.WriteSelfSigned(directory, "foreign", IPAddress.Loopback);
        var impostor = await Assert.ThrowsAsync<PgDrConnectionException>(() => NodeInspector.GetNodeAsync(primary.WithTls(PgSslMode.VerifyFull, foreign), CancellationToken.None));
        Assert.Equal(ErrorIds.TlsFailed, impostor.ErrorId);
    }

    [Fact]
    public async Task PgDr_logs_in_with_a_client_certificate_signed_by_the_sandbox_CA_and_a_foreign_one_is_refused_and_found_by_the_log_scan()
    {
        var primary = _sandbox.Primary.Instance;
        var directory = await CertificateAuthorityCopyAsync("client-cert");
        var (certificate, key) = SandboxTls.IssueClientCertificate(directory, "postgres");
        var (otherUserCertificate, otherUserKey) = SandboxTls.IssueClientCertificate(directory, "someone-else");
        var (foreignCertificate, foreignKey) = TestCertificates.WriteSelfSigned(directory, "postgres-foreign", IPAddress.Loopback);

        // No password at all: the certificate is the credential (the sandbox's own instance carries a password).
        PgInstance WithCertificate(string cert, string certKey) =>
            new(primary.Host, primary.Port, "postgres", "postgres", null, PgSslMode.VerifyFull, _sandbox.CaCertificate, cert, certKey);

        var hba = Path.Combine(_sandbox.Node("region-a").DataDirectory, "pg_hba.conf");
        var original = await File.ReadAllTextAsync(hba);
        try
        {
            // First rule wins: the superuser from loopback must present a certificate the CA signed, for CN=postgres.
            await File.WriteAllTextAsync(hba, "hostssl all postgres 127.0.0.1/32 cert\n" + original);
            await ReloadAsync();

            var signed = WithCertificate(certificate, key);
            Assert.Equal("postgres", await Sql.ScalarAsync<string>(signed, "SELECT current_user"));
            Assert.Equal(PgNodeRole.Primary, (await NodeInspector.GetNodeAsync(signed, CancellationToken.None)).Role);

            // Signed by the CA but for another role: the server refuses the login, as it refuses a wrong password.
            var otherUser = await Assert.ThrowsAsync<PgDrConnectionException>(() => NodeInspector.GetNodeAsync(WithCertificate(otherUserCertificate, otherUserKey), CancellationToken.None));
            Assert.Equal(ErrorIds.AuthenticationFailed, otherUser.ErrorId);

            // Not signed by the CA: the server ends the handshake (unknown CA), the server log says why, and the log scan
            // of Test-PgDrConfiguration names it.
            var foreign = await Assert.ThrowsAsync<PgDrConnectionException>(() => NodeInspector.GetNodeAsync(WithCertificate(foreignCertificate, foreignKey), CancellationToken.None));
            Assert.Equal(ErrorIds.TlsFailed, foreign.ErrorId);
        }
        finally
        {
            await File.WriteAllTextAsync(hba, original);
            await ReloadAsync();
        }

        // Read once the sandbox's own login works again: the refused handshake stays in the log.
        IReadOnlyList<PgDrCheck> checks = [];
        await Wait.UntilAsync(async _ =>
        {
            checks = await ConfigurationCheckService.CheckAsync([primary], new ConfigurationCheckOptions(), null, CancellationToken.None);
            return checks.Any(c => c.CheckId == CheckIds.LogTls);
        }, TimeSpan.FromSeconds(15), "the refused handshake in the server log", CancellationToken.None);
        var line = checks.Single(c => c.CheckId == CheckIds.LogTls);
        Assert.Equal(PgDrCheckVerdict.Fail, line.Verdict);
        Assert.Contains("certificate", line.Evidence, StringComparison.OrdinalIgnoreCase);

        // pg_ctl reload, not pg_reload_conf(): while the cert rule is first, the sandbox's password login is refused.
        async Task ReloadAsync()
        {
            var cluster = _sandbox.Cluster("region-a");
            await ProcessRunner.RunCheckedAsync(cluster.Binaries.Tool("pg_ctl"), ["reload", "-D", cluster.DataDirectory], CancellationToken.None, cluster.RunAs);
            await Wait.UntilAsync(async _ => await ReloadedAsync(), TimeSpan.FromSeconds(15), "pg_hba.conf to reload", CancellationToken.None);
        }

        // The server has taken the file as it is now when a login over the new first rule behaves as that rule says.
        async Task<bool> ReloadedAsync()
        {
            var certFirst = (await File.ReadAllTextAsync(hba)).StartsWith("hostssl all postgres 127.0.0.1/32 cert", StringComparison.Ordinal);
            try
            {
                await NodeInspector.GetNodeAsync(primary, CancellationToken.None);
                return !certFirst;
            }
            catch (PgDrConnectionException)
            {
                return certFirst;
            }
        }
    }

    [Fact]
    public async Task A_standby_made_by_PgDr_streams_over_verify_full_logging_in_with_a_client_certificate_and_no_password()
    {
        var primary = _sandbox.Primary.Instance;
        var directory = await CertificateAuthorityCopyAsync("replicator-cert");
        var (certificate, key) = SandboxTls.IssueClientCertificate(directory, PgSandbox.ReplicationUser);
        // The WAL receiver presents them as the postgres account, which must own the 0600 key.
        await OsUser.ForPostgres().TakeOwnershipAsync(directory, CancellationToken.None);

        var hba = Path.Combine(_sandbox.Node("region-a").DataDirectory, "pg_hba.conf");
        var original = await File.ReadAllTextAsync(hba);
        var dataDirectory = Path.Combine(_sandbox.Directory, "cert-standby-" + Guid.NewGuid().ToString("N")[..6]);
        try
        {
            // First rule wins: the replication role from loopback logs in with its certificate only; no password would do.
            await File.WriteAllTextAsync(hba, $"hostssl replication {PgSandbox.ReplicationUser} 127.0.0.1/32 cert\n" + original);
            await Sql.ExecuteAsync(primary, "SELECT pg_reload_conf()");
            await Wait.UntilAsync(async _ => await Sql.ScalarAsync<long>(primary, "SELECT count(*) FROM pg_hba_file_rules WHERE auth_method = 'cert'") == 1,
                TimeSpan.FromSeconds(15), "pg_hba.conf to reload", CancellationToken.None);

            var standby = await StandbyService.CreateAsync(new StandbyRequest
            {
                Upstream = primary.WithTls(PgSslMode.VerifyFull, _sandbox.CaCertificate, certificate, key),
                DataDirectory = dataDirectory,
                Name = "cert-standby",
                CreateSlot = true,
                Port = Ports.Closed(),
                ReplicationUser = PgSandbox.ReplicationUser,
                Service = new PgServiceSpec { BinDirectory = _sandbox.Binaries.Directory },
                SkipSync = true,
            }, null, CancellationToken.None);

            Assert.Equal("streaming", standby.Node.ReceiverStatus);
            var conninfo = await Sql.ScalarAsync<string>(standby.Instance, "SHOW primary_conninfo");
            Assert.Contains("sslmode='verify-full'", conninfo, StringComparison.Ordinal);
            Assert.Contains($"sslcert='{certificate}'", conninfo, StringComparison.Ordinal);
            Assert.DoesNotContain("passfile", conninfo, StringComparison.Ordinal);
            Assert.False(File.Exists(dataDirectory + ".pgpass"));

            // The walsender's connection is TLS, and the certificate is what logged it in.
            Assert.Equal($"/CN={PgSandbox.ReplicationUser}", await Sql.ScalarAsync<string>(primary,
                "SELECT s.client_dn FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid) WHERE r.application_name = 'cert-standby' AND r.state = 'streaming' AND s.ssl"));
        }
        finally
        {
            await File.WriteAllTextAsync(hba, original);
            await Sql.ExecuteAsync(primary, "SELECT pg_reload_conf()");
            if (Directory.Exists(dataDirectory))
            {
                await new LocalCluster(_sandbox.Binaries, dataDirectory, _sandbox.RunAs).ForceStopAsync(CancellationToken.None);
            }

            await Wait.UntilAsync(async ct =>
            {
                try
                {
                    await ReplicationSlotService.DropSlotAsync(primary, "cert_standby", ct);
                    return true;
                }
                catch (PgDrNotFoundException)
                {
                    return true;
                }
                catch (PgDrException ex) when (ex.ErrorId == ErrorIds.ReplicationSlotActive)
                {
                    return false;
                }
            }, TimeSpan.FromSeconds(30), "the slot to be released", CancellationToken.None);
        }
    }

    [Fact]
    public async Task A_standby_whose_stream_trusts_a_foreign_CA_does_not_stream_and_pgdr_check_fails_Streaming_and_LogTls()
    {
        var standby = _sandbox.Instance("region-b");
        var original = await Sql.ScalarAsync<string>(standby, "SHOW primary_conninfo");
        Assert.True(ConnInfo.TryParse(original, out var conninfo, out _));

        // verify-full against a root certificate of another CA: the primary's certificate, signed by the sandbox CA, is
        // not trusted, so the WAL receiver ends the handshake and retries every 5 s (wal_retrieve_retry_interval).
        var directory = await ArchiveTestSupport.NewDirectoryAsync("stream-foreign-ca");
        var (foreign, _) = TestCertificates.WriteSelfSigned(directory, "foreign", IPAddress.Loopback);
        await OsUser.ForPostgres().TakeOwnershipAsync(directory, CancellationToken.None);
        Assert.Equal("verify-full", conninfo["sslmode"]);
        conninfo["sslrootcert"] = foreign;
        await Diagnostics.ConfigurationCheckSupport.SetPrimaryConnInfoAsync(standby, conninfo.ToString());
        try
        {
            await Wait.UntilAsync(
                async _ => await Sql.ScalarAsync<long>(_sandbox.Primary.Instance, "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'region-b'") == 0,
                TimeSpan.FromSeconds(30), "region-b's stream to end", CancellationToken.None);
            IReadOnlyList<PgDrCheck> results = [];
            await Wait.UntilAsync(async _ =>
            {
                results = await ConfigurationCheckService.CheckAsync([standby], new ConfigurationCheckOptions(), null, CancellationToken.None);
                return results.Any(r => r.CheckId == CheckIds.LogTls);
            }, TimeSpan.FromSeconds(60), "region-b to log the refused handshake", CancellationToken.None);

            Assert.Equal(PgDrCheckVerdict.Fail, results.Single(r => r.CheckId == CheckIds.Streaming && r.Subject == "upstream").Verdict);
            var line = results.Single(r => r.CheckId == CheckIds.LogTls);
            Assert.Equal(PgDrCheckVerdict.Fail, line.Verdict);
            Assert.Contains("certificate verify failed", line.Evidence, StringComparison.Ordinal);
            Assert.Equal(0L, await Sql.ScalarAsync<long>(_sandbox.Primary.Instance, "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'region-b'"));

            // pgdr check says the same, by the same ids, and exits 1.
            var environment = new Dictionary<string, string?> { ["PGPASSFILE"] = _sandbox.PasswordFile, ["PGUSER"] = PgSandbox.Superuser, ["PGPASSWORD"] = null };
            var check = await Cli.PgDrProcess.RunAsync(environment, "check", standby.Name, "--sslmode", "verify-full", "--sslrootcert", _sandbox.CaCertificate!, "--json");
            Assert.True(check.ExitCode == 1, check.StandardOutput + check.StandardError);
            using var json = System.Text.Json.JsonDocument.Parse(check.StandardOutput);
            var failed = json.RootElement.EnumerateArray()
                .Where(e => e.GetProperty("verdict").GetString() == "Fail")
                .Select(e => e.GetProperty("checkId").GetString())
                .ToList();
            Assert.Contains(CheckIds.Streaming, failed);
            Assert.Contains(CheckIds.LogTls, failed);
        }
        finally
        {
            await Diagnostics.ConfigurationCheckSupport.SetPrimaryConnInfoAsync(standby, original);
            await Diagnostics.ConfigurationCheckSupport.WaitForStreamingAsync(_sandbox, "region-b");
        }
    }

    [Fact]
    public async Task Test_PgDrConfiguration_passes_TLS_for_clients_and_for_the_stream()
    {
        var results = await ConfigurationCheckService.CheckAsync(
            [_sandbox.Instance("region-a"), _sandbox.Instance("region-b")], new ConfigurationCheckOptions { ScanLog = false }, null, CancellationToken.None);

        Assert.Equal(PgDrCheckVerdict.Pass, results.Single(r => r.Node == "region-a" && r.CheckId == CheckIds.Tls).Verdict);
        Assert.Equal(PgDrCheckVerdict.Pass, results.Single(r => r.Node == "region-a" && r.CheckId == CheckIds.ReplicationTls && r.Subject == "region-b").Verdict);
        Assert.Equal(PgDrCheckVerdict.Pass, results.Single(r => r.Node == "region-b" && r.CheckId == CheckIds.ReplicationTls && r.Subject == "upstream").Verdict);
        Assert.Contains("TLSv1.", results.Single(r => r.Node == "region-a" && r.CheckId == CheckIds.Tls).Evidence, StringComparison.Ordinal);
    }

    /// <summary>A new directory holding a copy of the sandbox CA's certificate and key, to issue client certificates in.</summary>
    private async Task<string> CertificateAuthorityCopyAsync(string label)
    {
        var tls = Path.Combine(_sandbox.Directory, SandboxTls.DirectoryName);
        var directory = await ArchiveTestSupport.NewDirectoryAsync(label);
        File.Copy(Path.Combine(tls, SandboxTls.CaCertificateFile), Path.Combine(directory, SandboxTls.CaCertificateFile));
        File.Copy(Path.Combine(tls, SandboxTls.CaKeyFile), Path.Combine(directory, SandboxTls.CaKeyFile));
        return directory;
    }
}
