using PgDr.Connections;
using PgDr.Errors;
using PgDr.Hosting;
using PgDr.Hosting.Sandbox;
using PgDr.Hosting.Services;
using PgDr.Progress;
using PgDr.Replication;
using PgDr.Replication.Standby;
using PgDr.Tests.Fixtures;
using PgDr.Topology;

namespace PgDr.Tests.Replication;

/// <summary>
/// New-PgStandby's engine against the shared sandbox: each test adds its own standby (or fails to) and removes it, so
/// the shared topology is as it was.
/// </summary>
[Collection(SharedTopology.Name)]
public sealed class StandbyTests(SharedTopologyFixture fixture)
{
    private readonly PgSandbox _sandbox = fixture.Sandbox;

    private PgInstance Primary => _sandbox.Instance("region-a");

    [Fact]
    public async Task New_standby_streams_through_its_new_slot_with_the_password_only_in_a_private_file_and_reports_each_step()
    {
        var directory = NewDataDirectory("standby");
        var reports = new List<PgDrProgress>();
        var request = Request(directory, "standby-one", createSlot: true);

        var standby = await StandbyService.CreateAsync(request, new SynchronousProgress(reports.Add), CancellationToken.None);
        try
        {
            Assert.Equal(PgNodeRole.Standby, standby.Node.Role);
            Assert.Equal("streaming", standby.Node.ReceiverStatus);
            Assert.Equal("standby_one", standby.Node.UpstreamSlot);
            Assert.True(standby.SlotCreated);
            Assert.Equal(["checks", "slot", "base backup", "configure", "start", "streaming"], standby.Steps.Select(s => s.Name).ToArray());
            Assert.Contains(reports, r => r.Status.StartsWith("copying from", StringComparison.Ordinal) && r.PercentComplete >= 0);
            Assert.True(standby.CopiedBytes > 0);

            // The new node pipes on: the primary sees it streaming under its name, and it reports its own lag.
            var lag = await ReplicationLagService.GetLagAsync(Primary, new LagThresholds(), CancellationToken.None);
            Assert.Contains(lag, l => l.StandbyName == "standby-one" && l.State == "streaming");
            Assert.NotEmpty(await ReplicationLagService.GetLagAsync(standby.Instance, new LagThresholds(), CancellationToken.None));

            // The password is in the 0600 file beside the data directory and nowhere else.
            var passwordFile = directory + ".pgpass";
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(passwordFile));
            Assert.Contains($":{ReplicationPassword()}", await File.ReadAllTextAsync(passwordFile), StringComparison.Ordinal);
            var conninfo = await Sql.ScalarAsync<string>(standby.Instance, "SHOW primary_conninfo");
            Assert.Contains($"passfile='{passwordFile}'", conninfo, StringComparison.Ordinal);
            Assert.Contains("keepalives_idle='60'", conninfo, StringComparison.Ordinal);
            foreach (var file in new[] { "postgresql.auto.conf", "postgresql.conf" })
            {
                Assert.DoesNotContain(ReplicationPassword(), await File.ReadAllTextAsync(Path.Combine(directory, file)), StringComparison.Ordinal);
            }

            // Rewind needs hint bits in WAL: the sandbox has no data checksums.
            Assert.Equal("on", await Sql.ScalarAsync<string>(standby.Instance, "SHOW wal_log_hints"));
            Assert.Equal("standby-one", await Sql.ScalarAsync<string>(standby.Instance, "SHOW cluster_name"));
        }
        finally
        {
            await RemoveAsync(directory, "standby_one");
        }
    }

    [Fact]
    public async Task Its_service_is_found_from_the_running_node_and_stops_and_starts_it()
    {
        var directory = NewDataDirectory("service");
        var standby = await StandbyService.CreateAsync(Request(directory, "service-probe", createSlot: true), null, CancellationToken.None);
        try
        {
            var service = await PostgresServices.ForInstanceAsync(standby.Instance, PgServiceSpec.Auto, CancellationToken.None);
            Assert.Equal(PgServiceKind.PgCtl, service.Kind);
            Assert.Equal(directory, service.DataDirectory);

            await service.StopAsync(StopMode.Immediate, CancellationToken.None);
            Assert.False(await service.IsRunningAsync(CancellationToken.None));
            await Assert.ThrowsAsync<PgDrConnectionException>(() => NodeInspector.GetNodeAsync(standby.Instance, CancellationToken.None));

            await service.StartAsync(CancellationToken.None);
            Assert.True(await service.IsRunningAsync(CancellationToken.None));
            Assert.Equal(PgNodeRole.Standby, (await NodeInspector.GetNodeAsync(standby.Instance, CancellationToken.None)).Role);
        }
        finally
        {
            await RemoveAsync(directory, "service_probe");
        }
    }

    [Fact]
    public async Task With_verify_full_the_copy_and_the_stream_use_TLS_checked_against_the_root_certificate()
    {
        var directory = NewDataDirectory("tls");
        var certificates = await ArchiveTestSupport.NewDirectoryAsync("standby-tls");
        var (certificate, key) = TestCertificates.WriteSelfSigned(certificates, "server", System.Net.IPAddress.Loopback);
        await OsUser.ForPostgres().TakeOwnershipAsync(certificates, CancellationToken.None);
        await Sql.ExecuteAsync(Primary, $"ALTER SYSTEM SET ssl_cert_file = '{certificate}'");
        await Sql.ExecuteAsync(Primary, $"ALTER SYSTEM SET ssl_key_file = '{key}'");
        await Sql.ExecuteAsync(Primary, "ALTER SYSTEM SET ssl = on");
        await Sql.ExecuteAsync(Primary, "SELECT pg_reload_conf()");
        try
        {
            await Wait.UntilAsync(async _ => await Sql.ScalarAsync<string>(Primary, "SHOW ssl") == "on", TimeSpan.FromSeconds(15), "ssl to turn on", CancellationToken.None);

            var standby = await StandbyService.CreateAsync(
                Request(directory, "tls-one", createSlot: true, upstream: Primary.WithTls(PgSslMode.VerifyFull, certificate)), null, CancellationToken.None);

            var conninfo = await Sql.ScalarAsync<string>(standby.Instance, "SHOW primary_conninfo");
            Assert.Contains("sslmode='verify-full'", conninfo, StringComparison.Ordinal);
            Assert.Contains($"sslrootcert='{certificate}'", conninfo, StringComparison.Ordinal);
            Assert.True(await Sql.ScalarAsync<bool>(Primary, "SELECT s.ssl FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid) WHERE r.application_name = 'tls-one'"));
        }
        finally
        {
            await RemoveAsync(directory, "tls_one");
            await Sql.ExecuteAsync(Primary, "ALTER SYSTEM RESET ssl");
            await Sql.ExecuteAsync(Primary, "SELECT pg_reload_conf()");
            await Wait.UntilAsync(async _ => await Sql.ScalarAsync<string>(Primary, "SHOW ssl") == "off", TimeSpan.FromSeconds(15), "ssl to turn off", CancellationToken.None);
        }
    }

    [Fact]
    public async Task Cascaded_standby_streams_from_a_standby_and_fetches_from_the_archive_with_pgdr()
    {
        var directory = NewDataDirectory("cascade");
        var archive = await ArchiveTestSupport.NewDirectoryAsync("cascade-archive");
        var config = Path.Combine(archive, "pgdr.json");
        Directory.CreateDirectory(Path.Combine(archive, "repo"));
        await OsUser.ForPostgres().TakeOwnershipAsync(archive, CancellationToken.None);
        await File.WriteAllTextAsync(config, ArchiveTestSupport.ConfigJson("main", [ArchiveTestSupport.FileSystemRepository("local", Path.Combine(archive, "repo"))], "none"));
        var request = Request(directory, "cascade-one", createSlot: true, upstream: _sandbox.Instance("region-b")) with
        {
            ConfigPath = config,
            PgDrPath = PgDrForPostgres.ExecutablePath,
        };

        var standby = await StandbyService.CreateAsync(request, null, CancellationToken.None);
        try
        {
            Assert.Equal(_sandbox.Instance("region-b").Name, standby.Node.Upstream);
            Assert.Equal(
                $"'{PgDrForPostgres.ExecutablePath}' wal fetch --config '{config}' %f %p",
                await Sql.ScalarAsync<string>(standby.Instance, "SHOW restore_command"));
            await Sql.ExecuteAsync(Primary, "CREATE TABLE IF NOT EXISTS cascade_probe (id int); INSERT INTO cascade_probe VALUES (1)");
            await Wait.UntilAsync(
                async _ => await Sql.ScalarAsync<long>(standby.Instance, "SELECT count(*) FROM pg_class WHERE relname = 'cascade_probe'") == 1,
                TimeSpan.FromSeconds(60), "the cascade to replay the primary's table", CancellationToken.None);
        }
        finally
        {
            await RemoveAsync(directory, "cascade_one", _sandbox.Instance("region-b"));
        }
    }

    [Fact]
    public async Task Force_replaces_a_running_standby_in_place_through_its_own_slot()
    {
        var directory = NewDataDirectory("rebuild");
        var first = await StandbyService.CreateAsync(Request(directory, "rebuilt", createSlot: true), null, CancellationToken.None);
        try
        {
            var marker = Path.Combine(directory, "pgdr-marker.txt");
            await File.WriteAllTextAsync(marker, "old");

            // Without -Force the running standby is refused; with it, it is stopped, set aside and replaced.
            var refused = await Assert.ThrowsAsync<PgDrException>(() => StandbyService.CreateAsync(Request(directory, "rebuilt"), null, CancellationToken.None));
            var plan = await StandbyService.PlanAsync(Request(directory, "rebuilt") with { Force = true, Port = first.Instance.Port }, CancellationToken.None);
            var rebuilt = await StandbyService.CreateAsync(Request(directory, "rebuilt") with { Force = true, Port = first.Instance.Port }, null, CancellationToken.None);

            Assert.Equal(ErrorIds.DataDirectoryNotEmpty, refused.ErrorId);
            Assert.True(plan.StopsRunningServer);
            Assert.Contains(plan.Actions, a => a.StartsWith("set aside what", StringComparison.Ordinal));
            Assert.Equal("streaming", rebuilt.Node.ReceiverStatus);
            Assert.False(rebuilt.SlotCreated);
            Assert.False(File.Exists(marker));
            Assert.Empty(Directory.GetDirectories(Path.GetDirectoryName(directory)!, Path.GetFileName(directory) + ".pgdr-replaced-*"));
            Assert.Empty(rebuilt.Warnings);
        }
        finally
        {
            await RemoveAsync(directory, "rebuilt");
        }
    }

    [Fact]
    public async Task WhatIf_plans_every_change_and_makes_none_not_even_the_slot()
    {
        var directory = NewDataDirectory("whatif");

        var plan = await StandbyService.PlanAsync(Request(directory, "what-if", createSlot: true), CancellationToken.None);

        Assert.True(plan.CreatesSlot);
        Assert.True(plan.WritesPasswordFile);
        Assert.Equal(Primary.Name, plan.Upstream.Name);
        Assert.Contains(plan.Actions, a => a == $"create slot what_if on {Primary.Name}");
        Assert.DoesNotContain(ReplicationPassword(), plan.ToString(), StringComparison.Ordinal);
        Assert.False(Directory.Exists(directory));
        Assert.False(File.Exists(directory + ".pgpass"));
        await AssertNoSlotAsync("what_if");
    }

    [Fact]
    public async Task An_unreachable_upstream_is_HostUnreachable_and_nothing_is_made()
    {
        var directory = NewDataDirectory("unreachable");

        var ex = await Assert.ThrowsAsync<PgDrConnectionException>(() =>
            StandbyService.CreateAsync(Request(directory, "nowhere", createSlot: true, upstream: Primary.WithAddress("127.0.0.1", 1)), null, CancellationToken.None));

        Assert.Equal(ErrorIds.HostUnreachable, ex.ErrorId);
        Assert.False(Directory.Exists(directory));
    }

    [Fact]
    public async Task A_wrong_replication_password_is_AuthenticationFailed_before_the_slot_or_a_file_exists()
    {
        var directory = NewDataDirectory("wrongpw");

        var ex = await Assert.ThrowsAsync<PgDrConnectionException>(() =>
            StandbyService.CreateAsync(Request(directory, "wrong-password", createSlot: true) with { ReplicationPassword = "not-the-password" }, null, CancellationToken.None));

        Assert.Equal(ErrorIds.AuthenticationFailed, ex.ErrorId);
        Assert.DoesNotContain("not-the-password", ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(directory));
        Assert.False(File.Exists(directory + ".pgpass"));
        await AssertNoSlotAsync("wrong_password");
    }

    [Fact]
    public async Task A_slot_another_standby_streams_through_is_refused_and_an_existing_one_is_not_created_again()
    {
        var directory = NewDataDirectory("slotbusy");

        var active = await Assert.ThrowsAsync<PgDrException>(() =>
            StandbyService.CreateAsync(Request(directory, "thief") with { SlotName = "region_b" }, null, CancellationToken.None));
        var exists = await Assert.ThrowsAsync<PgDrException>(() =>
            StandbyService.CreateAsync(Request(directory, "thief", createSlot: true) with { SlotName = "region_b" }, null, CancellationToken.None));
        var missing = await Assert.ThrowsAsync<PgDrNotFoundException>(() =>
            StandbyService.CreateAsync(Request(directory, "no-slot-yet"), null, CancellationToken.None));

        Assert.Equal(ErrorIds.ReplicationSlotActive, active.ErrorId);
        Assert.Equal(ErrorIds.ReplicationSlotExists, exists.ErrorId);
        Assert.Equal(ErrorIds.ReplicationSlotNotFound, missing.ErrorId);
        Assert.False(Directory.Exists(directory));
        Assert.True((await ReplicationSlotService.GetSlotsAsync(Primary, ["region_b"], CancellationToken.None))[0].Active);
    }

    [Fact]
    public async Task A_node_of_another_cluster_is_refused_whether_named_by_system_identifier_or_found_in_the_directory()
    {
        var fresh = NewDataDirectory("othercluster");
        var replaced = NewDataDirectory("otherdata");
        Directory.CreateDirectory(Path.Combine(replaced, "global"));
        await File.WriteAllBytesAsync(Path.Combine(replaced, "global", "pg_control"), BitConverter.GetBytes(42UL));
        await File.WriteAllTextAsync(Path.Combine(replaced, "PG_VERSION"), "15\n");

        var named = await Assert.ThrowsAsync<PgDrInvalidOperationException>(() =>
            StandbyService.CreateAsync(Request(fresh, "other", createSlot: true) with { SystemIdentifier = 42 }, null, CancellationToken.None));
        var found = await Assert.ThrowsAsync<PgDrInvalidOperationException>(() =>
            StandbyService.CreateAsync(Request(replaced, "other", createSlot: true) with { Force = true }, null, CancellationToken.None));

        Assert.Equal(ErrorIds.SystemIdentifierMismatch, named.ErrorId);
        Assert.Equal(ErrorIds.SystemIdentifierMismatch, found.ErrorId);
        Assert.False(Directory.Exists(fresh));
        Assert.Equal("15\n", await File.ReadAllTextAsync(Path.Combine(replaced, "PG_VERSION")));
        await AssertNoSlotAsync("other");
    }

    [Fact]
    public async Task A_directory_that_is_not_empty_is_refused_and_left_as_it_was()
    {
        var directory = NewDataDirectory("notempty");
        Directory.CreateDirectory(directory);
        await File.WriteAllTextAsync(Path.Combine(directory, "precious.txt"), "keep me");

        var ex = await Assert.ThrowsAsync<PgDrException>(() => StandbyService.CreateAsync(Request(directory, "not-empty", createSlot: true), null, CancellationToken.None));

        Assert.Equal(ErrorIds.DataDirectoryNotEmpty, ex.ErrorId);
        Assert.Contains("precious.txt", ex.Message, StringComparison.Ordinal);
        Assert.Equal("keep me", await File.ReadAllTextAsync(Path.Combine(directory, "precious.txt")));
        await AssertNoSlotAsync("not_empty");
    }

    [Fact]
    public async Task When_root_a_directory_the_service_account_cannot_write_is_DataDirectoryNotWritable()
    {
        if (!OsUser.CallerIsRoot)
        {
            Assert.False(OsUser.ForPostgres().SwitchNeeded);
            return;
        }

        var closed = TestDirectories.Path("closed-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(closed, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var directory = Path.Combine(closed, "standby");

        var ex = await Assert.ThrowsAsync<PgDrException>(() => StandbyService.CreateAsync(Request(directory, "closed", createSlot: true), null, CancellationToken.None));

        Assert.Equal(ErrorIds.DataDirectoryNotWritable, ex.ErrorId);
        Assert.False(Directory.Exists(directory));
        await AssertNoSlotAsync("closed");
    }

    [Fact]
    public async Task A_failed_start_takes_back_the_slot_the_copy_and_the_password_file_it_made()
    {
        var directory = NewDataDirectory("failedstart");

        // The primary's own port is taken: the copy succeeds, the start cannot.
        var ex = await Assert.ThrowsAsync<PgDrException>(() =>
            StandbyService.CreateAsync(Request(directory, "port-taken", createSlot: true) with { Port = Primary.Port }, null, CancellationToken.None));

        Assert.Equal(ErrorIds.ClusterStartFailed, ex.ErrorId);
        Assert.DoesNotContain("Clean-up incomplete", ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(directory));
        Assert.False(File.Exists(directory + ".pgpass"));
        await AssertNoSlotAsync("port_taken");
    }

    /// <summary>A request as a user on the standby's host makes it: the replication role with its password, the sandbox's binaries, a free port.</summary>
    private StandbyRequest Request(string directory, string name, bool createSlot = false, PgInstance? upstream = null) => new()
    {
        Upstream = upstream ?? Primary,
        DataDirectory = directory,
        Name = name,
        CreateSlot = createSlot,
        Port = Ports.Closed(),
        ReplicationUser = PgSandbox.ReplicationUser,
        ReplicationPassword = ReplicationPassword(),
        Service = new PgServiceSpec { BinDirectory = _sandbox.Binaries.Directory },
        SkipSync = true,
    };

    private string ReplicationPassword() =>
        File.ReadLines(_sandbox.PasswordFile).Select(l => l.Split(':')).First(f => f[3] == PgSandbox.ReplicationUser)[4];

    /// <summary>A path beside the sandbox's nodes (a folder the service account owns), not created.</summary>
    private string NewDataDirectory(string label) => Path.Combine(_sandbox.Directory, $"{label}-{Guid.NewGuid().ToString("N")[..6]}");

    private async Task AssertNoSlotAsync(string slotName)
    {
        var slots = await ReplicationSlotService.GetSlotsAsync(Primary, null, CancellationToken.None);
        Assert.DoesNotContain(slots, s => s.SlotName == slotName);
    }

    /// <summary>Stops the test's standby, drops its slot and removes its files.</summary>
    private async Task RemoveAsync(string directory, string slotName, PgInstance? upstream = null)
    {
        await new LocalCluster(_sandbox.Binaries, directory, _sandbox.RunAs).ForceStopAsync(CancellationToken.None);
        await Wait.UntilAsync(
            async ct =>
            {
                try
                {
                    await ReplicationSlotService.DropSlotAsync(upstream ?? Primary, slotName, ct);
                    return true;
                }
                catch (PgDrException ex) when (ex.ErrorId == ErrorIds.ReplicationSlotActive)
                {
                    return false;
                }
                catch (PgDrNotFoundException)
                {
                    return true;
                }
            },
            TimeSpan.FromSeconds(30), $"slot {slotName} to be released", CancellationToken.None);
        foreach (var file in new[] { directory + ".pgpass", directory + ".log" }.Where(File.Exists))
        {
            File.Delete(file);
        }

        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Progress reported on the reporting thread, so the test sees every report once the call returns.</summary>
    private sealed class SynchronousProgress(Action<PgDrProgress> report) : IProgress<PgDrProgress>
    {
        public void Report(PgDrProgress value)
        {
            lock (this)
            {
                report(value);
            }
        }
    }
}
