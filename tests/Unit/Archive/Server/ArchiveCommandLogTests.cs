using PgDr.Archive.Server;
using PgDr.Errors;

namespace PgDr.Tests.Archive.Server;

/// <summary>Reading archive_command failures out of a server log, as PostgreSQL 15 writes them (log_line_prefix '%m [%p] ').</summary>
public sealed class ArchiveCommandLogTests
{
    private static readonly string[] Log =
    [
        "2026-12-02 16:30:00.100 UTC [4100] LOG:  checkpoint starting: time",
        "pgdr: 000000010000000000000002 is not archived: repository 'local': The repository directory /srv/repo does not exist. [RepositoryNotFound]",
        "2026-12-02 16:30:01.200 UTC [4200] LOG:  archive command failed with exit code 2",
        "2026-12-02 16:30:01.200 UTC [4200] DETAIL:  The failed archive command was: '/usr/local/bin/pgdr' wal push --config '/etc/pgdr/pgdr.json' pg_wal/000000010000000000000002",
        "2026-12-02 16:30:02.300 UTC [4100] LOG:  checkpoint complete: wrote 3 buffers",
        "sh: 1: /root/pgdr: Permission denied",
        "2026-12-02 16:30:03.400 UTC [4300] FATAL:  archive command failed with exit code 126",
        "2026-12-02 16:30:03.400 UTC [4300] DETAIL:  The failed archive command was: '/root/pgdr' wal push --config '/etc/pgdr/pgdr.json' pg_wal/000000010000000000000003",
        "2026-12-02 16:30:03.401 UTC [4000] LOG:  archiver process (PID 4300) exited with exit code 1",
    ];

    [Fact]
    public void The_failure_of_a_segment_gives_pgdrs_error_id_message_and_exit_code()
    {
        var entry = ArchiveCommandLog.LastFailure(Log, "000000010000000000000002");

        Assert.NotNull(entry);
        Assert.Equal(("000000010000000000000002", 2), (entry.WalFileName, entry.ExitCode));
        Assert.Equal(ErrorIds.RepositoryNotFound, entry.PgDrError?.ErrorId);
        Assert.StartsWith("000000010000000000000002 is not archived", entry.PgDrError?.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unexecutable_command_is_exit_126_with_the_shells_words_and_no_pgdr_line()
    {
        var entry = ArchiveCommandLog.LastFailure(Log, null);

        Assert.NotNull(entry);
        Assert.Equal(("000000010000000000000003", 126), (entry.WalFileName, entry.ExitCode));
        Assert.Null(entry.PgDrError);
        Assert.Equal(["sh: 1: /root/pgdr: Permission denied"], entry.Output);
        Assert.NotNull(ArchiveFailureAdvice.For(null, 126));
    }

    [Fact]
    public void A_segment_the_log_does_not_mention_has_no_failure()
    {
        Assert.Null(ArchiveCommandLog.LastFailure(Log, "000000010000000000000009"));
        Assert.Null(ArchiveCommandLog.LastFailure(Log[..2], null));
    }
}
