using PgDr.Connections;
using PgDr.Errors;

namespace PgDr.Tests.Connections;

/// <summary>The one parsing point for instances, as dbatools tests DbaInstanceParameter: every accepted form and every refusal.</summary>
public sealed class PgInstanceTests
{
    [Theory]
    [InlineData("db1", "db1", 5432)]
    [InlineData("db1:5433", "db1", 5433)]
    [InlineData("  db1:5433 ", "db1", 5433)]
    [InlineData("10.0.0.7:6432", "10.0.0.7", 6432)]
    [InlineData("[::1]:5434", "::1", 5434)]
    [InlineData("[fe80::1]", "fe80::1", 5432)]
    [InlineData("::1", "::1", 5432)]
    [InlineData("db.example.com", "db.example.com", 5432)]
    public void Host_and_port_forms(string text, string host, int port)
    {
        var instance = new PgInstance(text);

        Assert.Equal(host, instance.Host);
        Assert.Equal(port, instance.Port);
        Assert.Equal("postgres", instance.Database);
        Assert.Null(instance.Username);
        Assert.False(instance.HasPassword);
    }

    [Fact]
    public void Uri_form_carries_user_password_database_and_tls()
    {
        var instance = new PgInstance("postgresql://app%40corp:s%3Acret@db1:5433/sales?sslmode=verify-full&sslrootcert=/etc/ca.pem");

        Assert.Equal("db1", instance.Host);
        Assert.Equal(5433, instance.Port);
        Assert.Equal("sales", instance.Database);
        Assert.Equal("app@corp", instance.Username);
        Assert.Equal("s:cret", instance.Password);
        Assert.Equal(PgSslMode.VerifyFull, instance.SslMode);
        Assert.Equal("/etc/ca.pem", instance.RootCertificate);
    }

    [Theory]
    [InlineData("postgresql://ops@db1/postgres?sslmode=verify-full&sslcert=/etc/pgdr/ops.crt&sslkey=/etc/pgdr/ops.key")]
    [InlineData("host=db1 user=ops sslmode=verify-full sslcert=/etc/pgdr/ops.crt sslkey=/etc/pgdr/ops.key")]
    [InlineData("Host=db1;Username=ops;SSL Mode=VerifyFull;SSL Certificate=/etc/pgdr/ops.crt;SSL Key=/etc/pgdr/ops.key")]
    public void Every_form_carries_a_client_certificate_and_copies_keep_it(string text)
    {
        var instance = PgInstance.Parse(text);

        Assert.Equal(("/etc/pgdr/ops.crt", "/etc/pgdr/ops.key"), (instance.ClientCertificate, instance.ClientKey));
        var moved = instance.WithAddress("db2", 5433).WithCredential("other", null).WithDatabase("sales").WithTls(null, "/etc/pgdr/ca.pem");
        Assert.Equal(("/etc/pgdr/ops.crt", "/etc/pgdr/ops.key"), (moved.ClientCertificate, moved.ClientKey));
    }

    [Fact]
    public void Uri_with_ipv6_host_and_default_port()
    {
        var instance = new PgInstance("postgres://[::1]/db");

        Assert.Equal("::1", instance.Host);
        Assert.Equal(5432, instance.Port);
        Assert.Equal("[::1]:5432", instance.Name);
    }

    [Fact]
    public void Libpq_keyword_value_form_with_quoted_values()
    {
        var instance = new PgInstance("host=db2 port=5440 dbname='my db' user=ops password='it\\'s' sslmode=require");

        Assert.Equal("db2", instance.Host);
        Assert.Equal(5440, instance.Port);
        Assert.Equal("my db", instance.Database);
        Assert.Equal("ops", instance.Username);
        Assert.Equal(PgSslMode.Require, instance.SslMode);
        Assert.Equal("it's", instance.Password);
    }

    [Fact]
    public void Npgsql_connection_string_form()
    {
        var instance = new PgInstance("Host=db3;Port=5441;Database=inventory;Username=svc;Password=pw;SSL Mode=VerifyCA");

        Assert.Equal("db3", instance.Host);
        Assert.Equal(5441, instance.Port);
        Assert.Equal("inventory", instance.Database);
        Assert.Equal("svc", instance.Username);
        Assert.Equal("pw", instance.Password);
        Assert.Equal(PgSslMode.VerifyCA, instance.SslMode);
    }

    [Fact]
    public void Npgsql_connection_string_without_ssl_mode_leaves_it_to_the_default()
    {
        Assert.Null(new PgInstance("Host=db3;Port=5441").SslMode);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("db1:")]
    [InlineData("db1:0")]
    [InlineData("db1:70000")]
    [InlineData("db1:54x")]
    [InlineData("[::1")]
    [InlineData("[::1]5432")]
    [InlineData("db 1")]
    [InlineData("../etc/passwd")]
    [InlineData("host=db port=abc")]
    [InlineData("host=db bogus=1")]
    [InlineData("host='db")]
    [InlineData("host=db sslmode=sometimes")]
    [InlineData("Host=;Port=1")]
    [InlineData("postgresql://")]
    public void Malformed_instances_are_refused_with_InvalidInstance(string text)
    {
        var ex = Assert.Throws<PgDrArgumentException>(() => PgInstance.Parse(text));

        Assert.Equal(ErrorIds.InvalidInstance, ex.ErrorId);
    }

    [Theory]
    [InlineData("42")]
    [InlineData("5432")]
    [InlineData("42:5432")]
    public void A_number_alone_is_never_taken_for_a_host(string text)
    {
        // "42" would resolve as 0.0.0.42 (what `42 | Get-PgDrNode` once connected to).
        var ex = Assert.Throws<PgDrArgumentException>(() => PgInstance.Parse(text));

        Assert.Equal(ErrorIds.InvalidInstance, ex.ErrorId);
        Assert.Contains("localhost:", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("host=db password=hunter2 port=x", "hunter2")]
    [InlineData("postgresql://u:hunter2@db:99999/x", "hunter2")]
    [InlineData("Host=db;Password=hunter2;Port=abc", "hunter2")]
    public void A_refused_instance_never_echoes_its_password(string text, string password)
    {
        var ex = Assert.ThrowsAny<PgDrException>(() => PgInstance.Parse(text));

        Assert.DoesNotContain(password, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(password, ex.Target?.ToString() ?? string.Empty, StringComparison.Ordinal);
    }

    [Fact]
    public void The_password_is_no_property_and_not_in_ToString()
    {
        var instance = new PgInstance("postgresql://u:hunter2@db:5432/x");

        Assert.DoesNotContain("hunter2", instance.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(typeof(PgInstance).GetProperties(), p => p.GetMethod?.IsPublic == true && p.Name.Contains("Password", StringComparison.Ordinal) && p.PropertyType == typeof(string));
    }

    [Fact]
    public void WithCredential_and_WithTls_replace_only_what_they_name()
    {
        var instance = new PgInstance("db1:5433").WithCredential("ops", "pw").WithTls(PgSslMode.Require, null);

        Assert.Equal("ops", instance.Username);
        Assert.True(instance.HasPassword);
        Assert.Equal(PgSslMode.Require, instance.SslMode);
        Assert.Equal(5433, instance.Port);
    }

    [Fact]
    public void Instances_equal_by_host_port_and_database_not_by_credentials()
    {
        Assert.Equal(new PgInstance("DB1:5433"), new PgInstance("postgresql://u:p@db1:5433/postgres"));
        Assert.NotEqual(new PgInstance("db1:5433"), new PgInstance("db1:5434"));
    }
}
