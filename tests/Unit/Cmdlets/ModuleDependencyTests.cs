using System.Runtime.InteropServices;
using System.Text.Json;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Cmdlets;

/// <summary>
/// The module loads into PowerShell 7.4, whose .NET 8 framework is already loaded: an assembly the module ships
/// that is also a framework assembly must not ask for a newer version than 8, or Import-Module fails.
/// </summary>
public sealed class ModuleDependencyTests
{
    [Fact]
    public void No_shipped_assembly_needs_a_framework_assembly_newer_than_dotnet_8()
    {
        var root = SourceTree.Root;
        var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        var depsFile = Path.Combine(root, "src", "PgDr.Cmdlets", "bin", configuration, "net8.0", "PgDr.Cmdlets.deps.json");
        using var deps = JsonDocument.Parse(File.ReadAllText(depsFile));
        var frameworkAssemblies = Directory.GetFiles(RuntimeEnvironment.GetRuntimeDirectory(), "*.dll").Select(Path.GetFileName).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var offenders = new List<string>();
        foreach (var target in deps.RootElement.GetProperty("targets").EnumerateObject())
        {
            foreach (var library in target.Value.EnumerateObject())
            {
                if (!library.Value.TryGetProperty("runtime", out var runtime))
                {
                    continue;
                }

                foreach (var assembly in runtime.EnumerateObject())
                {
                    var name = Path.GetFileName(assembly.Name);
                    if (frameworkAssemblies.Contains(name)
                        && assembly.Value.TryGetProperty("assemblyVersion", out var version)
                        && Version.Parse(version.GetString()!).Major > 8)
                    {
                        offenders.Add($"{name} {version.GetString()} (from {library.Name})");
                    }
                }
            }
        }

        Assert.True(offenders.Count == 0, "would not load in PowerShell 7.4: " + string.Join(", ", offenders));
    }
}
