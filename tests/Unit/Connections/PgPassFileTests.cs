using PgDr.Connections;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Connections;

/// <summary>The password file as libpq reads it: the entry a replication probe takes instead of PGPASSWORD.</summary>
public sealed class PgPassFileTests
{
    [Fact]
    public void The_first_matching_line_wins_with_wildcards_escapes_and_the_replication_database()
    {
        var path = TestDirectories.Path($"pgpass-{Guid.NewGuid():N}");
        File.WriteAllText(path, string.Join('\n',
            "# a comment:*:*:*:no",
            "db-a:5432:postgres:repl:not-for-replication",
            "db-a:*:replication:repl:pa\\:ss\\\\word",
            "*:*:*:repl:fallback",
            PgPassFile.WithReplicationEntry(null, "other", "o:ther").TrimEnd('\n')));

        Assert.Equal("pa:ss\\word", PgPassFile.FindPassword(path, "db-a", 5432, "replication", "repl"));
        Assert.Equal("not-for-replication", PgPassFile.FindPassword(path, "db-a", 5432, "postgres", "repl"));
        Assert.Equal("fallback", PgPassFile.FindPassword(path, "db-b", 5433, "replication", "repl"));
        Assert.Equal("o:ther", PgPassFile.FindPassword(path, "db-c", 1, "replication", "other"));
        Assert.Null(PgPassFile.FindPassword(path, "db-a", 5432, "replication", "nobody"));
        Assert.Null(PgPassFile.FindPassword(path + "-missing", "db-a", 5432, "replication", "repl"));
    }
}
