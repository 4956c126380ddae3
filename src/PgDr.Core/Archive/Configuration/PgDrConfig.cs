using System.Text.Json;
using System.Text.Json.Serialization;
using PgDr.Archive.Compression;
using PgDr.Archive.Encryption;
using PgDr.Archive.Format;
using PgDr.Archive.Repositories;
using PgDr.Errors;

namespace PgDr.Archive.Configuration;

// Properties use set, not init. The source-generated reader drops the defaults of init-only properties that the JSON
// leaves out (dotnet/runtime#84484), which would turn "required" into false. And one init-only property makes it read
// the whole object through its parameterized-constructor converter, which at every pgdr start creates an argument
// array by reflection and rents from ArrayPool (calibrating processor-id lookups first): measured, ~20 % of the CPU of
// an async archive_command that only finds its acknowledgement (docs/performance.md).

/// <summary>
/// The configuration file pgdr wal push/fetch read (ARCHITECTURE.md gives its shape). It names where secrets
/// are (a 0600 key file, environment variables), never the secrets themselves, because its path goes into
/// archive_command and so into postgresql.auto.conf.
/// </summary>
public sealed class PgDrConfig
{
    /// <summary>Used when neither --config nor PGDR_CONFIG names a file.</summary>
    public static string DefaultPath => OperatingSystem.IsWindows()
        ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.CommonApplicationData), "pgdr", "pgdr.json")
        : "/etc/pgdr/pgdr.json";

    /// <summary>The cluster this configuration archives; every repository holds one stanza's WAL under this name.</summary>
    [JsonPropertyName("stanza")]
    public string Stanza { get; set; } = string.Empty;

    [JsonPropertyName("repositories")]
    public List<RepositoryEntry> Repositories { get; set; } = [];

    /// <summary>zstd, lz4, gzip, brotli or none, optionally with a level (zstd:3).</summary>
    [JsonPropertyName("compression")]
    public string Compression { get; set; } = "zstd";

    /// <summary>
    /// The checksum of each file's content kept in its archived object: xxh128 (default) or sha256, which costs
    /// ~40 % more CPU per pushed segment with zstd. Either way the stored bytes are authenticated (AES-GCM) or
    /// SHA-256-protected (unencrypted); see docs/archiving.md.
    /// </summary>
    [JsonPropertyName("checksum")]
    public string Checksum { get; set; } = "xxh128";

    /// <summary>
    /// auto (default: the system's libzstd / liblz4 where they load, else the managed ports), native or managed. The
    /// frames are the same either way, so changing this never makes an archived object unreadable.
    /// </summary>
    [JsonPropertyName("codecs")]
    public string Codecs { get; set; } = "auto";

    [JsonPropertyName("encryption")]
    public EncryptionConfig? Encryption { get; set; }

    [JsonPropertyName("async")]
    public AsyncConfig? Async { get; set; }

    /// <summary>Base backup and restore settings (Backup-PgCluster, Restore-PgCluster); may be omitted.</summary>
    [JsonPropertyName("backup")]
    public BackupConfig? Backup { get; set; }

    /// <summary>Where the single-writer lease is kept (Failover); by default in the first required repository.</summary>
    [JsonPropertyName("lease")]
    public LeaseConfig? Lease { get; set; }

    /// <summary>
    /// The node agent's section (pgdr agent), kept unread here: archive_command and restore_command read this file once
    /// per segment and must neither pay for nor be broken by it. <see cref="Agent.AgentSettings.FromConfig"/> reads and
    /// checks it.
    /// </summary>
    [JsonPropertyName("agent")]
    public JsonElement? Agent { get; set; }

    /// <summary>
    /// The repository that keeps the single-writer lease: the one <c>lease.repository</c> names, else the first
    /// required repository. One repository, not a majority of several: a compare-and-swap across independent stores is
    /// not atomic, and two failovers could each win a different majority of partial writes (docs/failover.md).
    /// </summary>
    [JsonIgnore]
    public RepositoryEntry LeaseRepository =>
        Lease?.Repository is { Length: > 0 } named
            ? Repositories.First(r => string.Equals(r.Name, named, StringComparison.Ordinal))
            : Repositories.First(r => r.Required);

    /// <summary>Where the file was read from (for messages).</summary>
    [JsonIgnore]
    public string SourcePath { get; private set; } = string.Empty;

    [JsonIgnore]
    public CompressionSpec CompressionSpec { get; private set; } = CompressionSpec.Default;

    [JsonIgnore]
    public ContentChecksumAlgorithm ChecksumAlgorithm { get; private set; } = ContentChecksum.Default;

    [JsonIgnore]
    public CodecImplementation CodecImplementation { get; private set; }

    /// <summary>The file named by <paramref name="explicitPath"/>, else PGDR_CONFIG, else <see cref="DefaultPath"/>.</summary>
    public static PgDrConfig Load(string? explicitPath)
    {
        var path = !string.IsNullOrEmpty(explicitPath) ? explicitPath
            : Environment.GetEnvironmentVariable("PGDR_CONFIG") is { Length: > 0 } fromEnv ? fromEnv
            : DefaultPath;
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (UnauthorizedAccessException ex)
        {
            // archive_command runs as the server's account, which often is not the one that wrote the file: say which.
            throw new PgDrException(
                ErrorIds.ConfigAccessDenied,
                PgDrErrorCategory.PermissionDenied,
                $"The PgDr configuration {path} cannot be read by the OS account '{Environment.UserName}' (permission denied on the file or a directory above it).",
                path,
                ex);
        }
        catch (IOException ex)
        {
            throw new PgDrException(
                ex is FileNotFoundException or DirectoryNotFoundException ? ErrorIds.ConfigNotFound : ErrorIds.InvalidConfig,
                ex is FileNotFoundException or DirectoryNotFoundException ? PgDrErrorCategory.ObjectNotFound : PgDrErrorCategory.ReadError,
                $"Cannot read the PgDr configuration {path}: {ex.Message}",
                path,
                ex);
        }

        return Parse(text, path);
    }

    public static PgDrConfig Parse(string json, string sourcePath)
    {
        PgDrConfig? config;
        try
        {
            config = JsonSerializer.Deserialize(json, PgDrConfigJsonContext.Default.PgDrConfig);
        }
        catch (JsonException ex)
        {
            throw Invalid(sourcePath, $"it is not valid JSON ({ex.Message})");
        }

        if (config is null)
        {
            throw Invalid(sourcePath, "it is empty");
        }

        config.SourcePath = sourcePath;
        config.Validate();
        return config;
    }

    /// <summary>
    /// The archive key held on this host (keyFile or keyEnv), or null when there is none: objects are unencrypted, or
    /// encrypted through the key service alone (<see cref="KeyService"/>).
    /// </summary>
    public ArchiveKey? LoadKey()
    {
        if (Encryption is null)
        {
            return null;
        }

        return Encryption.KeyFile is { Length: > 0 } file ? ArchiveKey.FromFile(file)
            : Encryption.KeyEnv is { Length: > 0 } variable ? ArchiveKey.FromEnvironment(variable)
            : null;
    }

    /// <summary>
    /// The key service that wraps each new object's data key (encryption.kms), or null. One per configuration object,
    /// so a process (the async worker) asks it for one data key and unwraps each wrapped key once; it lives as long as
    /// the process.
    /// </summary>
    [JsonIgnore]
    public IArchiveKeyService? KeyService
    {
        get => _keyService ??= Encryption?.Kms is { } kms ? CreateKeyService(kms) : null;

        // Tests put a decorator around the real service here (to count its calls to KMS).
        internal set => _keyService = value;
    }

    private IArchiveKeyService? _keyService;

    private AwsKmsKeyService CreateKeyService(KmsConfig kms)
    {
        string? Secret(string? variable, string setting) =>
            string.IsNullOrEmpty(variable) ? null
            : Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value ? value
            : throw Invalid(SourcePath, $"the environment variable '{variable}' named by 'encryption.kms.{setting}' is not set");

        return new AwsKmsKeyService(new AwsKmsOptions
        {
            KeyId = kms.KeyId,
            Stanza = Stanza,
            Region = kms.Region,
            Endpoint = string.IsNullOrWhiteSpace(kms.Endpoint) ? null : kms.Endpoint,
            AccessKeyId = Secret(kms.AccessKeyIdEnv, "accessKeyIdEnv"),
            SecretAccessKey = Secret(kms.SecretAccessKeyEnv, "secretAccessKeyEnv"),
            SessionToken = Secret(kms.SessionTokenEnv, "sessionTokenEnv"),
        });
    }

    private void Validate()
    {
        if (!ObjectKeyIsSafe(Stanza))
        {
            throw Invalid(SourcePath, $"'stanza' must be 1-64 letters, digits, '-' or '_' (got '{Stanza}')");
        }

        if (Repositories.Count == 0)
        {
            throw Invalid(SourcePath, "'repositories' lists no repository");
        }

        var duplicate = Repositories.GroupBy(r => r.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw Invalid(SourcePath, $"repository name '{duplicate.Key}' is used twice");
        }

        if (!Repositories.Any(r => r.Required))
        {
            throw Invalid(SourcePath, "at least one repository must be required: a segment counts as archived only when every required repository holds it");
        }

        if (!CompressionSpec.TryParse(Compression, out var spec))
        {
            throw Invalid(SourcePath, $"'compression' must be zstd, lz4, gzip, brotli or none, optionally with a level such as zstd:3 (got '{Compression}')");
        }

        CompressionSpec = spec;
        if (!ContentChecksum.TryParse(Checksum, out var checksum))
        {
            throw Invalid(SourcePath, $"'checksum' must be xxh128 or sha256 (got '{Checksum}')");
        }

        ChecksumAlgorithm = checksum;
        CodecImplementation = Codecs.ToLowerInvariant() switch
        {
            "auto" => CodecImplementation.Auto,
            "native" => CodecImplementation.Native,
            "managed" => CodecImplementation.Managed,
            _ => throw Invalid(SourcePath, $"'codecs' must be auto, native or managed (got '{Codecs}')"),
        };
        if (Encryption is not null && !string.IsNullOrEmpty(Encryption.KeyFile) && !string.IsNullOrEmpty(Encryption.KeyEnv))
        {
            throw Invalid(SourcePath, "'encryption' names exactly one of 'keyFile' or 'keyEnv', not both");
        }

        if (Encryption is not null && Encryption.Kms is null && string.IsNullOrEmpty(Encryption.KeyFile) && string.IsNullOrEmpty(Encryption.KeyEnv))
        {
            throw Invalid(SourcePath, "'encryption' names exactly one of 'keyFile' or 'keyEnv', or 'kms' (with or without one of them)");
        }

        if (Encryption?.Kms is { } kms && (string.IsNullOrWhiteSpace(kms.KeyId)
            || (string.IsNullOrEmpty(kms.AccessKeyIdEnv) != string.IsNullOrEmpty(kms.SecretAccessKeyEnv))
            || (!string.IsNullOrWhiteSpace(kms.Endpoint) && !Uri.TryCreate(kms.Endpoint, UriKind.Absolute, out _))))
        {
            throw Invalid(SourcePath, "'encryption.kms' needs a 'keyId' (key id, ARN or alias/NAME), 'accessKeyIdEnv' and 'secretAccessKeyEnv' together or neither, and an absolute 'endpoint' if any");
        }

        if (Async is not null && (string.IsNullOrEmpty(Async.SpoolPath) || Async.Parallel is < 1 or > 64))
        {
            throw Invalid(SourcePath, "'async' needs a 'spoolPath' and 'parallel' between 1 and 64");
        }

        if (Async is not null && Async.AcknowledgementSeconds is < 1 or > 3600)
        {
            throw Invalid(SourcePath, "'async.acknowledgementSeconds' must be between 1 and 3600");
        }

        if (Lease?.Repository is { Length: > 0 } leaseRepository && !Repositories.Any(r => string.Equals(r.Name, leaseRepository, StringComparison.Ordinal)))
        {
            throw Invalid(SourcePath, $"'lease.repository' names '{leaseRepository}', which is not among the repositories");
        }

        if (Async is not null && (Async.TimeoutSeconds is < 1 or > 86400 || Async.Retries is < 0 or > 100))
        {
            throw Invalid(SourcePath, "'async' needs 'timeoutSeconds' between 1 and 86400 and 'retries' between 0 and 100");
        }

        if (Backup is not null && (Backup.Parallel is < 0 or > 64 || Backup.ArchiveTimeoutSeconds is < 1 or > 86400))
        {
            throw Invalid(SourcePath, "'backup' needs 'parallel' between 1 and 64 (0: one per core) and 'archiveTimeoutSeconds' between 1 and 86400");
        }
    }

    private static bool ObjectKeyIsSafe(string stanza) =>
        stanza.Length is > 0 and <= 64 && stanza.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    private static PgDrException Invalid(string path, string why) =>
        new(ErrorIds.InvalidConfig, PgDrErrorCategory.InvalidData, $"The PgDr configuration {path} is not valid: {why}.", path);
}

