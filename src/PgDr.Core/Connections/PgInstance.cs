using System.Globalization;
using System.Net;
using Npgsql;
using PgDr.Errors;
using PgDr.Topology;

namespace PgDr.Connections;

/// <summary>
/// How one PostgreSQL node is reached. The one parsing point for everything a user may type or pipe:
/// <c>host</c>, <c>host:port</c>, <c>[::1]:5432</c>, a URI (<c>postgresql://user@host:port/db</c>),
/// a libpq keyword/value string (<c>host=h port=5433 user=u</c>), an Npgsql connection string
/// (<c>Host=h;Port=5433</c>), or an object that already describes a node (PowerShell converts through
/// the constructors, as dbatools' DbaInstanceParameter does).
/// The password is held privately: it is never a property, never in <see cref="ToString"/>.
/// </summary>
public sealed class PgInstance : IEquatable<PgInstance>
{
    public const int DefaultPort = 5432;
    public const string DefaultDatabase = "postgres";

    private readonly string? _password;

    /// <summary>Parses any of the accepted forms; throws <see cref="PgDrArgumentException"/> (InvalidInstance) otherwise.</summary>
    public PgInstance(string instance) : this(Parse(instance))
    {
    }

    /// <summary>The instance a node object was read from (pipeline input).</summary>
    public PgInstance(PgNode node) : this(node?.Instance ?? throw new ArgumentNullException(nameof(node)))
    {
    }

    private PgInstance(PgInstance other)
        : this(other.Host, other.Port, other.Database, other.Username, other._password, other.SslMode, other.RootCertificate, other.ClientCertificate, other.ClientKey)
    {
    }

    public PgInstance(
        string host,
        int port = DefaultPort,
        string? database = null,
        string? username = null,
        string? password = null,
        PgSslMode? sslMode = null,
        string? rootCertificate = null,
        string? clientCertificate = null,
        string? clientKey = null)
    {
        if (string.IsNullOrWhiteSpace(host))
        {
            throw Invalid(host ?? string.Empty, "the host name is empty");
        }

        if (port is < 1 or > 65535)
        {
            throw Invalid($"{host}:{port}", "the port must be between 1 and 65535");
        }

        Host = host;
        Port = port;
        Database = string.IsNullOrEmpty(database) ? DefaultDatabase : database;
        Username = string.IsNullOrEmpty(username) ? null : username;
        _password = string.IsNullOrEmpty(password) ? null : password;
        SslMode = sslMode;
        RootCertificate = string.IsNullOrEmpty(rootCertificate) ? null : rootCertificate;
        ClientCertificate = string.IsNullOrEmpty(clientCertificate) ? null : clientCertificate;
        ClientKey = string.IsNullOrEmpty(clientKey) ? null : clientKey;
    }

    public string Host { get; }

    public int Port { get; }

    public string Database { get; }

    /// <summary>Null means: the environment decides (PGUSER, then the OS user name).</summary>
    public string? Username { get; }

    /// <summary>Null means: Npgsql's default (prefer TLS when offered).</summary>
    public PgSslMode? SslMode { get; }

    /// <summary>Path of the root certificate that verifies the server (sslrootcert).</summary>
    public string? RootCertificate { get; }

    /// <summary>
    /// Path of the client certificate (PEM) PgDr logs in with where pg_hba.conf asks for <c>cert</c> (sslcert). A standby
    /// made from this instance streams with it too: its CN must match the replication user, or a map must allow it.
    /// </summary>
    public string? ClientCertificate { get; }

    /// <summary>Path of the client certificate's private key (sslkey, PEM, unencrypted); a path only, never the key.</summary>
    public string? ClientKey { get; }

    /// <summary>Whether a password was given explicitly (otherwise PGPASSWORD / pgpass apply).</summary>
    public bool HasPassword => _password is not null;

    /// <summary>host:port, the name a node is shown by.</summary>
    public string Name => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";

    internal string? Password => _password;

    /// <summary>A copy with credentials replaced (a PSCredential from a cmdlet, say).</summary>
    public PgInstance WithCredential(string? username, string? password) =>
        new(Host, Port, Database, username ?? Username, password, SslMode, RootCertificate, ClientCertificate, ClientKey);

    /// <summary>A copy with TLS settings replaced where given.</summary>
    public PgInstance WithTls(PgSslMode? sslMode, string? rootCertificate, string? clientCertificate = null, string? clientKey = null) =>
        new(Host, Port, Database, Username, _password, sslMode ?? SslMode, rootCertificate ?? RootCertificate, clientCertificate ?? ClientCertificate, clientKey ?? ClientKey);

