namespace PgDr.Archive.Server;

/// <summary>
/// Why archiving fails, as far as PgDr can tell: what archive_command (pgdr) reported, or what stops the postgres
/// account from running it, and what to do about it.
/// </summary>
public sealed class WalArchiveFailure
{
    /// <summary>The segment whose archiving failed; null for a failure found before anything was archived (the access check).</summary>
    public string? WalFileName { get; init; }

    /// <summary>archive_command's exit code, when the server log says (126: not executable, 127: not found).</summary>
    public int? ExitCode { get; init; }

    /// <summary>The error id pgdr reported (RepositoryNotFound, ArchiveKeyAccessDenied ...); null when it did not get to say.</summary>
    public string? ErrorId { get; init; }

    /// <summary>What went wrong, in pgdr's or the shell's words.</summary>
    public required string Message { get; init; }

    /// <summary>What to do about it; null when PgDr has no advice for this failure.</summary>
    public string? Fix { get; init; }

    /// <summary>Where this was learned: the server log's path, pg_stat_archiver, or the access check run as the server's account.</summary>
    public required string Evidence { get; init; }

    public override string ToString() =>
        $"{(WalFileName is null ? string.Empty : WalFileName + ": ")}{Message}{(ErrorId is null ? string.Empty : $" [{ErrorId}]")}{(Fix is null ? string.Empty : " Fix: " + Fix)}";
}
