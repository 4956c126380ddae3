using PgDr.Errors;
using PgDr.Hosting;
using PgDr.Hosting.Services;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Hosting;

/// <summary>
/// The systemd and Windows service controls, checked for the exact commands they issue (neither service manager runs
/// here), and the discovery of which service runs a data directory. pg_ctl runs for real in the standby tests.
/// </summary>
public sealed class PostgresServiceTests
{
    private const string EdbBinaryPath = "\"C:\\Program Files\\PostgreSQL\\15\\bin\\pg_ctl.exe\" runservice -N \"postgresql-x64-15\" -D \"C:\\Program Files\\PostgreSQL\\15\\data\" -w";

    [Theory]
    [InlineData(null, null, null)]
    [InlineData("auto", null, null)]
    [InlineData("pg_ctl", PgServiceKind.PgCtl, null)]
    [InlineData("systemd:postgresql@15-main", PgServiceKind.Systemd, "postgresql@15-main")]
    [InlineData("windows:postgresql-x64-15", PgServiceKind.WindowsService, "postgresql-x64-15")]
    public void Service_names_parse_into_a_kind_and_a_name(string? text, PgServiceKind? kind, string? name)
    {
        var spec = PgServiceSpec.Parse(text);

        Assert.Equal(kind, spec.Kind);
        Assert.Equal(name, spec.Name);
        Assert.Equal(text ?? "auto", spec.ToString());
    }

    [Theory]
    [InlineData("systemd")]
    [InlineData("windows:")]
    [InlineData("pg_ctl:x")]
    [InlineData("launchd:org.postgresql")]
    public void A_service_name_that_says_nothing_clear_is_refused(string text)
    {
        var ex = Assert.Throws<PgDrArgumentException>(() => PgServiceSpec.Parse(text));

        Assert.Equal(ErrorIds.InvalidServiceSpec, ex.ErrorId);
    }

    [Fact]
    public async Task Systemd_start_asks_systemctl_and_checks_the_unit_is_active()
    {
        var host = new FakeHost().On("systemctl is-active postgresql@15-main", "active\n");
        var service = new SystemdService("postgresql@15-main", "/var/lib/postgresql/15/main", host.Run);

        await service.StartAsync(CancellationToken.None);

        Assert.Equal(["systemctl start postgresql@15-main", "systemctl is-active postgresql@15-main"], host.Commands);
    }

    [Fact]
    public async Task Systemd_start_that_leaves_the_unit_failed_is_ClusterStartFailed()
    {
        // Debian's unit ignores pg_ctlcluster's exit status, so systemctl start succeeds and the unit is failed.
        var host = new FakeHost().On("systemctl is-active postgresql@15-main", "failed\n", exitCode: 3);
        var service = new SystemdService("postgresql@15-main", null, host.Run);

        var ex = await Assert.ThrowsAsync<PgDrException>(() => service.StartAsync(CancellationToken.None));

        Assert.Equal(ErrorIds.ClusterStartFailed, ex.ErrorId);
    }

    [Fact]
    public async Task Systemd_fast_stop_is_systemctl_stop_and_immediate_sends_SIGQUIT_to_the_postmaster_first()
    {
        var host = new FakeHost().On("systemctl is-active postgresql-15", "inactive\n", exitCode: 3);
        var service = new SystemdService("postgresql-15", null, host.Run);

        await service.StopAsync(StopMode.Fast, CancellationToken.None);
        var fast = host.Commands.ToList();
        host.Commands.Clear();
        await service.StopAsync(StopMode.Immediate, CancellationToken.None);

        Assert.Equal(["systemctl stop postgresql-15", "systemctl is-active postgresql-15"], fast);
        Assert.Equal(
            ["systemctl kill --kill-whom=main --signal=SIGQUIT postgresql-15", "systemctl stop postgresql-15", "systemctl is-active postgresql-15"],
            host.Commands);
    }

