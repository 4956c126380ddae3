namespace PgDr.Hosting;

/// <summary>
/// libpq's connection defaults taken from the environment (PGPASSWORD, PGUSER, PGSSLMODE ...), which a server must not
/// inherit from whoever started it. The WAL receiver's libpq fills every keyword primary_conninfo leaves out from them,
/// and reads the password file only when no password is set: a demoted primary started by
/// <c>PGPASSWORD=... pgdr switchover</c> logged in to its new primary with the admin's password instead of the one in its
/// passfile, and never streamed. The admin's password would also stay in the postmaster's environment (/proc/PID/environ)
/// for as long as the server runs, and reach archive_command and restore_command.
/// </summary>
internal static class LibpqEnvironment
{
    /// <summary>The variables of libpq's "Environment Variables" (PostgreSQL 12-17), every one a client setting.</summary>
    public static readonly IReadOnlyList<string> Variables =
    [
        "PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGPASSFILE", "PGREQUIREAUTH",
        "PGCHANNELBINDING", "PGSERVICE", "PGSERVICEFILE", "PGOPTIONS", "PGAPPNAME", "PGSSLMODE", "PGREQUIRESSL",
        "PGSSLNEGOTIATION", "PGSSLCOMPRESSION", "PGSSLCERT", "PGSSLKEY", "PGSSLCERTMODE", "PGSSLROOTCERT", "PGSSLCRL",
        "PGSSLCRLDIR", "PGSSLSNI", "PGREQUIREPEER", "PGSSLMINPROTOCOLVERSION", "PGSSLMAXPROTOCOLVERSION", "PGGSSENCMODE",
        "PGKRBSRVNAME", "PGGSSLIB", "PGGSSDELEGATION", "PGCONNECT_TIMEOUT", "PGCLIENTENCODING", "PGTARGETSESSIONATTRS",
        "PGLOADBALANCEHOSTS", "PGDATESTYLE", "PGTZ", "PGGEQO",
    ];
}