/// <summary>A repository entry: the repository itself plus whether a push must reach it.</summary>
public sealed class RepositoryEntry
{
    [JsonPropertyName("name")]
    public string Name { get; set; } = string.Empty;

    /// <summary>
    /// A segment is acknowledged to PostgreSQL only when every required repository holds it (default: all are).
    /// A repository that is not required is tried, and a failure there is reported without failing the push.
    /// </summary>
    [JsonPropertyName("required")]
    public bool Required { get; set; } = true;

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Settings { get; set; }

    /// <summary>The repository settings as the repository factory reads them.</summary>
    public RepositoryConfig ToRepositoryConfig()
    {
        var fields = new Dictionary<string, JsonElement>(Settings ?? [], StringComparer.Ordinal)
        {
            ["name"] = JsonSerializer.SerializeToElement(Name, PgDrConfigJsonContext.Default.String),
        };
        var json = JsonSerializer.Serialize(fields, PgDrConfigJsonContext.Default.DictionaryStringJsonElement);
        return JsonSerializer.Deserialize(json, PgDrConfigJsonContext.Default.RepositoryConfig)!;
    }
}

/// <summary>
/// Where the archive's keys are: a key on this host (keyFile or keyEnv), or a key service that wraps each new object's
/// data key (kms). With both, new objects go through the key service and the host key still opens objects written
/// with it before: the way from a key file to KMS without rewriting the archive.
/// </summary>
public sealed class EncryptionConfig
{
    /// <summary>A file with the 32-byte key (raw, hex or base64), mode 0600 or stricter, readable by the postgres account.</summary>
    [JsonPropertyName("keyFile")]
    public string? KeyFile { get; set; }

