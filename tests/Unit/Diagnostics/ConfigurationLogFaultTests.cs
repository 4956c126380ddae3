using PgDr.Diagnostics;
using PgDr.Hosting;
using PgDr.Tests.Fixtures;
using static PgDr.Tests.Diagnostics.ConfigurationCheckSupport;

namespace PgDr.Tests.Diagnostics;

/// <summary>
/// The faults that leave failure lines in the server log, each caused for real and found by the log scan with its
/// count and time: the primary stopped under a streaming standby, archive_command refused by the archive directory's
/// permissions, a wrong password. Their own sandbox: the lines stay in its logs for the scan's whole window.
/// </summary>
public sealed class ConfigurationLogFaultTests(PrimaryAndStandbyFixture fixture) : IClassFixture<PrimaryAndStandbyFixture>
{
    private readonly PgDr.Hosting.Sandbox.PgSandbox _sandbox = fixture.Sandbox;

    [Fact]
    public async Task A_stopped_primary_fails_the_standbys_stream_and_its_log_says_it_cannot_connect_to_the_primary()
    {
        await _sandbox.StopNodeAsync("region-a", StopMode.Fast, CancellationToken.None);
        try
        {
            // The WAL receiver retries every 5 s (wal_retrieve_retry_interval); each refused attempt is one FATAL line.
            IReadOnlyList<PgDrCheck> results = [];
            await Wait.UntilAsync(async _ =>
            {
                results = await CheckAsync(_sandbox, "region-b");
                return results.Any(r => r.CheckId == CheckIds.LogPrimaryUnreachable);
            }, TimeSpan.FromSeconds(60), "the standby to log that it cannot connect", CancellationToken.None);

            var line = Single(results, "region-b", CheckIds.LogPrimaryUnreachable);
            Assert.Equal(PgDrCheckVerdict.Fail, line.Verdict);
            Assert.True(line.Count >= 1);
            Assert.NotNull(line.LastSeen);
            Assert.Contains("primary_conninfo", line.Fix, StringComparison.Ordinal);
            Assert.Equal(PgDrCheckVerdict.Fail, Single(results, "region-b", CheckIds.Streaming, "upstream").Verdict);
        }
        finally
        {
            await _sandbox.StartNodeAsync("region-a", CancellationToken.None);
            await WaitForStreamingAsync(_sandbox, "region-b");
        }
    }

    [Fact]
    public async Task An_archive_directory_the_server_may_not_write_fails_the_archiver_and_the_log_shows_permission_denied()
    {
        var primary = _sandbox.Instance("region-a");
        // Owned by root, mode 0700: the postgres account's cp is refused (the tests run as root, as CI does).
        var archive = TestDirectories.Path($"closed-archive-{Guid.NewGuid():N}"[..23]);
        Directory.CreateDirectory(archive);
        File.SetUnixFileMode(archive, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        await Sql.ExecuteAsync(primary, "ALTER SYSTEM SET archive_mode = on");
        await Sql.ExecuteAsync(primary, $"ALTER SYSTEM SET archive_command = 'cp %p {archive}/%f'");
        await RestartAsync("region-a");
        try
        {
            await Sql.MakeWalAsync(primary);
            await Wait.UntilAsync(async _ => await Sql.ScalarAsync<long>(primary, "SELECT failed_count FROM pg_stat_archiver") > 0,
                TimeSpan.FromSeconds(60), "the archiver to fail", CancellationToken.None);

            var results = await CheckAsync(_sandbox, "region-a");

            var archiver = Single(results, "region-a", CheckIds.Archiver);
            Assert.Equal(PgDrCheckVerdict.Fail, archiver.Verdict);
            Assert.False(string.IsNullOrEmpty(archiver.Fix));
            Assert.Equal(PgDrCheckVerdict.Fail, Single(results, "region-a", CheckIds.LogArchiveFailed).Verdict);
            var denied = Single(results, "region-a", CheckIds.LogPermissionDenied);
            Assert.Equal(PgDrCheckVerdict.Fail, denied.Verdict);
            Assert.Contains(archive, denied.Evidence, StringComparison.Ordinal);
        }
        finally
        {
            await Sql.ExecuteAsync(primary, "ALTER SYSTEM RESET archive_mode");
            await Sql.ExecuteAsync(primary, "ALTER SYSTEM RESET archive_command");
            await RestartAsync("region-a");
            await WaitForStreamingAsync(_sandbox, "region-b");
        }
    }

    [Fact]
    public async Task A_wrong_password_fails_the_connection_check_and_the_primary_logs_the_refused_login()
    {
        var wrong = _sandbox.Instance("region-a").WithCredential("postgres", "not-the-password");

        var refused = await ConfigurationCheckService.CheckAsync([wrong], new ConfigurationCheckOptions(), null, CancellationToken.None);

        var connection = Assert.Single(refused);
        Assert.Equal(CheckIds.Connection, connection.CheckId);
        Assert.Equal(PgDrCheckVerdict.Fail, connection.Verdict);
        Assert.Contains("[AuthenticationFailed]", connection.Evidence, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-password", connection.ToString(), StringComparison.Ordinal);

        var results = await CheckAsync(_sandbox, "region-a");
        var line = Single(results, "region-a", CheckIds.LogPasswordRejected);
        Assert.Equal(PgDrCheckVerdict.Fail, line.Verdict);
        Assert.Contains("postgres", line.Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_standby_requiring_verify_full_of_a_primary_without_TLS_fails_its_stream_and_its_log_shows_the_TLS_failure()
    {
        var standby = _sandbox.Instance("region-b");
        var original = await Sql.ScalarAsync<string>(standby, "SHOW primary_conninfo");

        // TLS required and verified against a CA of its own, from a primary that runs with ssl = off: the receiver is refused
        // before any certificate is looked at, and retries every 5 s (wal_retrieve_retry_interval).
        var directory = await ArchiveTestSupport.NewDirectoryAsync("verify-full");
        var (ca, _) = TestCertificates.WriteSelfSigned(directory, "ca", System.Net.IPAddress.Loopback);
        await OsUser.ForPostgres().TakeOwnershipAsync(ca, CancellationToken.None);
        await SetPrimaryConnInfoAsync(standby, $"{original} sslmode=verify-full sslrootcert={ca}");
        try
        {
            IReadOnlyList<PgDrCheck> results = [];
            await Wait.UntilAsync(async _ =>
            {
                results = await CheckAsync(_sandbox, "region-b");
                return results.Any(r => r.CheckId == CheckIds.LogTls);
            }, TimeSpan.FromSeconds(60), "the standby to log the refused TLS", CancellationToken.None);

            var line = Single(results, "region-b", CheckIds.LogTls);
            Assert.Equal(PgDrCheckVerdict.Fail, line.Verdict);
            Assert.True(line.Count >= 1);
            Assert.Contains("SSL", line.Evidence, StringComparison.Ordinal);
            Assert.Equal(PgDrCheckVerdict.Fail, Single(results, "region-b", CheckIds.Streaming, "upstream").Verdict);
            Assert.Equal(PgDrCheckVerdict.Pass, Single(results, "region-b", CheckIds.ReplicationTls, "upstream").Verdict);
        }
        finally
        {
            await SetPrimaryConnInfoAsync(standby, original);
            await WaitForStreamingAsync(_sandbox, "region-b");
        }
    }

    private async Task RestartAsync(string node)
    {
        await _sandbox.StopNodeAsync(node, StopMode.Fast, CancellationToken.None);
        await _sandbox.StartNodeAsync(node, CancellationToken.None);
    }
}
