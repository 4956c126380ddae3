using PgDr.Errors;

namespace PgDr.Hosting.Services;

/// <summary>
/// A server run by a systemd unit: Debian's postgresql@15-main (what pg_ctlcluster redirects to when run as root) or
/// PGDG's postgresql-15. Needs root (or a polkit rule) like systemctl itself.
/// </summary>
public sealed class SystemdService : IPostgresService
{
    private readonly CommandRunner _run;

    public SystemdService(string unit, string? dataDirectory = null)
        : this(unit, dataDirectory, CommandRunners.Process)
    {
    }

    internal SystemdService(string unit, string? dataDirectory, CommandRunner run)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(unit);
        Unit = unit;
        DataDirectory = dataDirectory;
        _run = run;
    }

    /// <summary>The unit's name, e.g. postgresql@15-main.</summary>
    public string Unit { get; }

    public PgServiceKind Kind => PgServiceKind.Systemd;

    public string Description => $"systemd unit {Unit}";

    public string? DataDirectory { get; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var result = await _run("systemctl", ["start", Unit], cancellationToken).ConfigureAwait(false);

        // Debian's unit ignores pg_ctlcluster's exit status (ExecStart=-...), so only the unit's state tells.
        var state = await StateAsync(cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0 || state != "active")
        {
            throw new PgDrException(
                ErrorIds.ClusterStartFailed,
                PgDrErrorCategory.ResourceUnavailable,
                $"systemctl start {Unit} left it {state}: {Tail(result)}; see journalctl -u {Unit}.",
                Unit);
        }
    }

    public async Task StopAsync(StopMode mode, CancellationToken cancellationToken)
    {
        if (mode == StopMode.Immediate)
        {
            // SIGQUIT to the postmaster is PostgreSQL's immediate shutdown. Debian's pg_ctlcluster -m immediate would not
            // do: as root under systemd it turns into systemctl stop, which is fast. The systemctl stop that follows
            // settles the unit, and keeps a unit with Restart= from starting the server again.
            await _run("systemctl", ["kill", "--kill-whom=main", "--signal=SIGQUIT", Unit], cancellationToken).ConfigureAwait(false);
        }

        var result = await _run("systemctl", ["stop", Unit], cancellationToken).ConfigureAwait(false);
        if (await IsRunningAsync(cancellationToken).ConfigureAwait(false))
        {
            throw new PgDrException(
                ErrorIds.ClusterStopFailed,
                PgDrErrorCategory.InvalidOperation,
                $"systemctl stop {Unit} did not stop it: {Tail(result)}.",
                Unit);
        }
    }

    public async Task<bool> IsRunningAsync(CancellationToken cancellationToken) =>
        await StateAsync(cancellationToken).ConfigureAwait(false) is not ("inactive" or "failed" or "unknown" or "");

    public override string ToString() => Description;

    /// <summary>systemctl is-active prints the unit's state (active, activating, deactivating, inactive, failed ...).</summary>
    private async Task<string> StateAsync(CancellationToken cancellationToken) =>
        (await _run("systemctl", ["is-active", Unit], cancellationToken).ConfigureAwait(false)).StandardOutput.Trim();

    private static string Tail(ProcessResult result)
    {
        var text = (result.StandardError.Length > 0 ? result.StandardError : result.StandardOutput).Trim();
        return text.Length == 0 ? $"exit {result.ExitCode}" : text.Split('\n')[^1].Trim();
    }
}
