using System.Globalization;
using PgDr.Connections;
using PgDr.Errors;

namespace PgDr.Replication;

/// <summary>
/// The primary_conninfo a standby streams with, written the same way wherever PgDr makes or repoints a standby (the
/// sandbox, New-PgStandby, switchover, failover, rejoin, a restore as standby). It never holds a password: the
/// password lives in a 0600 password file named by passfile (what pg_basebackup -R would otherwise copy into
/// postgresql.auto.conf), and it carries TLS settings and the keepalives a long-haul link needs.
/// </summary>
public static class PrimaryConnInfo
{
    /// <summary>
    /// TCP keepalives for links between regions: a link that died silently (a NAT or firewall dropped its state) is
    /// noticed after 60 s idle + 6 probes 10 s apart, 2 minutes, instead of the kernel's default of over 2 hours.
    /// wal_receiver_timeout catches a stalled stream as well, but only while the standby expects data.
    /// </summary>
    public static readonly IReadOnlyList<KeyValuePair<string, string>> Keepalives =
    [
        new("keepalives", "1"),
        new("keepalives_idle", "60"),
        new("keepalives_interval", "10"),
        new("keepalives_count", "6"),
    ];

    /// <summary>
    /// primary_conninfo for streaming from <paramref name="upstream"/> as <paramref name="user"/>. The upstream's
    /// password, if it carries one, is refused rather than written: callers put it in <paramref name="passwordFile"/>.
    /// </summary>
    public static ConnInfo Build(PgInstance upstream, string user, string? passwordFile, string applicationName)
    {
        ArgumentNullException.ThrowIfNull(upstream);
        if (upstream.HasPassword && passwordFile is null)
        {
            throw new PgDrArgumentException(
                ErrorIds.InvalidInstance,
                $"A standby's primary_conninfo never holds a password; name a password file for {upstream} instead.",
                upstream);
        }

        var conninfo = new ConnInfo
        {
            ["host"] = upstream.Host,
            ["port"] = upstream.Port.ToString(CultureInfo.InvariantCulture),
            ["user"] = user,
            ["application_name"] = applicationName,
        };
        if (passwordFile is not null)
        {
            conninfo["passfile"] = passwordFile;
        }

        if (upstream.SslMode is { } ssl)
        {
            conninfo["sslmode"] = LibpqSslMode(ssl);
        }

        if (upstream.RootCertificate is not null)
        {
            conninfo["sslrootcert"] = upstream.RootCertificate;
        }

        // Paths only: the key stays in its own file, which the service account must own (libpq refuses a key others can read).
        if (upstream.ClientCertificate is not null)
        {
            conninfo["sslcert"] = upstream.ClientCertificate;
        }

        if (upstream.ClientKey is not null)
        {
            conninfo["sslkey"] = upstream.ClientKey;
        }

        foreach (var (key, value) in Keepalives)
        {
            conninfo[key] = value;
        }

        return conninfo;
    }

    /// <summary>
    /// The same conninfo pointed at another upstream (after a failover or switchover): host and port change, the
    /// user, password file, TLS settings, application_name and keepalives stay; keepalives are added if missing.
    /// </summary>
    public static ConnInfo Repoint(string existing, PgInstance newUpstream)
    {
        ArgumentNullException.ThrowIfNull(newUpstream);
        if (!ConnInfo.TryParse(existing ?? string.Empty, out var conninfo, out var error))
        {
            throw new PgDrArgumentException(ErrorIds.InvalidInstance, $"The standby's primary_conninfo cannot be read: {error}.", PgInstance.Redact(existing ?? string.Empty));
        }

        conninfo["host"] = newUpstream.Host;
        conninfo["port"] = newUpstream.Port.ToString(CultureInfo.InvariantCulture);
        conninfo["hostaddr"] = null;
        foreach (var (key, value) in Keepalives)
        {
            conninfo[key] ??= value;
        }

        return conninfo;
    }

    /// <summary>libpq's name for a TLS mode (sslmode=verify-full ...).</summary>
    public static string LibpqSslMode(PgSslMode mode) => mode switch
    {
        PgSslMode.Disable => "disable",
        PgSslMode.Allow => "allow",
        PgSslMode.Prefer => "prefer",
        PgSslMode.Require => "require",
        PgSslMode.VerifyCA => "verify-ca",
        _ => "verify-full",
    };
}
