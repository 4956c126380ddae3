using PgDr.Errors;

namespace PgDr.Hosting.Services;

/// <summary>
/// Which service controls a node, as a user names it (-Service, --service): <c>auto</c> (found on this host, the
/// default), <c>pg_ctl</c>, <c>systemd:postgresql@15-main</c> or <c>windows:postgresql-x64-15</c>.
/// </summary>
public sealed class PgServiceSpec
{
    /// <summary>Found on this host: a systemd unit or Windows service whose data directory matches, else pg_ctl.</summary>
    public static PgServiceSpec Auto { get; } = new();

    /// <summary>Null: discover it.</summary>
    public PgServiceKind? Kind { get; init; }

    /// <summary>The systemd unit or Windows service name; null for pg_ctl and for discovery.</summary>
    public string? Name { get; init; }

    /// <summary>PostgreSQL's bin directory for pg_ctl; found automatically otherwise.</summary>
    public string? BinDirectory { get; init; }

    /// <summary>The OS account pg_ctl runs the server as when PgDr runs as root (default postgres).</summary>
    public string? ServiceAccount { get; init; }

    /// <summary>Parses auto, pg_ctl, systemd:&lt;unit&gt;, windows:&lt;service&gt;; InvalidServiceSpec otherwise.</summary>
    public static PgServiceSpec Parse(string? text)
    {
        var value = text?.Trim() ?? string.Empty;
        var colon = value.IndexOf(':', StringComparison.Ordinal);
        var kind = (colon < 0 ? value : value[..colon]).ToLowerInvariant();
        var name = colon < 0 ? null : value[(colon + 1)..].Trim();
        return (kind, name) switch
        {
            ("" or "auto", null) => Auto,
            ("pg_ctl" or "pgctl", null) => new PgServiceSpec { Kind = PgServiceKind.PgCtl },
            ("systemd", { Length: > 0 }) => new PgServiceSpec { Kind = PgServiceKind.Systemd, Name = name },
            ("windows", { Length: > 0 }) => new PgServiceSpec { Kind = PgServiceKind.WindowsService, Name = name },
            _ => throw new PgDrArgumentException(
                ErrorIds.InvalidServiceSpec,
                $"'{value}' does not name a service: use auto, pg_ctl, systemd:<unit> (e.g. systemd:postgresql@15-main) or windows:<service>.",
                value),
        };
    }

    /// <summary>The same choice with the pg_ctl settings given.</summary>
    public PgServiceSpec With(string? binDirectory, string? serviceAccount) =>
        new() { Kind = Kind, Name = Name, BinDirectory = binDirectory ?? BinDirectory, ServiceAccount = serviceAccount ?? ServiceAccount };

    public override string ToString() => Kind switch
    {
        null => "auto",
        PgServiceKind.PgCtl => "pg_ctl",
        PgServiceKind.Systemd => "systemd:" + Name,
        _ => "windows:" + Name,
    };
}
