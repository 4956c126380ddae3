using System.Management.Automation;
using System.Reflection;
using System.Runtime.Loader;

namespace PgDr.Loader;

/// <summary>
/// Runs when Import-Module loads PgDr (this assembly is the manifest's first nested module, so before PowerShell reads
/// the cmdlets in PgDr.Cmdlets.dll) and when Remove-Module unloads it: teaches the default context where the engine
/// is. The cmdlets reference PgDr.Core; the default context does not find it (it is in Dependencies/) and asks its
/// Resolving handlers, and this one hands it the engine loaded in <see cref="EngineLoadContext"/>, which then
/// resolves everything the engine needs from the same folder. Only the engine's unique name is answered here:
/// Npgsql, Azure.Core or System.Text.Json asked for by anyone else are none of PgDr's business.
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    public void OnImport()
    {
        // Import-Module after Remove-Module runs this again in the same process: never subscribe twice.
        AssemblyLoadContext.Default.Resolving -= ResolveEngine;
        AssemblyLoadContext.Default.Resolving += ResolveEngine;
    }

    public void OnRemove(PSModuleInfo psModuleInfo) => AssemblyLoadContext.Default.Resolving -= ResolveEngine;

    private static Assembly? ResolveEngine(AssemblyLoadContext context, AssemblyName name) =>
        string.Equals(name.Name, EngineLoadContext.EngineAssemblyName, StringComparison.Ordinal)
            ? EngineLoadContext.Instance.LoadFromAssemblyName(name)
            : null;
}
