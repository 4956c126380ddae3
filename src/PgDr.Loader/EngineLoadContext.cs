using System.Reflection;
using System.Runtime.Loader;

namespace PgDr.Loader;

/// <summary>
/// The AssemblyLoadContext the engine (PgDr.Core) and all its dependencies live in: Npgsql, the AWS and Azure SDKs,
/// and the newer System.Text.Json, DiagnosticSource and Logging.Abstractions they need. A PowerShell session already
/// holds its own versions of some of them (PowerShell 7.4's .NET 8 framework, another module's Npgsql or
/// Azure.Core), and the default context can hold one version of a name only; in this context PgDr gets exactly the
/// versions it was built and tested with, whatever the session loaded before or loads after.
/// </summary>
/// <remarks>
/// The files sit in the module's Dependencies folder, which neither the default context nor PowerShell's own
/// resolver ever probes, so nothing from it can end up in the default context by accident. A name the folder does
/// not hold (System.Runtime and the rest of the framework) falls through to the default context, so the types the
/// cmdlets and the engine exchange (strings, TimeSpan, the engine's own types) are the same on both sides.
/// </remarks>
internal sealed class EngineLoadContext : AssemblyLoadContext
{
    /// <summary>The engine assembly: the one name the default context is taught to resolve (by ModuleInitializer).</summary>
    public const string EngineAssemblyName = "PgDr.Core";

    private readonly string _directory;

    private EngineLoadContext(string directory)
        : base("PgDr", isCollectible: false)
    {
        _directory = directory;
    }

    /// <summary>The one context of this module in the process: Remove-Module and Import-Module again reuse it.</summary>
    public static EngineLoadContext Instance { get; } = new(Path.Combine(Path.GetDirectoryName(typeof(EngineLoadContext).Assembly.Location)!, "Dependencies"));

    /// <summary>The folder the engine and its dependencies are loaded from.</summary>
    public string Directory => _directory;

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        var path = Path.Combine(_directory, assemblyName.Name + ".dll");
        return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
    }
}
