using PgDr.Connections;
using PgDr.Errors;
using PgDr.Replication;

namespace PgDr.Tests.Replication;

public sealed class PrimaryConnInfoTests
{
    [Fact]
    public void Values_with_spaces_quotes_and_backslashes_survive_a_round_trip()
    {
        var written = new ConnInfo { ["host"] = "db-a", ["passfile"] = @"/srv/pg dr/it's\here", ["application_name"] = "region-b" };
        Assert.True(ConnInfo.TryParse(written.ToString(), out var read, out _));
        Assert.Equal(written.Pairs, read.Pairs);
    }

    [Theory]
    [InlineData("host=a port", "expected key=value pairs")]
    [InlineData("host='a", "a quoted value is not closed")]
    [InlineData("=a", "a key is empty")]
    public void Malformed_text_is_refused_with_the_reason(string text, string reason)
    {
        Assert.False(ConnInfo.TryParse(text, out _, out var error));
        Assert.Equal(reason, error);
    }

    [Fact]
    public void A_standby_conninfo_names_the_password_file_and_keepalives_and_no_password()
    {
        var upstream = new PgInstance("db-a.example", 5433, sslMode: PgSslMode.VerifyFull, rootCertificate: "/etc/pgdr/ca.pem");
        var conninfo = PrimaryConnInfo.Build(upstream, "replicator", "/var/lib/postgresql/.pgpass", "region-b");
        Assert.Equal("db-a.example", conninfo["host"]);
        Assert.Equal("5433", conninfo["port"]);
        Assert.Equal("replicator", conninfo["user"]);
        Assert.Equal("/var/lib/postgresql/.pgpass", conninfo["passfile"]);
        Assert.Equal("verify-full", conninfo["sslmode"]);
        Assert.Equal("/etc/pgdr/ca.pem", conninfo["sslrootcert"]);
        Assert.Equal(("60", "10", "6"), (conninfo["keepalives_idle"], conninfo["keepalives_interval"], conninfo["keepalives_count"]));
        Assert.Null(conninfo["password"]);
    }

    [Fact]
    public void A_client_certificate_goes_into_the_standby_conninfo_as_paths_with_no_password()
    {
        var upstream = new PgInstance("db-a", 5432, username: "replicator", sslMode: PgSslMode.VerifyFull, rootCertificate: "/etc/pgdr/ca.pem", clientCertificate: "/etc/pgdr/replicator.crt", clientKey: "/etc/pgdr/replicator.key");
        var conninfo = PrimaryConnInfo.Build(upstream, "replicator", null, "region-b");
        Assert.Equal("/etc/pgdr/replicator.crt", conninfo["sslcert"]);
        Assert.Equal("/etc/pgdr/replicator.key", conninfo["sslkey"]);
        Assert.Null(conninfo["passfile"]);
        Assert.Null(conninfo["password"]);

        // A repointed standby keeps its certificate.
        var repointed = PrimaryConnInfo.Repoint(conninfo.ToString(), new PgInstance("db-b", 5432));
        Assert.Equal(("db-b", "/etc/pgdr/replicator.crt", "/etc/pgdr/replicator.key"), (repointed["host"], repointed["sslcert"], repointed["sslkey"]));
    }

    [Fact]
    public void An_upstream_with_a_password_and_no_password_file_is_refused()
    {
        var upstream = new PgInstance("db-a", 5432, username: "postgres", password: "s3cret-Pw");
        var ex = Assert.Throws<PgDrArgumentException>(() => PrimaryConnInfo.Build(upstream, "replicator", null, "region-b"));
        Assert.Equal(ErrorIds.InvalidInstance, ex.ErrorId);
        Assert.DoesNotContain("s3cret-Pw", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Repointing_changes_host_and_port_and_keeps_everything_else()
    {
        var before = "host=10.0.0.1 hostaddr=10.0.0.1 port=5432 user=replicator passfile='/p/.pgpass' sslmode=require application_name=region-c";
        var after = PrimaryConnInfo.Repoint(before, new PgInstance("10.0.0.2", 6432));
        Assert.Equal("10.0.0.2", after["host"]);
        Assert.Equal("6432", after["port"]);
        Assert.Null(after["hostaddr"]);
        Assert.Equal(("replicator", "/p/.pgpass", "require", "region-c"), (after["user"], after["passfile"], after["sslmode"], after["application_name"]));
        Assert.Equal("60", after["keepalives_idle"]);
    }
}
