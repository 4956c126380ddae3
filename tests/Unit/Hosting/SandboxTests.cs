using PgDr.Errors;
using PgDr.Hosting;
using PgDr.Hosting.Sandbox;
using PgDr.Progress;
using PgDr.Tests.Fixtures;
using PgDr.Topology;

namespace PgDr.Tests.Hosting;

public sealed class SandboxTests
{
    [Fact]
    public async Task Sandbox_up_status_and_down_leave_nothing_running_or_on_disk()
    {
        var directory = SandboxFixture.NewDirectory("updown");
        var sandbox = await SandboxService.CreateAsync(new SandboxSpec { Directory = directory, Standbys = 1 }, null, CancellationToken.None);
        var clusters = sandbox.Nodes.Select(n => sandbox.Cluster(n.Name)).ToList();

        var status = await SandboxService.GetStatusAsync(sandbox, CancellationToken.None);
        Assert.Equal(["region-a", "region-b"], status.Select(s => s.Name).ToArray());
        Assert.All(status, s => Assert.True(s.Running, s.Error));
        Assert.Equal(PgNodeRole.Primary, status[0].Role);
        Assert.Equal(PgNodeRole.Standby, status[1].Role);
        Assert.Equal("region-a", status[1].Upstream);
        Assert.Equal("streaming", status[1].Lag?.State);
        Assert.Equal(0, status[1].ByteLag);

        await SandboxService.RemoveAsync(directory, null, CancellationToken.None);

        Assert.False(Directory.Exists(directory));
        foreach (var cluster in clusters)
        {
            Assert.False(await cluster.IsRunningAsync(CancellationToken.None));
        }
    }

    [Fact]
    public async Task Status_reports_a_stopped_node_as_down_instead_of_failing()
    {
        var directory = SandboxFixture.NewDirectory("down");
        var sandbox = await SandboxService.CreateAsync(new SandboxSpec { Directory = directory, Standbys = 1 }, null, CancellationToken.None);
        try
        {
            await sandbox.StopNodeAsync("region-b", StopMode.Immediate, CancellationToken.None);

            var status = await SandboxService.GetStatusAsync(await SandboxService.OpenAsync(directory, CancellationToken.None), CancellationToken.None);

            Assert.True(status[0].Running);
            Assert.False(status[1].Running);
            Assert.Contains("Cannot reach", status[1].Error, StringComparison.Ordinal);
        }
        finally
        {
            await SandboxService.RemoveAsync(directory, null, CancellationToken.None);
        }
    }

