using System.Text.Json;
using System.Text.Json.Serialization;
using PgDr.Errors;

namespace PgDr.Hosting.Sandbox;

/// <summary>
/// What a sandbox directory holds (sandbox.json), written after every node so that a sandbox interrupted
/// half-way can still be found and torn down. Holds no secret: passwords live in the 0600 .pgpass beside it.
/// </summary>
internal sealed class SandboxState
{
    public const string FileName = "sandbox.json";
    public const string PasswordFileName = ".pgpass";
    public const string ConfigFileName = "pgdr.json";
    public const string RepositoryDirectoryName = "repository";

    public int FormatVersion { get; set; } = 1;

    public string BinDirectory { get; set; } = string.Empty;

    public int PgMajorVersion { get; set; }

    public string ServiceAccount { get; set; } = string.Empty;

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>The nodes serve TLS with the sandbox CA's certificate and are reached with verify-full.</summary>
    public bool Tls { get; set; }

    /// <summary>False until every node was built and is streaming.</summary>
    public bool Complete { get; set; }

    public List<SandboxNodeState> Nodes { get; set; } = [];

    public static string PathIn(string directory) => Path.Combine(directory, FileName);

    public static SandboxState Load(string directory)
    {
        var path = PathIn(directory);
        if (!File.Exists(path))
        {
            throw new PgDrNotFoundException(ErrorIds.SandboxNotFound, $"There is no PgDr sandbox in {directory} (no {FileName}).", directory);
        }

        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(path), SandboxJsonContext.Default.SandboxState)
                ?? throw new JsonException("empty");
        }
        catch (JsonException ex)
        {
            throw new PgDrException(ErrorIds.SandboxNotFound, PgDrErrorCategory.InvalidData, $"{path} is not a PgDr sandbox state file: {ex.Message}", directory, ex);
        }
    }

    /// <summary>Written aside and renamed, so a reader never sees half a file.</summary>
    public void Save(string directory)
    {
        var path = PathIn(directory);
        var temp = path + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(this, SandboxJsonContext.Default.SandboxState));
        File.Move(temp, path, overwrite: true);
    }
}

internal sealed class SandboxNodeState
{
    public string Name { get; set; } = string.Empty;

    public int Port { get; set; }

    /// <summary>Relative to the sandbox directory, so the directory can be moved as a whole.</summary>
    public string DataDirectory { get; set; } = string.Empty;

    public string? UpstreamName { get; set; }

    public string? SlotName { get; set; }
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(SandboxState))]
internal sealed partial class SandboxJsonContext : JsonSerializerContext;