    /// <summary>A copy that reaches another host and port with the same database, credentials and TLS settings.</summary>
    public PgInstance WithAddress(string host, int port) =>
        new(host, port, Database, Username, _password, SslMode, RootCertificate, ClientCertificate, ClientKey);

    public PgInstance WithDatabase(string database) =>
        new(Host, Port, database, Username, _password, SslMode, RootCertificate, ClientCertificate, ClientKey);

    public override string ToString() => Name;

    public bool Equals(PgInstance? other) =>
        other is not null
        && string.Equals(Host, other.Host, StringComparison.OrdinalIgnoreCase)
        && Port == other.Port
        && Database == other.Database;

    public override bool Equals(object? obj) => Equals(obj as PgInstance);

    public override int GetHashCode() => HashCode.Combine(Host.ToUpperInvariant(), Port, Database);

    /// <summary>Parses one of the accepted textual forms.</summary>
    public static PgInstance Parse(string text)
    {
        var value = text?.Trim() ?? string.Empty;
        if (value.Length == 0)
        {
            throw Invalid(value, "it is empty");
        }

        if (value.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase)
            || value.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase))
        {
            return ParseUri(value);
        }

        if (value.Contains('=', StringComparison.Ordinal))
        {
            return value.Contains(';', StringComparison.Ordinal) ? ParseNpgsqlConnectionString(value) : ParseKeywordValue(value);
        }

        return ParseHostPort(value);
    }

    private static PgInstance ParseHostPort(string value)
    {
        if (value.StartsWith('['))
        {
            var close = value.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw Invalid(value, "the IPv6 address has no closing ']'");
            }

            var host = value[1..close];
            var rest = value[(close + 1)..];
            if (rest.Length == 0)
            {
                return new PgInstance(host, DefaultPort);
            }

            if (!rest.StartsWith(':'))
            {
                throw Invalid(value, "expected ':port' after the IPv6 address");
            }

            return new PgInstance(host, ParsePort(value, rest[1..]));
        }

        var colons = value.Count(c => c == ':');
        if (colons > 1)
        {
            // A bare IPv6 address: no port can be told apart from the address without brackets.
            return IPAddress.TryParse(value, out _) ? new PgInstance(value, DefaultPort) : throw Invalid(value, "write an IPv6 address with a port as [address]:port");
        }

        if (colons == 1)
        {
            var at = value.IndexOf(':', StringComparison.Ordinal);
            return new PgInstance(CheckHost(value, value[..at]), ParsePort(value, value[(at + 1)..]));
        }

        return new PgInstance(CheckHost(value, value), DefaultPort);
    }

    private static PgInstance ParseUri(string value)
    {
        // libpq URIs allow percent-encoded user names and passwords, and host lists we do not support.
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri))
        {
            throw Invalid(Redact(value), "it is not a valid postgresql:// URI");
        }

        if (string.IsNullOrEmpty(uri.Host))
        {
            throw Invalid(Redact(value), "the URI names no host");
        }

        string? user = null;
        string? password = null;
        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            var parts = uri.UserInfo.Split(':', 2);
            user = Uri.UnescapeDataString(parts[0]);
            password = parts.Length > 1 ? Uri.UnescapeDataString(parts[1]) : null;
        }

        var database = uri.AbsolutePath.Trim('/');
        var query = ParseQuery(uri.Query);
        query.TryGetValue("sslmode", out var ssl);
        query.TryGetValue("sslrootcert", out var rootCert);
        query.TryGetValue("sslcert", out var clientCert);
        query.TryGetValue("sslkey", out var clientKey);
        var host = uri.HostNameType == UriHostNameType.IPv6 ? uri.Host.Trim('[', ']') : uri.Host;
        return new PgInstance(
            host,
            uri.IsDefaultPort || uri.Port < 0 ? DefaultPort : uri.Port,
            string.IsNullOrEmpty(database) ? null : Uri.UnescapeDataString(database),
            user,
            password,
            ssl is null ? null : ParseSslMode(Redact(value), ssl),
            rootCert,
            clientCert,
            clientKey);
    }

    private static Dictionary<string, string> ParseQuery(string query)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var pair in query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = pair.Split('=', 2);
            result[Uri.UnescapeDataString(kv[0])] = kv.Length > 1 ? Uri.UnescapeDataString(kv[1]) : string.Empty;
        }

        return result;
    }

    private static PgInstance ParseKeywordValue(string value)
    {
        if (!ConnInfo.TryParse(value, out var pairs, out var error))
        {
            throw Invalid(Redact(value), error);
        }

        foreach (var (key, _) in pairs.Pairs)
        {
            if (!KnownKeywords.Contains(key))
            {
                throw Invalid(Redact(value), $"'{key}' is not a supported connection keyword");
            }
        }

        var host = pairs["host"];
        var port = pairs["port"];
        var ssl = pairs["sslmode"];
        return new PgInstance(
            string.IsNullOrEmpty(host) ? "localhost" : host,
            port is null ? DefaultPort : ParsePort(Redact(value), port),
            pairs["dbname"],
            pairs["user"],
            pairs["password"],
            ssl is null ? null : ParseSslMode(Redact(value), ssl),
            pairs["sslrootcert"],
            pairs["sslcert"],
            pairs["sslkey"]);
    }

    private static readonly HashSet<string> KnownKeywords = new(StringComparer.OrdinalIgnoreCase)
    {
        "host", "port", "dbname", "user", "password", "sslmode", "sslrootcert", "sslcert", "sslkey", "application_name", "connect_timeout",
    };

    private static PgInstance ParseNpgsqlConnectionString(string value)
    {
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(value);
        }
        catch (ArgumentException)
        {
            // The SDK's message may echo the string, password included.
            throw Invalid(Redact(value), "it is not a valid connection string");
        }

        if (string.IsNullOrEmpty(builder.Host))
        {
            throw Invalid(Redact(value), "the connection string names no Host");
        }

        // The builder reports a default SSL mode even when none was written; only an explicit one counts.
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = value };
        PgSslMode? ssl = given.ContainsKey("SSL Mode") || given.ContainsKey("SslMode")
            ? builder.SslMode switch
            {
                Npgsql.SslMode.Disable => PgSslMode.Disable,
                Npgsql.SslMode.Allow => PgSslMode.Allow,
                Npgsql.SslMode.Prefer => PgSslMode.Prefer,
                Npgsql.SslMode.Require => PgSslMode.Require,
                Npgsql.SslMode.VerifyCA => PgSslMode.VerifyCA,
                _ => PgSslMode.VerifyFull,
            }
            : null;
        return new PgInstance(builder.Host, builder.Port, builder.Database, builder.Username, builder.Password, ssl, builder.RootCertificate, builder.SslCertificate, builder.SslKey);
    }

    private static string CheckHost(string whole, string host)
    {
        if (host.Length == 0 || host.Any(c => char.IsWhiteSpace(c) || c is '/' or '\\' or '@' or ';' or '\'' or '"'))
        {
            throw Invalid(whole, "the host name is not valid");
        }

        if (host.All(char.IsAsciiDigit))
        {
            // "42" would resolve as the IPv4 address 0.0.0.42 (or go to DNS): a number alone is most likely a port, or an
            // integer piped in by mistake, and is never sent anywhere.
            throw Invalid(whole, $"a number alone is not a host; for port {host} on this machine write localhost:{host}");
        }

        return host;
    }

    private static int ParsePort(string whole, string port)
    {
        if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p is < 1 or > 65535)
        {
            throw Invalid(whole, $"'{port}' is not a port number (1-65535)");
        }

        return p;
    }

    /// <summary>Parses libpq's sslmode names (disable ... verify-full).</summary>
    public static PgSslMode ParseSslMode(string mode) => ParseSslMode(mode, mode);

    private static PgSslMode ParseSslMode(string whole, string mode) => mode.ToLowerInvariant() switch
    {
        "disable" => PgSslMode.Disable,
        "allow" => PgSslMode.Allow,
        "prefer" => PgSslMode.Prefer,
        "require" => PgSslMode.Require,
        "verify-ca" or "verifyca" => PgSslMode.VerifyCA,
        "verify-full" or "verifyfull" => PgSslMode.VerifyFull,
        _ => throw Invalid(whole, $"'{mode}' is not an sslmode (disable, allow, prefer, require, verify-ca, verify-full)"),
    };

    /// <summary>Removes anything that looks like a password before text goes into a message.</summary>
    internal static string Redact(string value)
    {
        var redacted = System.Text.RegularExpressions.Regex.Replace(
            value, @"(?i)(password\s*=\s*)('[^']*'|[^;\s]*)", "$1***");
        return System.Text.RegularExpressions.Regex.Replace(redacted, @"(?i)(postgres(?:ql)?://[^:/@]*:)[^@]*@", "$1***@");
    }

    private static PgDrArgumentException Invalid(string value, string why) =>
        new(ErrorIds.InvalidInstance, $"'{value}' is not a PostgreSQL instance: {why}.", value);
}
