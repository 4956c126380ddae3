using System.Globalization;
using PgDr.Archive.Configuration;
using PgDr.Archive.Repositories;
using PgDr.Archive.Server;
using PgDr.Archive.Stanza;
using PgDr.Errors;

namespace PgDr.Diagnostics;

/// <summary>
/// Where a node's pgdr archive_command sends WAL, judged before the next segment fails on it: each repository the
/// configuration names exists and belongs to this cluster (a removed directory, an unmounted share or a deleted bucket
/// fails here, while pg_stat_archiver may still show the last success), and the async spool's disk has room (a full
/// spool stops every push). Only for a node on this host: the configuration archive_command names is a file there.
/// </summary>
internal static class ArchiveTargetChecks
{
    private const PgDrCheckArea Area = PgDrCheckArea.Health;

    public static async Task<IReadOnlyList<PgDrCheck>> RunAsync(NodeFacts facts, string archiveCommand, ConfigurationCheckOptions options, CheckWriter w, CancellationToken cancellationToken)
    {
        if (WalArchivingService.ParseArchiveCommand(archiveCommand) is not { } command)
        {
            return [];
        }

        PgDrConfig config;
        try
        {
            config = PgDrConfig.Load(command.ConfigPath);
        }
        catch (PgDrException ex)
        {
            // The Archiver check proves (or refutes) that the server's account can read it; here it only could not be read.
            return [w.Warn(Area, CheckIds.Repository, $"the configuration archive_command names could not be read from this account: {ex.Message} [{ex.ErrorId}]",
                "Run the check as root or as the server's account, which must read the configuration anyway.")];
        }

        var results = new List<PgDrCheck>();
        foreach (var entry in config.Repositories)
        {
            results.Add(await RepositoryAsync(facts, config, entry, w, cancellationToken).ConfigureAwait(false));
        }

        if (config.Async is { SpoolPath.Length: > 0 } async)
        {
            results.Add(Spool(async.SpoolPath, options, w));
        }

        return results;
    }

    private static async Task<PgDrCheck> RepositoryAsync(NodeFacts facts, PgDrConfig config, RepositoryEntry entry, CheckWriter w, CancellationToken cancellationToken)
    {
        const string MissingFix =
            "Mount or restore the store, or create it with New-PgWalRepository (pgdr repo create): push never creates a missing store, so an unmounted share is not silently replaced by an empty one.";
        try
        {
            var store = ArchiveRepositoryFactory.Create(entry.ToRepositoryConfig());
            await using (store.ConfigureAwait(false))
            {
                var where = store.ToString() ?? store.Name;
                if (!await store.StoreExistsAsync(cancellationToken).ConfigureAwait(false))
                {
                    return w.Fail(Area, CheckIds.Repository, $"{where} does not exist [{ErrorIds.RepositoryNotFound}]: every push to it fails", MissingFix, entry.Name);
                }

                var identity = await RepositoryIdentity.ReadAsync(store, config.Stanza, cancellationToken).ConfigureAwait(false);
                var system = facts.Node.SystemIdentifier.ToString(CultureInfo.InvariantCulture);
                if (identity is null)
                {
                    return w.Warn(Area, CheckIds.Repository, $"{where} holds no identity for stanza {config.Stanza}: nothing was archived there yet",
                        "Run New-PgWalRepository (pgdr repo create) to bind the stanza to this cluster before the first push.", entry.Name);
                }

                return identity.SystemIdentifier == system
                    ? w.Pass(Area, CheckIds.Repository, $"{where}, {identity}", entry.Name)
                    : w.Fail(Area, CheckIds.Repository, $"{where} holds {identity}, not this cluster's {system} [{ErrorIds.StanzaMismatch}]",
                        "Give this cluster a stanza of its own in the configuration: a repository stanza holds one cluster's WAL.", entry.Name);
            }
        }
        catch (PgDrException ex) when (ex.ErrorId == ErrorIds.RepositoryAccessDenied)
        {
            return w.Warn(Area, CheckIds.Repository, $"could not be checked from this account: {ex.Message} [{ex.ErrorId}]",
                "Run the check as root or as the server's account; the Archiver check says whether archiving itself may write there.", entry.Name);
        }
        catch (PgDrException ex)
        {
            return w.Fail(Area, CheckIds.Repository, $"{ex.Message} [{ex.ErrorId}]", ArchiveFailureAdvice.For(ex.ErrorId) ?? MissingFix, entry.Name);
        }
    }

    /// <summary>The free space of the spool's disk (or of the directory it will be made in, before the first async push).</summary>
    private static PgDrCheck Spool(string spoolPath, ConfigurationCheckOptions options, CheckWriter w)
    {
        var existing = Path.GetFullPath(spoolPath);
        while (!Directory.Exists(existing) && Path.GetDirectoryName(existing) is { } parent)
        {
            existing = parent;
        }

        return HealthChecks.JudgeDisk(existing, options.MinFreeDiskShare, w, "spool", CheckIds.ArchiveSpool,
                "Free space on the spool's disk or point async.spoolPath at a larger one: a full spool fails every async push, and pg_wal fills behind it.")
            ?? w.Warn(Area, CheckIds.ArchiveSpool, $"the free space of {spoolPath} could not be measured", "Check that the spool's disk is mounted and readable from this account.", "spool");
    }
}