    [Fact]
    public async Task Up_into_a_directory_that_is_not_empty_is_refused_and_touches_nothing()
    {
        var directory = SandboxFixture.NewDirectory("notempty");
        Directory.CreateDirectory(directory);
        var precious = Path.Combine(directory, "precious.txt");
        await File.WriteAllTextAsync(precious, "keep me");
        try
        {
            var ex = await Assert.ThrowsAsync<PgDrException>(() => SandboxService.CreateAsync(new SandboxSpec { Directory = directory }, null, CancellationToken.None));

            Assert.Equal(ErrorIds.SandboxExists, ex.ErrorId);
            Assert.Equal("keep me", await File.ReadAllTextAsync(precious));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Down_refuses_a_directory_that_holds_no_sandbox_and_deletes_nothing()
    {
        var directory = SandboxFixture.NewDirectory("nosandbox");
        Directory.CreateDirectory(directory);
        await File.WriteAllTextAsync(Path.Combine(directory, "data.txt"), "x");
        try
        {
            var ex = await Assert.ThrowsAsync<PgDrNotFoundException>(() => SandboxService.RemoveAsync(directory, null, CancellationToken.None));

            Assert.Equal(ErrorIds.SandboxNotFound, ex.ErrorId);
            Assert.True(File.Exists(Path.Combine(directory, "data.txt")));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData(-1, false)]
    [InlineData(9, false)]
    [InlineData(0, true)]
    public async Task Impossible_shapes_are_refused_with_InvalidSandboxSpec(int standbys, bool cascading)
    {
        var directory = SandboxFixture.NewDirectory("spec");

        var ex = await Assert.ThrowsAsync<PgDrArgumentException>(() =>
            SandboxService.CreateAsync(new SandboxSpec { Directory = directory, Standbys = standbys, Cascading = cascading }, null, CancellationToken.None));

        Assert.Equal(ErrorIds.InvalidSandboxSpec, ex.ErrorId);
        Assert.False(Directory.Exists(directory));
    }

    /// <summary>
    /// Ctrl+C at the worst moments of a build: while a standby is being copied by pg_basebackup (whose WAL streamer is
    /// a child process of its own that goes on writing into the copy), while it starts, while it is awaited. Whatever
    /// ran must be gone and the directory removed when the cancelled build returns, not a moment later.
    /// </summary>
    [Theory]
    [InlineData("region-b: copying from")]
    [InlineData("region-c: waiting until it streams")]
    public async Task Cancelling_the_build_leaves_no_process_and_no_directory(string cancelAtStatus)
    {
        var directory = SandboxFixture.NewDirectory("cancel");
        using var cancellation = new CancellationTokenSource();
        var seen = new List<string>();
        var progress = new InlineProgress(report =>
        {
            lock (seen)
            {
                seen.Add(report.Status);
            }

            if (report.Status.StartsWith(cancelAtStatus, StringComparison.Ordinal))
            {
                // As a console's Ctrl+C does: from another thread, while the build goes on.
                _ = Task.Run(cancellation.Cancel);
            }
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            SandboxService.CreateAsync(new SandboxSpec { Directory = directory, Standbys = 2 }, progress, cancellation.Token));

        Assert.Contains(seen, status => status.StartsWith(cancelAtStatus, StringComparison.Ordinal));
        Assert.False(Directory.Exists(directory), $"{directory} is still there after the cancelled build returned");
        Assert.Empty(ProcessesNaming(directory));
    }

    /// <summary>The moment Pester's Ctrl+C test picks: the first server process of the sandbox has just appeared (pg_ctl start is waiting for it).</summary>
    [Fact]
    public async Task Cancelling_the_build_as_its_first_server_appears_leaves_no_process_and_no_directory()
    {
        var directory = SandboxFixture.NewDirectory("cancel-start");
        using var cancellation = new CancellationTokenSource();
        var build = SandboxService.CreateAsync(new SandboxSpec { Directory = directory, Standbys = 2 }, null, cancellation.Token);
        var sawServer = false;
        while (!build.IsCompleted)
        {
            if (ProcessesNaming(directory).Any(p => p.Contains("postgres", StringComparison.Ordinal) && !p.Contains("initdb", StringComparison.Ordinal)))
            {
                sawServer = true;
                await cancellation.CancelAsync();
                break;
            }

            await Task.Delay(10);
        }

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => build);

        Assert.True(sawServer, "the build finished before a server process was seen");
        Assert.False(Directory.Exists(directory), $"{directory} is still there after the cancelled build returned");
        Assert.Empty(ProcessesNaming(directory));
    }

    [Fact]
    public async Task Missing_binaries_fail_with_PostgresBinariesNotFound_and_leave_no_directory()
    {
        var directory = SandboxFixture.NewDirectory("nobin");

        var ex = await Assert.ThrowsAsync<PgDrException>(() =>
            SandboxService.CreateAsync(new SandboxSpec { Directory = directory, BinDirectory = "/nonexistent/bin" }, null, CancellationToken.None));

        Assert.Equal(ErrorIds.PostgresBinariesNotFound, ex.ErrorId);
        Assert.False(Directory.Exists(directory));
    }

    [Fact]
    public async Task When_root_a_directory_the_postgres_account_cannot_reach_is_refused_and_removed()
    {
        if (!OsUser.CallerIsRoot)
        {
            // The account switch only exists for root; as another user PostgreSQL runs as that user.
            Assert.False(OsUser.ForPostgres().SwitchNeeded);
            return;
        }

        var closed = TestDirectories.Path("closed-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(closed, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            var directory = Path.Combine(closed, "sandbox");

            var ex = await Assert.ThrowsAsync<PgDrException>(() => SandboxService.CreateAsync(new SandboxSpec { Directory = directory }, null, CancellationToken.None));

            Assert.Equal(ErrorIds.SandboxDirectoryNotAccessible, ex.ErrorId);
            Assert.False(Directory.Exists(directory));
        }
        finally
        {
            Directory.Delete(closed, recursive: true);
        }
    }

    [Fact]
    public async Task The_password_file_is_private_and_the_standby_streams_through_it_with_keepalives()
    {
        var directory = SandboxFixture.NewDirectory("secrets");
        var sandbox = await SandboxService.CreateAsync(new SandboxSpec { Directory = directory, Standbys = 1 }, null, CancellationToken.None);
        try
        {
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(sandbox.PasswordFile));
            }

            var passwords = File.ReadAllLines(sandbox.PasswordFile).Select(l => l.Split(':')[4]).Distinct().ToList();
            Assert.Equal(2, passwords.Count);
            var standby = sandbox.Node("region-b").DataDirectory;
            foreach (var file in new[] { "postgresql.conf", "postgresql.auto.conf" }.Select(f => Path.Combine(standby, f)).Append(Path.Combine(directory, "sandbox.json")))
            {
                var text = await File.ReadAllTextAsync(file);
                Assert.All(passwords, p => Assert.DoesNotContain(p, text, StringComparison.Ordinal));
            }

            // The standby streams with what it was given: a password file, and keepalives for a long-haul link.
            var conninfo = await Sql.ScalarAsync<string>(sandbox.Instance("region-b"), "SHOW primary_conninfo");
            Assert.Contains($"passfile='{sandbox.PasswordFile}'", conninfo, StringComparison.Ordinal);
            Assert.Contains("keepalives_idle='60'", conninfo, StringComparison.Ordinal);
            Assert.DoesNotContain("password=", conninfo, StringComparison.Ordinal);
        }
        finally
        {
            await SandboxService.RemoveAsync(directory, null, CancellationToken.None);
        }
    }

    /// <summary>Command lines of the processes that name the directory (postgres -D, pg_basebackup -D).</summary>
    private static List<string> ProcessesNaming(string directory)
    {
        var found = new List<string>();
        foreach (var proc in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                var commandLine = File.ReadAllText(Path.Combine(proc, "cmdline")).Replace('\0', ' ');
                if (commandLine.Contains(directory, StringComparison.Ordinal))
                {
                    found.Add($"{Path.GetFileName(proc)}: {commandLine}");
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Not a process, or gone while we looked.
            }
        }

        return found;
    }

    /// <summary>Calls back on the reporting thread, unlike Progress&lt;T&gt;, so the test acts at the moment reported.</summary>
    private sealed class InlineProgress(Action<PgDrProgress> onReport) : IProgress<PgDrProgress>
    {
        public void Report(PgDrProgress value) => onReport(value);
    }
}