    /// <summary>An environment variable holding the key (hex or base64).</summary>
    [JsonPropertyName("keyEnv")]
    public string? KeyEnv { get; set; }

    /// <summary>AWS KMS: envelope encryption, no long-lived key on the host.</summary>
    [JsonPropertyName("kms")]
    public KmsConfig? Kms { get; set; }
}

/// <summary>The AWS KMS key that wraps data keys; credentials from named environment variables or the SDK's chain.</summary>
public sealed class KmsConfig
{
    /// <summary>Key id, key ARN, alias/NAME or alias ARN.</summary>
    [JsonPropertyName("keyId")]
    public string KeyId { get; set; } = string.Empty;

    [JsonPropertyName("region")]
    public string? Region { get; set; }

    /// <summary>A custom endpoint: a VPC endpoint (or an emulator).</summary>
    [JsonPropertyName("endpoint")]
    public string? Endpoint { get; set; }

    [JsonPropertyName("accessKeyIdEnv")]
    public string? AccessKeyIdEnv { get; set; }

    [JsonPropertyName("secretAccessKeyEnv")]
    public string? SecretAccessKeyEnv { get; set; }

    [JsonPropertyName("sessionTokenEnv")]
    public string? SessionTokenEnv { get; set; }
}

public sealed class AsyncConfig
{
    /// <summary>Directory of the spool the async worker pushes from; on the same host as pg_wal.</summary>
    [JsonPropertyName("spoolPath")]
    public string SpoolPath { get; set; } = string.Empty;

