namespace PgDr.Hosting.Services;

/// <summary>What starts and stops a PostgreSQL server on its host.</summary>
public enum PgServiceKind
{
    /// <summary>pg_ctl on the data directory: the sandbox, clusters made with initdb, plain hosts.</summary>
    PgCtl,

    /// <summary>A systemd unit (Debian's postgresql@15-main, PGDG's postgresql-15).</summary>
    Systemd,

    /// <summary>A Windows service registered with pg_ctl register (the EDB installer's postgresql-x64-15).</summary>
    WindowsService,
}

/// <summary>
/// Start, stop and status of one PostgreSQL server through whatever controls it on its host. PgDr goes through this
/// and never around it: stopping a systemd-run server with pg_ctl would leave the unit failed and let the service
/// manager start it again, which is the last thing a fenced primary may do.
/// </summary>
/// <remarks>
/// Promotion is not here: pg_promote() over SQL promotes a server whatever runs it, and waits for the result.
/// </remarks>
public interface IPostgresService
{
    PgServiceKind Kind { get; }

    /// <summary>What is controlled, for messages and -WhatIf: "pg_ctl -D /srv/pg", "systemd unit postgresql@15-main".</summary>
    string Description { get; }

    /// <summary>The data directory the service runs, where known.</summary>
    string? DataDirectory { get; }

    /// <summary>Starts the server and returns once it accepts connections (a standby: once it is consistent); ClusterStartFailed otherwise.</summary>
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>Stops the server and returns once it is down; a server that is not running is left as it is. ClusterStopFailed otherwise.</summary>
    Task StopAsync(StopMode mode, CancellationToken cancellationToken);

    /// <summary>A fast stop followed by a start (the same for every service manager).</summary>
    async Task RestartAsync(CancellationToken cancellationToken)
    {
        await StopAsync(StopMode.Fast, cancellationToken).ConfigureAwait(false);
        await StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Whether a server runs (including one still starting or stopping: it may yet accept writes).</summary>
    Task<bool> IsRunningAsync(CancellationToken cancellationToken);
}
