using System.Net.Sockets;
using Npgsql;
using PgDr.Errors;

namespace PgDr.Connections;

/// <summary>
/// Opens connections to a node and turns every driver failure into a <see cref="PgDrException"/> with a
/// stable id. All SQL the engine runs goes through <see cref="RunAsync{T}"/>, so no caller sees a raw
/// NpgsqlException and no message can carry a password.
/// </summary>
public static class PgConnector
{
    /// <summary>How long a node may take to accept a connection before it counts as unreachable.</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);

    public static NpgsqlDataSource CreateDataSource(PgInstance instance) => CreateDataSource(instance, pooling: false);

    /// <summary>
    /// Until the returned scope is disposed, <see cref="RunAsync{T}"/> in this async flow keeps one pooled connection
    /// source per node instead of connecting anew for every statement. For operations whose duration is the measure
    /// (failover, switchover): across a 40 ms link a new connection costs four round trips (TCP, startup, SCRAM).
    /// Open it at the top of an async method: the scope flows into what that method awaits and ends with it.
    /// </summary>
    public static ConnectionReuse ReuseConnections()
    {
        var scope = new ConnectionReuse();
        ReuseScope.Value = scope;
        return scope;
    }

    /// <summary>Runs <paramref name="operation"/> inside a <see cref="ReuseConnections"/> scope, which ends with it.</summary>
    public static async Task<T> WithReusedConnectionsAsync<T>(Func<Task<T>> operation)
    {
        ArgumentNullException.ThrowIfNull(operation);
        var scope = ReuseConnections();
        await using (scope.ConfigureAwait(false))
        {
            return await operation().ConfigureAwait(false);
        }
    }

    /// <summary>Closes the pooled connections to <paramref name="instance"/> of the current scope (its server ended them: stopped, or sessions terminated).</summary>
    public static ValueTask ForgetPooledAsync(PgInstance instance) => ReuseScope.Value?.ForgetAsync(instance) ?? ValueTask.CompletedTask;

    private static readonly AsyncLocal<ConnectionReuse?> ReuseScope = new();

    private static NpgsqlDataSource CreateDataSource(PgInstance instance, bool pooling)
    {
        var builder = ConnectionString(instance);

        // One short-lived connection per operation: pooling would keep sessions open on the nodes (except inside a
        // ReuseConnections scope, which closes them when it ends).
        builder.Pooling = pooling;
        return new NpgsqlDataSourceBuilder(builder.ConnectionString).Build();
    }

    /// <summary>How PgDr connects to a node; the replication protocol connections use it too.</summary>
    internal static NpgsqlConnectionStringBuilder ConnectionString(PgInstance instance)
    {
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = instance.Host,
            Port = instance.Port,
            Database = instance.Database,
            ApplicationName = "pgdr",
            Timeout = (int)ConnectTimeout.TotalSeconds,
            CommandTimeout = 60,
            // One short-lived connection per operation: pooling would keep sessions open on the nodes.
            Pooling = false,
        };
        if (instance.Username is not null)
        {
            builder.Username = instance.Username;
        }

        if (instance.Password is not null)
        {
            builder.Password = instance.Password;
        }

        if (instance.SslMode is { } ssl)
        {
            builder.SslMode = ssl switch
            {
                PgSslMode.Disable => SslMode.Disable,
                PgSslMode.Allow => SslMode.Allow,
                PgSslMode.Prefer => SslMode.Prefer,
                PgSslMode.Require => SslMode.Require,
                PgSslMode.VerifyCA => SslMode.VerifyCA,
                _ => SslMode.VerifyFull,
            };
        }

        if (instance.RootCertificate is not null)
        {
            builder.RootCertificate = instance.RootCertificate;
        }