    /// <summary>Segments pushed (or prefetched) at once.</summary>
    [JsonPropertyName("parallel")]
    public int Parallel { get; set; } = 4;

    /// <summary>How long one attempt to push one segment may take before it is abandoned and retried.</summary>
    /// <remarks>A setter, not init: the source-generated reader sets init-only properties it does not find to 0.</remarks>
    [JsonPropertyName("timeoutSeconds")]
    public int TimeoutSeconds { get; set; } = 300;

    /// <summary>Further attempts after a failed or timed-out push, before the segment's failure is reported to PostgreSQL.</summary>
    [JsonPropertyName("retries")]
    public int Retries { get; set; } = 3;

    /// <summary>How long archive_command waits for the worker's verdict before it exits non-zero (PostgreSQL retries).</summary>
    [JsonPropertyName("acknowledgementSeconds")]
    public int AcknowledgementSeconds { get; set; } = 60;
}

public sealed class BackupConfig
{
    /// <summary>
    /// Files read, compressed, encrypted and uploaded at once by a backup, and objects downloaded and written at once by
    /// a restore. 0 (the default) means one per core, at most 8: each stream keeps about one core busy compressing.
    /// </summary>
    [JsonPropertyName("parallel")]
    public int Parallel { get; set; }

    /// <summary>
    /// How long a backup waits, after pg_backup_stop, for the WAL from its start to its stop to be in every required
    /// repository. A backup is complete (and listed) only then. From a standby the last segment is archived when the
    /// primary switches to the next one (archive_timeout), so allow for that.
    /// </summary>
    [JsonPropertyName("archiveTimeoutSeconds")]
    public int ArchiveTimeoutSeconds { get; set; } = 300;

    /// <summary>The parallelism to use: <see cref="Parallel"/>, or one per core (at most 8) when it is 0.</summary>
    [JsonIgnore]
    public int EffectiveParallel => Parallel > 0 ? Parallel : Math.Clamp(Environment.ProcessorCount, 1, 8);
}

public sealed class LeaseConfig
{
    /// <summary>The repository (by name) that keeps the lease. Choose one that survives the loss of any one region.</summary>
    [JsonPropertyName("repository")]
    public string? Repository { get; set; }
}

[JsonSourceGenerationOptions(ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true)]
[JsonSerializable(typeof(PgDrConfig))]
[JsonSerializable(typeof(RepositoryConfig))]
[JsonSerializable(typeof(Dictionary<string, JsonElement>))]
[JsonSerializable(typeof(string))]
internal sealed partial class PgDrConfigJsonContext : JsonSerializerContext;
