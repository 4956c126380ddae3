using System.Text.Json.Serialization;

namespace PgDr.Archive.Repositories;

/// <summary>
/// One entry of the configuration file's <c>repositories</c> array (see ARCHITECTURE.md). Secrets are never written
/// here: the <c>...Env</c> properties name environment variables that hold them, so this record (and its ToString)
/// holds no secret.
/// </summary>
public sealed record RepositoryConfig
{
    public const string FileSystemType = "filesystem";
    public const string S3Type = "s3";
    public const string AzureType = "azure";

    /// <summary>The repository's name (e.g. region-b).</summary>
    [JsonPropertyName("name")]
    public string Name { get; init; } = string.Empty;

    /// <summary><c>filesystem</c>, <c>s3</c> or <c>azure</c>.</summary>
    [JsonPropertyName("type")]
    public string Type { get; init; } = string.Empty;

    /// <summary>filesystem: the repository directory.</summary>
    [JsonPropertyName("path")]
    public string? Path { get; init; }

    /// <summary>s3: the bucket.</summary>
    [JsonPropertyName("bucket")]
    public string? Bucket { get; init; }

    /// <summary>s3 and azure: a key prefix inside the bucket or container.</summary>
    [JsonPropertyName("prefix")]
    public string? Prefix { get; init; }

    /// <summary>s3: the region (signing region for a custom endpoint).</summary>
    [JsonPropertyName("region")]
    public string? Region { get; init; }

    /// <summary>s3: a custom endpoint URL (S3-compatible stores).</summary>
    [JsonPropertyName("endpoint")]
    public string? Endpoint { get; init; }

    /// <summary>s3: path-style addressing.</summary>
    [JsonPropertyName("forcePathStyle")]
    public bool ForcePathStyle { get; init; }

    /// <summary>s3: the environment variable holding the access key id (otherwise the SDK's default chain).</summary>
    [JsonPropertyName("accessKeyIdEnv")]
    public string? AccessKeyIdEnv { get; init; }

    /// <summary>s3: the environment variable holding the secret access key.</summary>
    [JsonPropertyName("secretAccessKeyEnv")]
    public string? SecretAccessKeyEnv { get; init; }

    /// <summary>s3: the environment variable holding a session token (temporary credentials).</summary>
    [JsonPropertyName("sessionTokenEnv")]
    public string? SessionTokenEnv { get; init; }

    /// <summary>azure: the blob service URL, https://acct.blob.core.windows.net (with DefaultAzureCredential or sasEnv).</summary>
    [JsonPropertyName("accountUrl")]
    public string? AccountUrl { get; init; }

    /// <summary>azure: the container.</summary>
    [JsonPropertyName("container")]
    public string? Container { get; init; }

    /// <summary>azure: the environment variable holding a storage connection string.</summary>
    [JsonPropertyName("connectionStringEnv")]
    public string? ConnectionStringEnv { get; init; }

    /// <summary>azure: the environment variable holding a SAS: a container URL with SAS, or a SAS token for accountUrl.</summary>
    [JsonPropertyName("sasEnv")]
    public string? SasEnv { get; init; }
}
