using PgDr.Archive.Transfer;

namespace PgDr.Tests.Archive.Transfer;

/// <summary>
/// Which fetch destinations pgdr leaves to PostgreSQL to make durable: only its own temporary names, which it
/// durable_rename()s into pg_wal when it keeps them (docs/archiving.md quotes the source).
/// </summary>
public sealed class WalFetchDurabilityTests
{
    [Theory]
    [InlineData("pg_wal/RECOVERYXLOG", true)]
    [InlineData("/var/lib/postgresql/15/main/pg_wal/RECOVERYHISTORY", true)]
    [InlineData("pg_wal/000000010000000000000002", false)]
    [InlineData("/tmp/restore/RECOVERYXLOG.partial", false)]
    [InlineData("/srv/copy/00000002.history", false)]
    public void Only_PostgreSQLs_own_restore_names_are_left_to_PostgreSQL_to_fsync(string destination, bool leftToPostgres)
    {
        Assert.Equal(leftToPostgres, WalFetchService.PostgresMakesDurable(destination));
    }
}
