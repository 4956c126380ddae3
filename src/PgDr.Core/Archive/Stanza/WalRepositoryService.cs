using System.Security.Cryptography;
using Npgsql;
using PgDr.Archive.Configuration;
using PgDr.Archive.Repositories;
using PgDr.Connections;
using PgDr.Errors;
using PgDr.Hosting;

namespace PgDr.Archive.Stanza;

/// <summary>
/// New-PgWalRepository, pgdr repo create: what pgBackRest's stanza-create does, so the first push does not have to.
/// For each configured repository it creates the store when missing (a directory owned by the account PostgreSQL runs
/// as, mode 0750; a bucket; a container), writes the stanza's identity for the node's cluster (or checks that the one
/// there names it: StanzaMismatch otherwise), and proves the archiving account can write there.
/// </summary>
/// <remarks>
/// A filesystem repository is made on this host: run it where the directory is (the database host, or any host that
/// mounts the same share). Its owner is the postmaster's account for a node on this host, else the postgres account
/// when PgDr runs as root, else the caller. A bucket or container is reached with the credentials the configuration
/// names, which should be the ones the server uses; creating one needs s3:CreateBucket or a container-level role
/// that archiving itself does not need.
/// </remarks>
public static class WalRepositoryService
{
    private const string AccessCheckPrefix = ".pgdr-access-check-";

    /// <summary>What <see cref="CreateAsync"/> would do, changing nothing (-WhatIf).</summary>
    public static Task<IReadOnlyList<PgWalRepository>> PlanAsync(PgInstance instance, PgDrConfig config, string? repository, CancellationToken cancellationToken) =>
        RunAsync(instance, config, repository, apply: false, cancellationToken);

    public static Task<IReadOnlyList<PgWalRepository>> CreateAsync(PgInstance instance, PgDrConfig config, string? repository, CancellationToken cancellationToken) =>
        RunAsync(instance, config, repository, apply: true, cancellationToken);

    private static async Task<IReadOnlyList<PgWalRepository>> RunAsync(PgInstance instance, PgDrConfig config, string? repository, bool apply, CancellationToken cancellationToken)
    {
        var entries = config.Repositories.Where(r => repository is null || string.Equals(r.Name, repository, StringComparison.Ordinal)).ToList();
        if (entries.Count == 0)
        {
            throw new PgDrArgumentException(
                ErrorIds.InvalidRepositoryConfig,
                $"The configuration {config.SourcePath} has no repository '{repository}' (it has {string.Join(", ", config.Repositories.Select(r => r.Name))}).",
                repository);
        }

        var cluster = await ReadClusterAsync(instance, cancellationToken).ConfigureAwait(false);
        var owner = await OwnerAsync(instance, cancellationToken).ConfigureAwait(false);
        var results = new List<PgWalRepository>();
        foreach (var entry in entries)
        {
            var repositoryConfig = entry.ToRepositoryConfig();
            var store = ArchiveRepositoryFactory.Create(repositoryConfig);
            await using (store.ConfigureAwait(false))
            {
                results.Add(await CreateOneAsync(instance, config.Stanza, cluster, store, repositoryConfig, owner, apply, cancellationToken).ConfigureAwait(false));
            }
        }

        return results;
    }

