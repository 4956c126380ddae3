using System.Management.Automation;
using PgDr.Cmdlets.Completion;
using PgDr.Connections;

namespace PgDr.Cmdlets.Infrastructure;

/// <summary>
/// Base of the cmdlets that talk to nodes: -Instance takes host:port strings, URIs, connection strings or
/// node objects (by value or by their Instance property), and -Credential / -SslMode / -RootCertificate
/// / -ClientCertificate / -ClientKey apply to every instance that does not set them itself.
/// </summary>
public abstract class PgDrInstanceCmdlet : PgDrCmdlet
{
    /// <summary>
    /// The nodes: host:port, a postgresql:// URI, a connection string, or objects from Get-PgDrNode and the
    /// other PgDr commands.
    /// </summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(SandboxNodeCompleter))]
    public PgInstance[] Instance { get; set; } = [];

    /// <summary>User and password for the nodes; otherwise PGUSER/PGPASSWORD or the pgpass file apply.</summary>
    [Parameter]
    [Credential]
    public PSCredential? Credential { get; set; }

    /// <summary>TLS mode (libpq sslmode); by default TLS is used when the server offers it.</summary>
    [Parameter]
    public PgSslMode? SslMode { get; set; }

    /// <summary>Root certificate (PEM) that verifies the server, for -SslMode VerifyCA or VerifyFull.</summary>
    [Parameter]
    public string? RootCertificate { get; set; }

    /// <summary>Client certificate (PEM, libpq sslcert) to log in with where pg_hba.conf asks for cert authentication.</summary>
    [Parameter]
    public string? ClientCertificate { get; set; }

    /// <summary>Private key (PEM, unencrypted, libpq sslkey) of -ClientCertificate: a path, the key itself never leaves its file.</summary>
    [Parameter]
    public string? ClientKey { get; set; }

    /// <summary>The instance with this command's credential and TLS settings applied.</summary>
    protected PgInstance Resolve(PgInstance instance) => ApplyConnectionOptions(instance, Credential, SslMode, RootCertificate, ClientCertificate, ClientKey);
}
