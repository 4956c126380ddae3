namespace PgDr.Connections;

/// <summary>TLS mode for a connection, with libpq's meanings (sslmode).</summary>
public enum PgSslMode
{
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCA,
    VerifyFull,
}
