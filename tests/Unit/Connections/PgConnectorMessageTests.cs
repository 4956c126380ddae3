using Npgsql;
using PgDr.Connections;
using PgDr.Errors;

namespace PgDr.Tests.Connections;

/// <summary>What a missing password is reported as (the driver's message for it, as Npgsql raises it).</summary>
public sealed class PgConnectorMessageTests
{
    private static readonly NpgsqlException NoPassword = new("No password has been provided but the backend requires one (in SASL/SCRAM-SHA-256)");

    [Fact]
    public void A_missing_password_names_the_user_that_was_tried()
    {
        var ex = PgConnector.TranslateConnectFailure(PgInstance.Parse("postgresql://alice@db-a:5432"), NoPassword);

        Assert.Equal(ErrorIds.AuthenticationFailed, ex.ErrorId);
        Assert.Contains("'alice'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_user_it_names_the_one_PostgreSQL_clients_default_to()
    {
        var instance = PgInstance.Parse("db-a:5432");

        var ex = PgConnector.TranslateConnectFailure(instance, NoPassword);

        Assert.Contains($"'{PgConnector.EffectiveUser(instance)}'", ex.Message, StringComparison.Ordinal);
    }
}
