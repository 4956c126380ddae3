using PgDr.Archive.Configuration;
using PgDr.Errors;
using PgDr.Hosting;

namespace PgDr.Backup.Restore;

/// <summary>
/// restore_command runs as the account PostgreSQL runs as, with that account's rights: it must be able to execute
/// pgdr and read the configuration and the key file. A restore checks this before writing anything, as that
/// account, because a restored cluster whose restore_command fails only says so in its log, over and over.
/// </summary>
internal static class RestoreCommandCheck
{
    public static async Task EnsureUsableAsync(OsUser account, string pgdrPath, string configPath, PgDrConfig config, string? passwordFile, CancellationToken cancellationToken)
    {
        var checks = new List<(string Flag, string Path, string What)>
        {
            ("-x", pgdrPath, "execute pgdr"),
            ("-r", configPath, "read the configuration"),
        };
        if (config.Encryption?.KeyFile is { Length: > 0 } keyFile)
        {
            checks.Add(("-r", Path.GetFullPath(keyFile), "read the key file"));
        }

        if (passwordFile is not null)
        {
            checks.Add(("-r", Path.GetFullPath(passwordFile), "read the password file primary_conninfo names"));
        }

        if (!File.Exists(configPath))
        {
            throw new PgDrException(ErrorIds.RestoreCommandNotUsable, PgDrErrorCategory.ObjectNotFound, $"restore_command would name {configPath}, which does not exist (give -ConfigPath).", configPath);
        }

        foreach (var (flag, path, what) in checks)
        {
            if (!await account.HasAccessAsync(path, [flag], cancellationToken).ConfigureAwait(false))
            {
                throw new PgDrException(
                    ErrorIds.RestoreCommandNotUsable,
                    PgDrErrorCategory.PermissionDenied,
                    $"The OS account '{account.Name}' that runs PostgreSQL cannot {what} ({path}), so restore_command would fail: "
                    + "make it (and every directory above it) readable and searchable by that account, e.g. install pgdr under /usr/local/bin and the configuration and key owned by it, mode 0600.",
                    path);
            }
        }
    }
}
