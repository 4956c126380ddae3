using PgDr.Connections;
using PgDr.Errors;

namespace PgDr.Hosting.Sandbox;

/// <summary>
/// A local multi-region topology on loopback: one directory, one data directory per node, a superuser
/// password kept in the directory's 0600 .pgpass. Users try PgDr on it; the tests use it as their fixture.
/// </summary>
public sealed class PgSandbox
{
    public const string Superuser = "postgres";
    public const string ReplicationUser = "pgdr_replicator";

    private readonly string _superuserPassword;

    internal PgSandbox(string directory, SandboxState state, PostgresBinaries binaries, OsUser runAs, string superuserPassword)
    {
        Directory = directory;
        State = state;
        Binaries = binaries;
        RunAs = runAs;
        _superuserPassword = superuserPassword;
        Nodes = state.Nodes.Select(n => new PgSandboxNode
        {
            Name = n.Name,
            Port = n.Port,
            DataDirectory = Path.Combine(directory, n.DataDirectory),
            UpstreamName = n.UpstreamName,
            SlotName = n.SlotName,
            Instance = new PgInstance("127.0.0.1", n.Port, username: Superuser, password: superuserPassword,
                sslMode: state.Tls ? PgSslMode.VerifyFull : null, rootCertificate: state.Tls ? Path.Combine(directory, SandboxTls.DirectoryName, SandboxTls.CaCertificateFile) : null),
        }).ToList();
    }

    public string Directory { get; }

    /// <summary>The password file every node's primary_conninfo and the tools use (PGPASSFILE).</summary>
    public string PasswordFile => Path.Combine(Directory, SandboxState.PasswordFileName);

    /// <summary>
    /// A PgDr configuration for the sandbox (pgdr.json): stanza "sandbox" and a filesystem repository in the sandbox
    /// directory, which keeps the single-writer lease (pgdr failover --config ...).
    /// </summary>
    public string ConfigPath => Path.Combine(Directory, SandboxState.ConfigFileName);

    /// <summary>The filesystem repository pgdr.json names.</summary>
    public string RepositoryPath => Path.Combine(Directory, SandboxState.RepositoryDirectoryName);

    public int PgMajorVersion => State.PgMajorVersion;

    /// <summary>Whether the nodes serve TLS only (New-PgDrSandbox -Tls).</summary>
    public bool Tls => State.Tls;

    /// <summary>The sandbox CA's certificate that verifies every node (sslrootcert); null without -Tls.</summary>
    public string? CaCertificate => State.Tls ? Path.Combine(Directory, SandboxTls.DirectoryName, SandboxTls.CaCertificateFile) : null;

    public IReadOnlyList<PgSandboxNode> Nodes { get; }

    /// <summary>The node the sandbox was built around (region-a).</summary>
    public PgSandboxNode Primary => Nodes[0];

    internal SandboxState State { get; }

    public PostgresBinaries Binaries { get; }

    public OsUser RunAs { get; }

    public PgSandboxNode Node(string name) =>
        Nodes.FirstOrDefault(n => string.Equals(n.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new PgDrNotFoundException(ErrorIds.SandboxNotFound, $"The sandbox in {Directory} has no node '{name}' (it has {string.Join(", ", Nodes.Select(n => n.Name))}).", name);

    /// <summary>The same node's instance with another user's credentials (to test a wrong password, say).</summary>
    public PgInstance Instance(string name) => Node(name).Instance;

    public LocalCluster Cluster(string name) => new(Binaries, Node(name).DataDirectory, RunAs);

    public Task StopNodeAsync(string name, StopMode mode, CancellationToken cancellationToken) => Cluster(name).StopAsync(mode, cancellationToken);

    public Task StartNodeAsync(string name, CancellationToken cancellationToken) => Cluster(name).StartAsync(cancellationToken);

    internal string SuperuserPassword => _superuserPassword;

    public override string ToString() => $"sandbox {Directory} ({string.Join(", ", Nodes.Select(n => n.Name))})";
}
