using System.CommandLine;
using PgDr.Connections;

namespace PgDr.Cli.Commands;

/// <summary>Options shared by the commands that talk to nodes.</summary>
internal static class CommonOptions
{
    public static readonly Option<bool> Json = new("--json")
    {
        Description = "Write the result objects as JSON instead of a table.",
        Recursive = true,
    };

    public static readonly Option<string?> User = new("--user", "-U")
    {
        Description = "User name, for instances that name none (default: PGUSER, then the OS user). The password comes from PGPASSWORD or the pgpass file (PGPASSFILE), never from the command line.",
        Recursive = true,
    };

    public static readonly Option<string?> SslMode = new("--sslmode")
    {
        Description = "TLS mode: disable, allow, prefer, require, verify-ca, verify-full.",
        Recursive = true,
    };

    public static readonly Option<string?> SslRootCert = new("--sslrootcert")
    {
        Description = "Root certificate that verifies the server.",
        Recursive = true,
    };

    public static readonly Option<string?> SslCert = new("--sslcert")
    {
        Description = "Client certificate (PEM) to log in with where pg_hba.conf asks for cert authentication.",
        Recursive = true,
    };

    public static readonly Option<string?> SslKey = new("--sslkey")
    {
        Description = "Private key file (PEM, unencrypted, mode 0600) of --sslcert.",
        Recursive = true,
    };

    public static Argument<string[]> Instances() => new("instance")
    {
        Description = "Nodes as host:port, a postgresql:// URI, or a connection string.",
        Arity = ArgumentArity.OneOrMore,
    };

    public static Argument<string> Instance() => new("instance")
    {
        Description = "The node as host:port, a postgresql:// URI, or a connection string.",
    };

    public static void AddConnectionOptions(Command command)
    {
        command.Options.Add(User);
        command.Options.Add(SslMode);
        command.Options.Add(SslRootCert);
        command.Options.Add(SslCert);
        command.Options.Add(SslKey);
    }

    /// <summary>Parses an instance argument and applies --user / --sslmode / --sslrootcert / --sslcert / --sslkey.</summary>
    public static PgInstance ToInstance(ParseResult parse, string text)
    {
        var instance = PgInstance.Parse(text);
        if (parse.GetValue(User) is { } user && instance.Username is null)
        {
            instance = instance.WithCredential(user, null);
        }

        var ssl = parse.GetValue(SslMode) is { } mode ? PgInstance.ParseSslMode(mode) : (PgSslMode?)null;
        return instance.WithTls(instance.SslMode ?? ssl, FullPath(parse.GetValue(SslRootCert)), FullPath(parse.GetValue(SslCert)), FullPath(parse.GetValue(SslKey)));
    }

    // Absolute, as they go into primary_conninfo, which the server resolves from its own data directory.
    private static string? FullPath(string? path) => path is null ? null : Path.GetFullPath(path);
}
