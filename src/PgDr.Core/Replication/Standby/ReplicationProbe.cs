using System.Net.Sockets;
using Npgsql;
using Npgsql.Replication;
using PgDr.Connections;

namespace PgDr.Replication.Standby;

/// <summary>What a replication connection to the upstream tells before anything is changed.</summary>
internal sealed record ReplicationProbeResult(ulong SystemIdentifier, bool DataChecksums);

/// <summary>
/// Opens the replication connection pg_basebackup and the standby will open (same user, password, TLS), so wrong
/// credentials, a pg_hba.conf without a replication entry or a role without REPLICATION fail here, before a slot or
/// a directory exists. The password stays in memory: it is not yet in any password file.
/// </summary>
internal static class ReplicationProbe
{
    public static async Task<ReplicationProbeResult> RunAsync(PgInstance upstream, string user, string? password, string? passwordFile, CancellationToken cancellationToken)
    {
        // The password file's entry, taken here: Npgsql (like libpq) prefers PGPASSWORD to any password file, and the
        // PGPASSWORD of an admin running pgdr is not the replication role's; the standby will read only the file.
        var filePassword = password is null && passwordFile is not null ? PgPassFile.FindPassword(passwordFile, upstream.Host, upstream.Port, "replication", user) : null;
        var instance = upstream.WithCredential(user, password ?? filePassword);
        var builder = PgConnector.ConnectionString(instance);
        if (password is null && filePassword is null && passwordFile is not null)
        {
            builder.Passfile = passwordFile;
        }

        var connection = new PhysicalReplicationConnection(builder.ConnectionString);
        await using (connection.ConfigureAwait(false))
        {
            try
            {
                await connection.Open(cancellationToken).ConfigureAwait(false);
                var identity = await connection.IdentifySystem(cancellationToken).ConfigureAwait(false);
                var checksums = await connection.Show("data_checksums", cancellationToken).ConfigureAwait(false);
                return new ReplicationProbeResult(ulong.Parse(identity.SystemId, System.Globalization.CultureInfo.InvariantCulture), checksums == "on");
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or SocketException && !cancellationToken.IsCancellationRequested)
            {
                throw PgConnector.TranslateConnectFailure(instance, ex);
            }
        }
    }
}
