using System.Management.Automation;
using PgDr.Cmdlets.Completion;
using PgDr.Cmdlets.Infrastructure;
using PgDr.Connections;
using PgDr.Hosting.Services;
using PgDr.Replication.Standby;

namespace PgDr.Cmdlets.Replication;

/// <summary>
/// <para type="synopsis">Builds a standby on this host from a primary or from another standby (a cascade), starts it and waits until it streams.</para>
/// <para type="description">Runs pg_basebackup -S slot -X stream -c fast as the PostgreSQL service account, writes primary_conninfo with a
/// password file (never the password itself), TLS settings and keepalives for a long-haul link, hot_standby, wal_log_hints when the
/// upstream has no data checksums, and with -ConfigPath a restore_command that fetches from the WAL archive (pgdr wal fetch). Shows the
/// copy's progress in bytes of the upstream's size. A data directory that is not empty is refused unless -Force, which sets it aside and
/// deletes it only once the new standby streams. Every check runs before the first change; a failure takes back what this call did
/// (the slot it created, the files it wrote, the server it started) and nothing else. -WhatIf lists the changes and makes none, not even
/// the slot. Returns the new node with the time of each step; it pipes into Get-PgReplicationLag.</para>
/// <example><code>$repl = Get-Credential pgdr_replicator
/// New-PgStandby db-a:5432 -DataDirectory /var/lib/postgresql/15/main -Name region-b -CreateSlot -Credential $admin -ReplicationCredential $repl -SslMode VerifyFull -RootCertificate /etc/pgdr/root.crt -ConfigPath /etc/pgdr/pgdr.json |
///     Get-PgReplicationLag</code></example>
/// <example><code>New-PgStandby db-b:5432 -DataDirectory /srv/pg/cascade -Name region-b2 -CreateSlot -Port 5433 -WhatIf</code></example>
/// </summary>
[Cmdlet(VerbsCommon.New, "PgStandby", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(PgStandby))]
[PgDrCliCommand("standby create")]
public sealed class NewPgStandbyCommand : PgDrCmdlet
{
    /// <summary>
    /// The upstream to copy and stream from: the primary, or a standby for a cascade (host:port, a URI, a connection string,
    /// or a node object such as Get-PgDrNode's or another New-PgStandby's, by its Instance).
    /// </summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    [ArgumentCompleter(typeof(SandboxNodeCompleter))]
    public PgInstance? Instance { get; set; }

    /// <summary>The standby's data directory: new or empty unless -Force.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string DataDirectory { get; set; } = string.Empty;

    /// <summary>The standby's name: application_name (what synchronous_standby_names names) and cluster_name. Default: this host's name.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = Environment.MachineName.ToLowerInvariant();

    /// <summary>The replication slot on the upstream; default: made from -Name (region-b: region_b).</summary>
    [Parameter]
    [ArgumentCompleter(typeof(SlotNameCompleter))]
    public string? SlotName { get; set; }

    /// <summary>Create the slot on the upstream; without it the slot must exist and be unused.</summary>
    [Parameter]
    public SwitchParameter CreateSlot { get; set; }

    /// <summary>User and password for the SQL checks on the upstream; otherwise PGUSER/PGPASSWORD or the pgpass file apply.</summary>
    [Parameter]
    [Credential]
    public PSCredential? Credential { get; set; }

    /// <summary>The role the standby replicates as; its password goes only into the 0600 password file. Default: -Credential.</summary>
    [Parameter]
    [Credential]
    public PSCredential? ReplicationCredential { get; set; }

    /// <summary>The password file primary_conninfo names: written with -ReplicationCredential (default: beside the data directory), else it must already hold the entry.</summary>
    [Parameter]
    public string? PasswordFile { get; set; }

    /// <summary>The port the standby listens on; default: the upstream's setting, copied with the data.</summary>
    [Parameter]
    [ValidateRange(1, 65535)]
    public int? Port { get; set; }

    /// <summary>A PgDr configuration file: restore_command fetches WAL from its archive when streaming falls behind.</summary>
    [Parameter]
    public string? ConfigPath { get; set; }

    /// <summary>The pgdr restore_command runs (default: pgdr on PATH); the PostgreSQL service account must be able to run it.</summary>
    [Parameter]
    public string? PgDrPath { get; set; }

    /// <summary>The system identifier the upstream must have (Get-PgDrNode shows it): refuses a node of another cluster.</summary>
    [Parameter]
    public ulong? SystemIdentifier { get; set; }

    /// <summary>What starts the standby: auto (a systemd unit or Windows service whose data directory matches, else pg_ctl), pg_ctl, systemd:&lt;unit&gt; or windows:&lt;service&gt;.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Service { get; set; } = "auto";

    /// <summary>PostgreSQL's bin directory (pg_basebackup, pg_ctl); found automatically otherwise.</summary>
    [Parameter]
    public string? BinDirectory { get; set; }

    /// <summary>The OS account PostgreSQL runs as when PgDr runs as root (default postgres).</summary>
    [Parameter]
    public string? ServiceAccount { get; set; }

    /// <summary>TLS mode for the upstream, used by the checks, pg_basebackup and primary_conninfo alike.</summary>
    [Parameter]
    public PgSslMode? SslMode { get; set; }

    /// <summary>Root certificate (PEM) that verifies the upstream, for -SslMode VerifyCA or VerifyFull; it must be readable by the service account.</summary>
    [Parameter]
    public string? RootCertificate { get; set; }

    /// <summary>How long the started standby may take to stream (default 2 minutes).</summary>
    [Parameter]
    public TimeSpan StreamingTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Replace a data directory that is not empty (and stop the server running in it): it is set aside and deleted once the new standby streams.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        StandbyRequest request;
        try
        {
            request = new StandbyRequest
            {
                Upstream = ApplyConnectionOptions(Instance!, Credential, SslMode, RootCertificate),
                DataDirectory = GetUnresolvedProviderPathFromPSPath(DataDirectory),
                Name = Name,
                SlotName = SlotName,
                CreateSlot = CreateSlot,
                ReplicationUser = ReplicationCredential?.UserName,
                ReplicationPassword = ReplicationCredential?.GetNetworkCredential().Password,
                PasswordFile = PasswordFile is null ? null : GetUnresolvedProviderPathFromPSPath(PasswordFile),
                Port = Port,
                ConfigPath = ConfigPath is null ? null : GetUnresolvedProviderPathFromPSPath(ConfigPath),
                PgDrPath = PgDrPath is null ? null : GetUnresolvedProviderPathFromPSPath(PgDrPath),
                SystemIdentifier = SystemIdentifier,
                Service = PgServiceSpec.Parse(Service).With(BinDirectory, ServiceAccount),
                StreamingTimeout = StreamingTimeout,
                Force = Force,
            };
        }
        catch (PgDr.Errors.PgDrException ex)
        {
            WriteError(ToErrorRecord(ex));
            return;
        }

        if (!TryRun((_, ct) => StandbyService.PlanAsync(request, ct), out var plan)
            || !ShouldProcess(request.DataDirectory, $"Create standby {request.Name} of {request.Upstream}: {plan}"))
        {
            return;
        }

        if (TryRun((progress, ct) => StandbyService.CreateAsync(request, progress, ct), out var standby))
        {
            WriteVerbose($"{standby}: {string.Join(", ", standby.Steps)}");
            foreach (var warning in standby.Warnings)
            {
                WriteWarning(warning);
            }

            WriteObject(standby);
        }
    }
}