    [Theory]
    [InlineData("active", true)]
    [InlineData("deactivating", true)]
    [InlineData("activating", true)]
    [InlineData("inactive", false)]
    [InlineData("failed", false)]
    public async Task A_systemd_unit_counts_as_running_until_it_is_inactive_or_failed(string state, bool running)
    {
        var host = new FakeHost().On("systemctl is-active u", state + "\n", exitCode: running ? 0 : 3);

        Assert.Equal(running, await new SystemdService("u", null, host.Run).IsRunningAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_Windows_service_is_opened_from_its_pg_ctl_runservice_binary_path()
    {
        var host = new FakeHost().On("sc.exe qc postgresql-x64-15", QcOutput("postgresql-x64-15", EdbBinaryPath));

        var service = await WindowsService.OpenAsync("postgresql-x64-15", host.Run, CancellationToken.None);

        Assert.Equal("C:\\Program Files\\PostgreSQL\\15\\bin\\pg_ctl.exe", service.PgCtlPath);
        Assert.Equal("C:\\Program Files\\PostgreSQL\\15\\data", service.DataDirectory);
        Assert.Equal(PgServiceKind.WindowsService, service.Kind);
    }

    [Fact]
    public async Task A_Windows_service_that_is_missing_or_not_pg_ctl_is_refused()
    {
        var host = new FakeHost()
            .On("sc.exe qc nope", "[SC] OpenService FAILED 1060:\n\nThe specified service does not exist as an installed service.\n", exitCode: 1060)
            .On("sc.exe qc pgbouncer", QcOutput("pgbouncer", "\"C:\\Program Files\\PgBouncer\\bin\\pgbouncer.exe\" --service \"C:\\pgbouncer.ini\""));

        var missing = await Assert.ThrowsAsync<PgDrNotFoundException>(() => WindowsService.OpenAsync("nope", host.Run, CancellationToken.None));
        var other = await Assert.ThrowsAsync<PgDrInvalidOperationException>(() => WindowsService.OpenAsync("pgbouncer", host.Run, CancellationToken.None));

        Assert.Equal(ErrorIds.ServiceNotFound, missing.ErrorId);
        Assert.Equal(ErrorIds.ServiceNotControlled, other.ErrorId);
    }

    [Fact]
    public async Task Windows_start_and_fast_stop_go_through_sc_exe_and_wait_for_the_state_asked_for()
    {
        var host = new FakeHost()
            .On("sc.exe start pg15", "SERVICE_NAME: pg15\n        STATE              : 2  START_PENDING\n")
            .OnSequence("sc.exe query pg15", Query("pg15", 2, "START_PENDING"), Query("pg15", 4, "RUNNING"), Query("pg15", 3, "STOP_PENDING"), Query("pg15", 1, "STOPPED"));
        var service = new WindowsService("pg15", "C:\\pg\\bin\\pg_ctl.exe", "C:\\pg\\data", host.Run);

        await service.StartAsync(CancellationToken.None);
        await service.StopAsync(StopMode.Fast, CancellationToken.None);

        Assert.Equal(
            ["sc.exe start pg15", "sc.exe query pg15", "sc.exe query pg15", "sc.exe stop pg15", "sc.exe query pg15", "sc.exe query pg15"],
            host.Commands);
    }

    [Fact]
    public async Task Windows_immediate_stop_goes_to_the_postmaster_through_the_services_own_pg_ctl()
    {
        var host = new FakeHost().On("sc.exe query pg15", Query("pg15", 1, "STOPPED"));
        var service = new WindowsService("pg15", "C:\\pg\\bin\\pg_ctl.exe", "C:\\pg\\data", host.Run);

        await service.StopAsync(StopMode.Immediate, CancellationToken.None);

        Assert.Equal(["C:\\pg\\bin\\pg_ctl.exe stop -D C:\\pg\\data -m immediate -w", "sc.exe query pg15"], host.Commands);
    }

    [Fact]
    public async Task Windows_start_of_a_service_that_stops_again_is_ClusterStartFailed()
    {
        var host = new FakeHost()
            .On("sc.exe start pg15", string.Empty)
            .OnSequence("sc.exe query pg15", Query("pg15", 2, "START_PENDING"), Query("pg15", 1, "STOPPED"));
        var service = new WindowsService("pg15", "C:\\pg\\bin\\pg_ctl.exe", "C:\\pg\\data", host.Run);

        var ex = await Assert.ThrowsAsync<PgDrException>(() => service.StartAsync(CancellationToken.None));

        Assert.Equal(ErrorIds.ClusterStartFailed, ex.ErrorId);
    }

    [Fact]
    public async Task Discovery_finds_Debians_unit_from_the_cluster_configuration_when_systemd_runs()
    {
        var root = TestDirectories.Path("svc-" + Guid.NewGuid().ToString("N")[..8]);
        var runtime = Directory.CreateDirectory(Path.Combine(root, "run-systemd")).FullName;
        var conf = Directory.CreateDirectory(Path.Combine(root, "etc", "15", "standby")).FullName;
        var dataDirectory = Path.Combine(root, "data", "15", "standby");
        await File.WriteAllTextAsync(Path.Combine(conf, "postgresql.conf"), $"data_directory = '{dataDirectory}'\t\t# use data in another directory\nport = 5433\n");
        var host = new FakeHost();

        var found = await new ServiceDiscovery(host.Run, runtime, Path.Combine(root, "etc")).ResolveAsync(dataDirectory + "/", PgServiceSpec.Auto, 15, CancellationToken.None);

        var unit = Assert.IsType<SystemdService>(found);
        Assert.Equal("postgresql@15-standby", unit.Unit);
        Assert.Equal(dataDirectory, unit.DataDirectory);
        Assert.Empty(host.Commands);
    }

    [Fact]
    public async Task Discovery_finds_a_unit_whose_environment_sets_PGDATA()
    {
        var runtime = Directory.CreateDirectory(TestDirectories.Path("svc-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        var host = new FakeHost()
            .On("systemctl list-unit-files --type=service --no-legend postgresql*", "postgresql-14.service disabled disabled\npostgresql-15.service enabled disabled\npostgresql@.service static -\n")
            .On("systemctl show --property=Environment --value postgresql-14.service", "PGDATA=/var/lib/pgsql/14/data/ PG_OOM_ADJUST_FILE=/proc/self/oom_score_adj\n")
            .On("systemctl show --property=Environment --value postgresql-15.service", "PGDATA=/var/lib/pgsql/15/data/ PG_OOM_ADJUST_FILE=/proc/self/oom_score_adj\n");

        var found = await new ServiceDiscovery(host.Run, runtime, "/nonexistent").FindSystemdAsync("/var/lib/pgsql/15/data", CancellationToken.None);

        Assert.Equal("postgresql-15", found?.Unit);
    }

    [Fact]
    public async Task Without_systemd_a_data_directory_is_controlled_with_pg_ctl()
    {
        var host = new FakeHost();
        var dataDirectory = TestDirectories.Path("plain");

        var found = await new ServiceDiscovery(host.Run, "/nonexistent/run/systemd/system").ResolveAsync(dataDirectory, PgServiceSpec.Auto, null, CancellationToken.None);

        var cluster = Assert.IsType<LocalCluster>(found);
        Assert.Equal(dataDirectory, cluster.DataDirectory);
        Assert.Equal($"pg_ctl -D {dataDirectory}", cluster.Description);
        Assert.Empty(host.Commands);
    }

    [Fact]
    public async Task Loopback_and_this_machines_name_are_this_host_and_a_documentation_address_is_not()
    {
        Assert.True(await PostgresServices.IsThisHostAsync("127.0.0.1", CancellationToken.None));
        Assert.True(await PostgresServices.IsThisHostAsync("localhost", CancellationToken.None));
        Assert.True(await PostgresServices.IsThisHostAsync(System.Net.Dns.GetHostName(), CancellationToken.None));
        Assert.False(await PostgresServices.IsThisHostAsync("192.0.2.10", CancellationToken.None));
    }

    private static string QcOutput(string name, string binaryPath) =>
        $"[SC] QueryServiceConfig SUCCESS\n\nSERVICE_NAME: {name}\n        TYPE               : 10  WIN32_OWN_PROCESS\n        START_TYPE         : 2   AUTO_START\n"
        + $"        ERROR_CONTROL      : 1   NORMAL\n        BINARY_PATH_NAME   : {binaryPath}\n        LOAD_ORDER_GROUP   :\n        DISPLAY_NAME       : {name}\n";

    private static string Query(string name, int state, string text) =>
        $"\nSERVICE_NAME: {name}\n        TYPE               : 10  WIN32_OWN_PROCESS\n        STATE              : {state}  {text}\n        WIN32_EXIT_CODE    : 0  (0x0)\n";

    /// <summary>Answers commands from a script and records each command line as one string.</summary>
    private sealed class FakeHost
    {
        private readonly Dictionary<string, Queue<ProcessResult>> _answers = [];

        public List<string> Commands { get; } = [];

        public FakeHost On(string command, string output, int exitCode = 0) => OnSequence(command, exitCode, output);

        public FakeHost OnSequence(string command, params string[] outputs) => OnSequence(command, 0, outputs);

        public Task<ProcessResult> Run(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
        {
            var line = string.Join(' ', arguments.Prepend(fileName));
            Commands.Add(line);
            if (!_answers.TryGetValue(line, out var queue))
            {
                return Task.FromResult(new ProcessResult(0, string.Empty, string.Empty));
            }

            // The last answer repeats: a state stays as it is once reached.
            return Task.FromResult(queue.Count > 1 ? queue.Dequeue() : queue.Peek());
        }

        private FakeHost OnSequence(string command, int exitCode, params string[] outputs)
        {
            _answers[command] = new Queue<ProcessResult>(outputs.Select(o => new ProcessResult(exitCode, o, string.Empty)));
            return this;
        }
    }
}
