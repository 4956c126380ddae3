using PgDr.Connections;

namespace PgDr.Diagnostics;

/// <summary>
/// Judges who may connect and how: a replication role that is not a superuser, pg_hba.conf rules for replication that
/// name addresses and use scram-sha-256 (trust, password and md5 flagged), and TLS for client and replication
/// connections. Pure, over <see cref="NodeFacts"/>.
/// </summary>
internal static class AccessChecks
{
    private const PgDrCheckArea Area = PgDrCheckArea.Access;

    /// <summary>TLS versions older than this are refused by current libssl builds on the other end, or broken.</summary>
    private static readonly string[] WeakTlsVersions = ["TLSv1", "TLSv1.1"];

    public static IEnumerable<PgDrCheck> Judge(NodeFacts facts, CheckWriter w)
    {
        if (facts.IsPrimary)
        {
            yield return facts.ReplicationRoles.Count > 0
                ? w.Pass(Area, CheckIds.ReplicationRole, $"roles with REPLICATION and LOGIN: {string.Join(", ", facts.ReplicationRoles)}")
                : w.Warn(Area, CheckIds.ReplicationRole, "no role but superusers may replicate: standbys must then stream as a superuser",
                    "CREATE ROLE replicator WITH LOGIN REPLICATION PASSWORD '...' (from a password manager) and stream as it.");
        }

        if (facts.HbaRules is null)
        {
            yield return w.Warn(Area, CheckIds.HbaAuthentication, $"pg_hba.conf not checked: {facts.HbaUnreadable}",
                "Run the check as a superuser (or GRANT SELECT ON pg_hba_file_rules) to have pg_hba.conf judged.");
        }
        else
        {
            yield return HbaAuthentication(facts.HbaRules, w);
            yield return HbaReplication(facts.HbaRules, w);
        }

        yield return facts.Setting("password_encryption") == "md5"
            ? w.Warn(Area, CheckIds.PasswordEncryption, "password_encryption = md5: new passwords are stored as MD5 hashes, which scram-sha-256 rules refuse",
                "ALTER SYSTEM SET password_encryption = 'scram-sha-256', reload, then set each password again.")
            : w.Pass(Area, CheckIds.PasswordEncryption, $"password_encryption = {facts.Setting("password_encryption") ?? "unreadable"}");

        yield return Tls(facts, w);
        foreach (var check in ReplicationTls(facts, w))
        {
            yield return check;
        }
    }

    private static PgDrCheck HbaAuthentication(IReadOnlyList<HbaRule> rules, CheckWriter w)
    {
        var broken = rules.Where(r => r.Error is not null).ToList();
        var network = rules.Where(r => r.Type.StartsWith("host", StringComparison.Ordinal)).ToList();
        var open = network.Where(r => r.Method is "trust" or "password").ToList();
        var md5 = network.Where(r => r.Method == "md5").ToList();
        if (broken.Count > 0 || open.Count > 0)
        {
            var lines = broken.Select(r => $"line {r.Line}: {r.Error}").Concat(open.Select(r => $"{r}: {(r.Method == "trust" ? "no password at all" : "the password in plain text")}"));
            return w.Fail(Area, CheckIds.HbaAuthentication, "pg_hba.conf " + string.Join("; ", lines),
                "Use scram-sha-256 (or cert) on every host rule and correct the lines in error; SELECT pg_reload_conf().");
        }

        return md5.Count > 0
            ? w.Warn(Area, CheckIds.HbaAuthentication, "pg_hba.conf " + string.Join("; ", md5.Select(r => $"{r}: MD5 challenge, weaker than SCRAM")),
                "Replace md5 with scram-sha-256 once every password is stored as SCRAM (password_encryption = scram-sha-256).")
            : w.Pass(Area, CheckIds.HbaAuthentication, $"{network.Count} host rule(s), none with trust, password or md5");
    }

    private static PgDrCheck HbaReplication(IReadOnlyList<HbaRule> rules, CheckWriter w)
    {
        var replication = rules.Where(r => r.IsReplication && r.Type.StartsWith("host", StringComparison.Ordinal)).ToList();
        if (replication.Count == 0)
        {
            return w.Warn(Area, CheckIds.HbaReplication, "no host rule in pg_hba.conf admits replication connections: no standby can stream from this node",
                "Add 'hostssl replication <role> <standby address>/32 scram-sha-256' to pg_hba.conf; SELECT pg_reload_conf().");
        }

        var everywhere = replication.Where(r => r.Address is "all" or "0.0.0.0/0" or "::/0" || (r.Netmask is "0.0.0.0" or "::")).ToList();
        return everywhere.Count > 0
            ? w.Warn(Area, CheckIds.HbaReplication, "replication open to every address: " + string.Join("; ", everywhere),
                "Restrict each replication rule to the standbys' addresses (a /32 or /128 per standby).")
            : w.Pass(Area, CheckIds.HbaReplication, string.Join("; ", replication));
    }

    private static PgDrCheck Tls(NodeFacts facts, CheckWriter w)
    {
        var connection = facts.ConnectionTls is null ? "this connection is not encrypted" : $"this connection uses {facts.ConnectionTls}";
        if (facts.Setting("ssl") != "on")
        {
            return w.Warn(Area, CheckIds.Tls, $"ssl = off: clients and standbys send passwords and data in plain text ({connection})",
                "Give the server a certificate (ssl_cert_file, ssl_key_file), ALTER SYSTEM SET ssl = on, reload, and connect with sslmode=verify-full.");
        }

        var minimum = facts.Setting("ssl_min_protocol_version") ?? "unreadable";
        return WeakTlsVersions.Contains(minimum) || (facts.ConnectionTls is { } used && WeakTlsVersions.Contains(used))
            ? w.Warn(Area, CheckIds.Tls, $"ssl = on, ssl_min_protocol_version = {minimum} ({connection}): TLS 1.0/1.1 are broken and refused by current libssl on the other end",
                "ALTER SYSTEM SET ssl_min_protocol_version = 'TLSv1.2'; SELECT pg_reload_conf().")
            : w.Pass(Area, CheckIds.Tls, $"ssl = on, ssl_min_protocol_version = {minimum}, {connection}");
    }

    private static IEnumerable<PgDrCheck> ReplicationTls(NodeFacts facts, CheckWriter w)
    {
        foreach (var sender in facts.Senders)
        {
            yield return sender.Ssl
                ? w.Pass(Area, CheckIds.ReplicationTls, $"the stream to {sender.ApplicationName} uses {sender.Version}", sender.ApplicationName)
                : w.Warn(Area, CheckIds.ReplicationTls, $"the stream to {sender.ApplicationName} is not encrypted",
                    "Turn ssl on here and give the standby sslmode=verify-full and sslrootcert in primary_conninfo (New-PgStandby -SslMode VerifyFull -RootCertificate).",
                    sender.ApplicationName);
        }

        if (!facts.IsPrimary && facts.Setting("primary_conninfo") is { Length: > 0 } text && ConnInfo.TryParse(text, out var conninfo, out _))
        {
            var mode = conninfo["sslmode"] ?? "prefer";
            yield return mode is "verify-full" or "verify-ca"
                ? w.Pass(Area, CheckIds.ReplicationTls, $"primary_conninfo sslmode={mode}: the upstream's certificate is checked", "upstream")
                : w.Warn(Area, CheckIds.ReplicationTls, $"primary_conninfo sslmode={mode}: the stream may run unencrypted or to an impostor",
                    "Set sslmode=verify-full and sslrootcert in primary_conninfo (New-PgStandby -SslMode VerifyFull -RootCertificate).", "upstream");
        }
    }
}
