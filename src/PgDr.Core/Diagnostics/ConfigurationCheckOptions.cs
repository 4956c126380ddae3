namespace PgDr.Diagnostics;

/// <summary>Limits and scope of Test-PgDrConfiguration; the defaults are what the checks use when nothing is given.</summary>
public sealed class ConfigurationCheckOptions
{
    /// <summary>More segments than this waiting for the archiver (.ready files) is a backlog (Warn). Default 16.</summary>
    public int MaxReadyFiles { get; init; } = 16;

    /// <summary>WAL a standby has received but not replayed beyond which replay counts as falling behind (Warn). Default 64 MiB.</summary>
    public long MaxReplayLagBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>
    /// Clocks further apart than this (beyond what the round trips leave uncertain) Warn; ten times this Fails.
    /// Default 1 s: time lag, the lease's expiry and log correlation all assume clocks agree to well under a second.
    /// </summary>
    public TimeSpan MaxClockSkew { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Free space below this share of a disk Warns (default 15 %); below a third of it Fails.</summary>
    public double MinFreeDiskShare { get; init; } = 0.15;

    /// <summary>
    /// A PgDr configuration whose agent section names node agents (agent.peers[].agent, and this node's own): the disks of
    /// a node on another host are read from its agent (GET /status). Without one they cannot be measured, which DiskSpace
    /// says. Default none.
    /// </summary>
    public string? ConfigPath { get; init; }

    /// <summary>Scan the server log for the known failure lines (default on).</summary>
    public bool ScanLog { get; init; } = true;

    /// <summary>Only log lines from this long before the node's clock count (default 1 hour): an old failure fixed since is not today's.</summary>
    public TimeSpan LogWindow { get; init; } = TimeSpan.FromHours(1);

    /// <summary>How much of the end of the server log is read (default 1 MiB).</summary>
    public int LogTailBytes { get; init; } = 1024 * 1024;
}