        return builder;
    }

    /// <summary>Opens a connection, runs <paramref name="work"/> on it, translates failures.</summary>
    public static async Task<T> RunAsync<T>(PgInstance instance, Func<NpgsqlConnection, Task<T>> work, CancellationToken cancellationToken)
    {
        var reused = ReuseScope.Value?.Get(instance);
        var dataSource = reused ?? CreateDataSource(instance);
        await using var disposeDataSource = (reused is null ? (IAsyncDisposable)dataSource : NoDispose.Instance).ConfigureAwait(false);
        NpgsqlConnection connection;
        try
        {
            connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or SocketException && !cancellationToken.IsCancellationRequested)
        {
            throw TranslateConnectFailure(instance, ex);
        }

        await using (connection.ConfigureAwait(false))
        {
            try
            {
                return await work(connection).ConfigureAwait(false);
            }
            catch (PostgresException ex)
            {
                throw TranslateQueryFailure(instance, ex);
            }
            catch (NpgsqlException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw new PgDrConnectionException(
                    ErrorIds.ConnectionFailed, PgDrErrorCategory.ConnectionError, $"The connection to {instance} broke: {ex.Message}", instance, ex);
            }
        }
    }

    /// <summary>The user a connection logs in as: the instance's, else PGUSER, else the OS account (as Npgsql and libpq choose).</summary>
    internal static string EffectiveUser(PgInstance instance) =>
        instance.Username ?? (Environment.GetEnvironmentVariable("PGUSER") is { Length: > 0 } pgUser ? pgUser : Environment.UserName);

    internal static PgDrException TranslateConnectFailure(PgInstance instance, Exception ex)
    {
        if (ex is PostgresException pg)
        {
            return pg.SqlState switch
            {
                PostgresErrorCodes.InvalidPassword or PostgresErrorCodes.InvalidAuthorizationSpecification =>
                    new PgDrConnectionException(
                        ErrorIds.AuthenticationFailed,
                        PgDrErrorCategory.AuthenticationError,
                        $"{instance} refused the credentials of user '{EffectiveUser(instance)}': {pg.MessageText}",
                        instance,
                        ex),
                PostgresErrorCodes.InsufficientPrivilege =>
                    new PgDrConnectionException(ErrorIds.InsufficientPrivilege, PgDrErrorCategory.PermissionDenied, $"{instance} denied the connection: {pg.MessageText}", instance, ex),
                _ => new PgDrConnectionException(ErrorIds.ConnectionFailed, PgDrErrorCategory.ConnectionError, $"{instance} refused the connection: {pg.MessageText}", instance, ex),
            };
        }

        if (FindInner<System.Security.Authentication.AuthenticationException>(ex) is { } tls)
        {
            return new PgDrConnectionException(ErrorIds.TlsFailed, PgDrErrorCategory.SecurityError, $"TLS with {instance} failed: {tls.Message}", instance, ex);
        }

        if (instance.SslMode is PgSslMode.Require or PgSslMode.VerifyCA or PgSslMode.VerifyFull
            && ex.Message.Contains("SSL", StringComparison.OrdinalIgnoreCase))
        {
            // The server offers no TLS and the mode forbids falling back to plain text.
            return new PgDrConnectionException(ErrorIds.TlsFailed, PgDrErrorCategory.SecurityError, $"TLS with {instance} failed: {ex.Message}", instance, ex);
        }

        var socket = FindInner<SocketException>(ex);
        if (socket is not null || FindInner<TimeoutException>(ex) is not null)
        {
            var why = socket?.Message ?? "no answer within " + ConnectTimeout.TotalSeconds + " s";
            return new PgDrConnectionException(ErrorIds.HostUnreachable, PgDrErrorCategory.ConnectionError, $"Cannot reach {instance}: {why}.", instance, ex);
        }

        if (ex.Message.Contains("password", StringComparison.OrdinalIgnoreCase))
        {
            // Npgsql reports "No password has been provided" as a plain NpgsqlException. Name the user that was tried: with
            // none given it is PGUSER or the OS account, and the pgpass file (PGPASSFILE) is searched for that user only.
            var user = EffectiveUser(instance);
            var passfile = Environment.GetEnvironmentVariable("PGPASSFILE") is { Length: > 0 } file ? $" (the pgpass file {file} has no line for it)" : string.Empty;
            return new PgDrConnectionException(
                ErrorIds.AuthenticationFailed,
                PgDrErrorCategory.AuthenticationError,
                $"{instance} asks for a password for user '{user}' and none was given{passfile}; give -Credential, or a user and password the pgpass file holds: {ex.Message}",
                instance,
                ex);
        }

        return new PgDrConnectionException(ErrorIds.ConnectionFailed, PgDrErrorCategory.ConnectionError, $"Cannot connect to {instance}: {ex.Message}", instance, ex);
    }

    internal static PgDrException TranslateQueryFailure(PgInstance instance, PostgresException ex) => ex.SqlState switch
    {
        PostgresErrorCodes.InsufficientPrivilege =>
            new PgDrException(ErrorIds.InsufficientPrivilege, PgDrErrorCategory.PermissionDenied, $"{instance}: {ex.MessageText}", instance, ex),
        _ => new PgDrException(ErrorIds.QueryFailed, PgDrErrorCategory.InvalidOperation, $"{instance}: {ex.MessageText}", instance, ex),
    };

    private static T? FindInner<T>(Exception? ex) where T : Exception
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is T match)
            {
                return match;
            }
        }

        return null;
    }
    /// <summary>The pooled connection sources of one <see cref="ReuseConnections"/> scope, closed when it ends.</summary>
    public sealed class ConnectionReuse : IAsyncDisposable
    {
        private readonly Dictionary<string, NpgsqlDataSource> _sources = new(StringComparer.Ordinal);
        private bool _disposed;

        /// <summary>The node's pooled source; null once the scope ended (then a connection of its own is used).</summary>
        internal NpgsqlDataSource? Get(PgInstance instance)
        {
            lock (_sources)
            {
                if (_disposed)
                {
                    return null;
                }

                var key = Key(instance);
                if (!_sources.TryGetValue(key, out var source))
                {
                    source = CreateDataSource(instance, pooling: true);
                    _sources[key] = source;
                }

                return source;
            }
        }

        internal async ValueTask ForgetAsync(PgInstance instance)
        {
            NpgsqlDataSource? source;
            lock (_sources)
            {
                if (!_sources.Remove(Key(instance), out source))
                {
                    return;
                }
            }

            await source!.DisposeAsync().ConfigureAwait(false);
        }

        public async ValueTask DisposeAsync()
        {
            List<NpgsqlDataSource> sources;
            lock (_sources)
            {
                _disposed = true;
                sources = [.. _sources.Values];
                _sources.Clear();
            }

            foreach (var source in sources)
            {
                await source.DisposeAsync().ConfigureAwait(false);
            }
        }

        // Credentials are part of the key: the same node reached as two users is two sources.
        private static string Key(PgInstance instance) =>
            $"{instance.Host}\u0001{instance.Port}\u0001{instance.Database}\u0001{instance.Username}\u0001{instance.Password}\u0001{instance.SslMode}\u0001{instance.RootCertificate}";
    }

    private sealed class NoDispose : IAsyncDisposable
    {
        public static readonly NoDispose Instance = new();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