    private static async Task<PgWalRepository> CreateOneAsync(
        PgInstance instance, string stanza, ClusterIdentity cluster, IArchiveRepository store, RepositoryConfig config, OsUser owner, bool apply, CancellationToken cancellationToken)
    {
        var directory = store is FileSystemArchiveRepository fileSystem ? fileSystem.Root : null;
        var actions = new List<string>();
        var storeMissing = !await store.StoreExistsAsync(cancellationToken).ConfigureAwait(false);
        var identity = storeMissing ? null : await RepositoryIdentity.ReadAsync(store, stanza, cancellationToken).ConfigureAwait(false);
        if (identity is not null)
        {
            // Refused before anything is done, -WhatIf included.
            await RepositoryIdentity.EnsureAsync(store, stanza, cluster, cancellationToken).ConfigureAwait(false);
        }

        if (storeMissing)
        {
            actions.Add(directory is null ? $"create {config.Type} store {store}" : $"create directory {directory} (mode 0750, owner {owner.Name})");
        }

        if (identity is null)
        {
            actions.Add($"write {ArchiveLayout.IdentityKey(stanza)}: cluster {cluster.SystemIdentifier}, PostgreSQL {cluster.PgMajorVersion}, segments of {Bytes.Format(cluster.WalSegmentSize)}");
        }

        actions.Add(directory is null ? "write, read back and delete a test object" : $"check that {owner.Name} can write into {directory}");
        var result = new PgWalRepository
        {
            Instance = instance,
            Repository = store.Name,
            Type = config.Type,
            Location = directory ?? store.ToString() ?? store.Name,
            Stanza = stanza,
            SystemIdentifier = cluster.SystemIdentifier.ToString(System.Globalization.CultureInfo.InvariantCulture),
            PgMajorVersion = cluster.PgMajorVersion,
            StoreCreated = storeMissing,
            IdentityCreated = identity is null,
            Owner = directory is null ? null : owner.Name,
            Actions = actions,
        };
        if (!apply)
        {
            return result;
        }

        var created = await store.CreateStoreAsync(cancellationToken).ConfigureAwait(false);
        if (created && directory is not null)
        {
            await owner.TakeOwnershipAsync(directory, cancellationToken).ConfigureAwait(false);
        }

        var written = await RepositoryIdentity.EnsureAsync(store, stanza, cluster, cancellationToken).ConfigureAwait(false);
        if (directory is not null)
        {
            // Written by this process (root, say): the stanza's directory must belong to the account that archives.
            if (written)
            {
                await owner.TakeOwnershipAsync(Path.Combine(directory, stanza), cancellationToken).ConfigureAwait(false);
            }

            await CheckDirectoryAsync(store.Name, directory, Path.Combine(directory, stanza), owner, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await CheckObjectStoreAsync(store, stanza, cancellationToken).ConfigureAwait(false);
        }

        return new PgWalRepository
        {
            Instance = result.Instance,
            Repository = result.Repository,
            Type = result.Type,
            Location = result.Location,
            Stanza = result.Stanza,
            SystemIdentifier = result.SystemIdentifier,
            PgMajorVersion = result.PgMajorVersion,
            StoreCreated = created,
            IdentityCreated = written,
            Owner = result.Owner,
            AccessChecked = true,
            Applied = true,
            Actions = actions,
        };
    }

    private static async Task CheckDirectoryAsync(string repository, string root, string stanzaDirectory, OsUser owner, CancellationToken cancellationToken)
    {
        foreach (var directory in new[] { root, stanzaDirectory })
        {
            if (!owner.CanRunAs || !await owner.CanWriteAsync(directory, cancellationToken).ConfigureAwait(false))
            {
                throw RepositoryErrors.AccessDenied(
                    repository,
                    owner.CanRunAs
                        ? $"the OS account '{owner.Name}' cannot write into {directory}: chown -R {owner.Name}: {root} (every directory above it must be searchable by that account)."
                        : $"cannot check as the OS account '{owner.Name}' whether it can write into {directory}: run this as root or as that account.",
                    null);
            }
        }
    }

    private static async Task CheckObjectStoreAsync(IArchiveRepository store, string stanza, CancellationToken cancellationToken)
    {
        var key = $"{stanza}/{AccessCheckPrefix}{Convert.ToHexString(RandomNumberGenerator.GetBytes(6))}";
        var content = RandomNumberGenerator.GetBytes(64);
        using (var upload = new MemoryStream(content))
        {
            await store.PutIfAbsentAsync(key, upload, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            var stored = await store.OpenReadAsync(key, cancellationToken).ConfigureAwait(false)
                ?? throw RepositoryErrors.Failed(store.Name, $"the test object {key} was written but cannot be found.", null);
            using var copy = new MemoryStream();
            await using (stored.ConfigureAwait(false))
            {
                await stored.CopyToAsync(copy, cancellationToken).ConfigureAwait(false);
            }

            if (!copy.ToArray().AsSpan().SequenceEqual(content))
            {
                throw RepositoryErrors.Failed(store.Name, $"the test object {key} came back with other content than was written.", null);
            }
        }
        finally
        {
            await store.DeleteAsync(key, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The account a filesystem repository must belong to: the server's own where it runs here.</summary>
    private static async Task<OsUser> OwnerAsync(PgInstance instance, CancellationToken cancellationToken) =>
        (await LocalNode.FindAsync(instance, cancellationToken).ConfigureAwait(false))?.ServiceAccount() ?? OsUser.ForPostgres();

    private static async Task<ClusterIdentity> ReadClusterAsync(PgInstance instance, CancellationToken cancellationToken) =>
        await PgConnector.RunAsync(instance, async conn =>
        {
            using var cmd = new NpgsqlCommand(
                """
                SELECT system_identifier, current_setting('server_version_num')::int / 10000,
                       (SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size')
                FROM pg_control_system()
                """,
                conn);
            using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);

            // bigint in SQL, unsigned in pg_control and in every segment's header.
            return new ClusterIdentity(unchecked((ulong)reader.GetInt64(0)), reader.GetInt32(1), reader.GetInt64(2));
        }, cancellationToken).ConfigureAwait(false);
}
