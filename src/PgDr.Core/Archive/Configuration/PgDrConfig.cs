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

    [JsonPropertyName("encryption")]
    public EncryptionConfig? Encryption { get; set; }

    [JsonPropertyName("async")]
    public AsyncConfig? Async { get; set; }

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
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new PgDrException(
                ex is FileNotFoundException or DirectoryNotFoundException ? ErrorIds.ConfigNotFound : ErrorIds.InvalidConfig,
                ex is UnauthorizedAccessException ? PgDrErrorCategory.PermissionDenied : PgDrErrorCategory.ObjectNotFound,
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

    /// <summary>The encryption key, or null when objects are stored unencrypted.</summary>
    public ArchiveKey? LoadKey()
    {
        if (Encryption is null)
        {
            return null;
        }

        return Encryption.KeyFile is { Length: > 0 } file ? ArchiveKey.FromFile(file) : ArchiveKey.FromEnvironment(Encryption.KeyEnv!);
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
        if (Encryption is not null && string.IsNullOrEmpty(Encryption.KeyFile) == string.IsNullOrEmpty(Encryption.KeyEnv))
        {
            throw Invalid(SourcePath, "'encryption' names exactly one of 'keyFile' or 'keyEnv'");
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

public sealed class EncryptionConfig
{
    /// <summary>A file with the 32-byte key (raw, hex or base64), mode 0600 or stricter, readable by the postgres account.</summary>
    [JsonPropertyName("keyFile")]
    public string? KeyFile { get; set; }

    /// <summary>An environment variable holding the key (hex or base64).</summary>
    [JsonPropertyName("keyEnv")]
    public string? KeyEnv { get; set; }
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
