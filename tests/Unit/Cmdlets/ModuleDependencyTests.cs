using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Cmdlets;

/// <summary>
/// The module folder as PowerShell 7.4 (.NET 8) loads it. The root holds what lands in the session's default context
/// (the loader and the cmdlets), where the .NET 8 framework and whatever other modules loaded are already there, so it
/// may ask only for .NET 8, PowerShell and the engine. Everything else sits in Dependencies/ and loads in PgDr's own
/// AssemblyLoadContext, which finds a name there or else falls back to the framework: so each dependency must find
/// every assembly it needs either in the folder, at its version or newer, or in .NET 8's framework.
/// </summary>
public sealed class ModuleDependencyTests
{
    // What PowerShell itself provides to every module (compiled against PowerShellStandard).
    private static readonly HashSet<string> PowerShellAssemblies = new(StringComparer.OrdinalIgnoreCase) { "System.Management.Automation" };

    private static readonly string ModuleFolder = FindModuleFolder();
    private static readonly Dictionary<string, Version> DotNet8 = DotNet8Framework();

    [Fact]
    public void The_module_root_holds_only_the_loader_and_the_cmdlets()
    {
        var rootAssemblies = Directory.GetFiles(ModuleFolder, "*.dll").Select(Path.GetFileName).Order().ToList();
        Assert.Equal(["PgDr.Cmdlets.dll", "PgDr.Loader.dll"], rootAssemblies);
        Assert.True(File.Exists(Path.Combine(ModuleFolder, "Dependencies", "PgDr.Core.dll")), "the engine is not in Dependencies/");
    }

    [Fact]
    public void Root_assemblies_ask_only_for_dotnet_8_PowerShell_and_the_engine()
    {
        var offenders = new List<string>();
        foreach (var path in Directory.GetFiles(ModuleFolder, "*.dll"))
        {
            foreach (var reference in References(path))
            {
                var allowed = PowerShellAssemblies.Contains(reference.Name!)
                    || reference.Name == "PgDr.Core"
                    || (DotNet8.TryGetValue(reference.Name!, out var framework) && reference.Version! <= framework);
                if (!allowed)
                {
                    offenders.Add($"{Path.GetFileName(path)} -> {reference.Name} {reference.Version}");
                }
            }
        }

        Assert.True(offenders.Count == 0, "the default context of PowerShell 7.4 cannot provide: " + string.Join(", ", offenders));
    }

    [Fact]
    public void Every_dependency_finds_what_it_needs_in_the_folder_or_in_dotnet_8()
    {
        var dependencies = Path.Combine(ModuleFolder, "Dependencies");
        var shipped = Directory.GetFiles(dependencies, "*.dll").ToDictionary(p => Path.GetFileNameWithoutExtension(p), p => AssemblyName.GetAssemblyName(p).Version!, StringComparer.OrdinalIgnoreCase);
        var offenders = new List<string>();
        foreach (var path in Directory.GetFiles(dependencies, "*.dll"))
        {
            foreach (var reference in References(path))
            {
                // The context takes the folder's copy of a name first, so a shipped name must be new enough.
                var found = shipped.TryGetValue(reference.Name!, out var version)
                    ? version >= reference.Version!
                    : DotNet8.TryGetValue(reference.Name!, out var framework) && reference.Version! <= framework;
                if (!found)
                {
                    offenders.Add($"{Path.GetFileName(path)} -> {reference.Name} {reference.Version}");
                }
            }
        }

        Assert.True(offenders.Count == 0, "would not load in PowerShell 7.4: " + string.Join(", ", offenders));
    }

    [Fact]
    public void Nothing_in_Dependencies_is_also_in_the_root()
    {
        // A name in both places would load twice, once in each context, and the cmdlets' types would not be the engine's.
        var root = Directory.GetFiles(ModuleFolder, "*.dll").Select(Path.GetFileName).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var both = Directory.GetFiles(Path.Combine(ModuleFolder, "Dependencies"), "*.dll").Select(Path.GetFileName).Where(root.Contains).ToList();
        Assert.Empty(both);
    }

    private static List<AssemblyName> References(string path)
    {
        using var stream = File.OpenRead(path);
        using var pe = new PEReader(stream);
        var metadata = pe.GetMetadataReader();
        return metadata.AssemblyReferences.Select(h => metadata.GetAssemblyReference(h).GetAssemblyName()).ToList();
    }

    /// <summary>The assemblies of .NET 8's shared framework and their versions, from its targeting pack (restored to build the net8.0 projects).</summary>
    private static Dictionary<string, Version> DotNet8Framework()
    {
        var packages = typeof(ModuleDependencyTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "NuGetPackageRoot").Value!;
        var pack = Directory.GetDirectories(Path.Combine(packages, "microsoft.netcore.app.ref"), "8.0.*").OrderBy(d => Version.Parse(Path.GetFileName(d))).LastOrDefault()
            ?? throw new InvalidOperationException($"The .NET 8 targeting pack is not under {packages}microsoft.netcore.app.ref (restore the net8.0 projects first).");
        return Directory.GetFiles(Path.Combine(pack, "ref", "net8.0"), "*.dll")
            .ToDictionary(p => Path.GetFileNameWithoutExtension(p), p => AssemblyName.GetAssemblyName(p).Version!, StringComparer.OrdinalIgnoreCase);
    }

    private static string FindModuleFolder()
    {
        var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        var folder = configuration == "Release"
            ? Path.Combine(SourceTree.Root, "artifacts", "module", "PgDr")
            : Path.Combine(SourceTree.Root, "src", "PgDr.Cmdlets", "bin", configuration, "net8.0", "module", "PgDr");
        return File.Exists(Path.Combine(folder, "PgDr.psd1")) ? folder : throw new InvalidOperationException($"The module folder {folder} is not built.");
    }
}
