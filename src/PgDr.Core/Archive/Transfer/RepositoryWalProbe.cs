using PgDr.Archive.Configuration;
using PgDr.Archive.Repositories;
using PgDr.Archive.Server;
using PgDr.Archive.Stanza;
using PgDr.Archive.Wal;

namespace PgDr.Archive.Transfer;

/// <summary>Answers Test-PgWalArchiving's question "is this segment in every required repository?" from the configuration.</summary>
public sealed class RepositoryWalProbe(PgDrConfig config, Func<RepositoryConfig, IArchiveRepository>? repositoryFactory = null) : IWalArchiveProbe
{
    private readonly Func<RepositoryConfig, IArchiveRepository> _factory = repositoryFactory ?? (c => ArchiveRepositoryFactory.Create(c));

    public async Task<IReadOnlyList<string>> MissingFromAsync(string walFileName, CancellationToken cancellationToken)
    {
        var key = ArchiveLayout.WalKey(config.Stanza, WalFileName.Parse(walFileName));
        var missing = new List<string>();
        foreach (var entry in config.Repositories.Where(r => r.Required))
        {
            var repository = _factory(entry.ToRepositoryConfig());
            await using (repository.ConfigureAwait(false))
            {
                if (await repository.StatAsync(key, cancellationToken).ConfigureAwait(false) is null)
                {
                    missing.Add(entry.Name);
                }
            }
        }

        return missing;
    }
}
