namespace PgDr.Archive.Repositories;

/// <summary>Turns a configured repository into a working one, reading named secrets from the environment.</summary>
public static class ArchiveRepositoryFactory
{
    /// <summary>
    /// Creates the repository <paramref name="config"/> describes. Secrets are read from the environment variables the
    /// configuration names (<paramref name="environment"/> replaces the process environment, for tests). Throws
    /// InvalidRepositoryConfig, naming the missing setting or variable but never a secret.
    /// </summary>
    public static IArchiveRepository Create(RepositoryConfig config, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        environment ??= Environment.GetEnvironmentVariable;
        var name = string.IsNullOrWhiteSpace(config.Name)
            ? throw RepositoryErrors.InvalidConfig("(unnamed)", "every repository needs a 'name'.")
            : config.Name;
        if (!string.IsNullOrEmpty(config.Prefix?.Trim('/')))
        {
            try
            {
                ObjectKey.Validate(config.Prefix.Trim('/'));
            }
            catch (Errors.PgDrArgumentException ex)
            {
                throw RepositoryErrors.InvalidConfig(name, $"the prefix is not usable: {ex.Message}");
            }
        }

        switch (config.Type.Trim().ToLowerInvariant())
        {
            case RepositoryConfig.FileSystemType:
                return new FileSystemArchiveRepository(
                    name,
                    string.IsNullOrWhiteSpace(config.Path) ? throw RepositoryErrors.InvalidConfig(name, "a filesystem repository needs a 'path'.") : config.Path);

            case RepositoryConfig.S3Type:
                if ((config.AccessKeyIdEnv is null) != (config.SecretAccessKeyEnv is null))
                {
                    throw RepositoryErrors.InvalidConfig(name, "'accessKeyIdEnv' and 'secretAccessKeyEnv' go together.");
                }

                return new S3ArchiveRepository(new S3RepositoryOptions
                {
                    Name = name,
                    Bucket = string.IsNullOrWhiteSpace(config.Bucket) ? throw RepositoryErrors.InvalidConfig(name, "an s3 repository needs a 'bucket'.") : config.Bucket,
                    Prefix = config.Prefix,
                    Region = config.Region,
                    Endpoint = string.IsNullOrWhiteSpace(config.Endpoint) ? null : config.Endpoint,
                    ForcePathStyle = config.ForcePathStyle,
                    AccessKeyId = Secret(name, "accessKeyIdEnv", config.AccessKeyIdEnv, environment),
                    SecretAccessKey = Secret(name, "secretAccessKeyEnv", config.SecretAccessKeyEnv, environment),
                    SessionToken = Secret(name, "sessionTokenEnv", config.SessionTokenEnv, environment),
                });

            case RepositoryConfig.AzureType:
                if (config.ConnectionStringEnv is not null && config.SasEnv is not null)
                {
                    throw RepositoryErrors.InvalidConfig(name, "give either 'connectionStringEnv' or 'sasEnv', not both.");
                }

                var sas = Secret(name, "sasEnv", config.SasEnv, environment);
                var sasIsUrl = sas is not null && sas.StartsWith("http", StringComparison.OrdinalIgnoreCase);
                if (config.ConnectionStringEnv is null && !sasIsUrl && string.IsNullOrWhiteSpace(config.AccountUrl))
                {
                    throw RepositoryErrors.InvalidConfig(name, "an azure repository needs an 'accountUrl' (or 'connectionStringEnv', or 'sasEnv' naming a container URL with SAS).");
                }

                return new AzureBlobArchiveRepository(new AzureBlobRepositoryOptions
                {
                    Name = name,
                    AccountUrl = string.IsNullOrWhiteSpace(config.AccountUrl) ? null : config.AccountUrl,
                    Container = config.Container,
                    Prefix = config.Prefix,
                    ConnectionString = Secret(name, "connectionStringEnv", config.ConnectionStringEnv, environment),
                    SasUrl = sasIsUrl ? sas : null,
                    SasToken = sasIsUrl ? null : sas,
                });

            default:
                throw RepositoryErrors.InvalidConfig(name, $"unknown repository type '{config.Type}'; use filesystem, s3 or azure.");
        }
    }

    private static string? Secret(string repository, string setting, string? variable, Func<string, string?> environment)
    {
        if (string.IsNullOrWhiteSpace(variable))
        {
            return null;
        }

        var value = environment(variable);
        return string.IsNullOrEmpty(value)
            ? throw RepositoryErrors.InvalidConfig(repository, $"the environment variable '{variable}' named by '{setting}' is not set.")
            : value;
    }
}
