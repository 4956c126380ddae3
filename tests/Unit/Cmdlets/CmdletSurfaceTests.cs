using System.CommandLine;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace PgDr.Tests.Cmdlets;

/// <summary>
/// The cmdlets' public surface, read from the compiled module's metadata (no PowerShell runtime exists here):
/// verbs, output types, ShouldProcess, the manifest's exports, docs, and a pgdr counterpart for each.
/// </summary>
public sealed class CmdletSurfaceTests : IDisposable
{
    // Get-Verb in PowerShell 7.4.
    private static readonly HashSet<string> ApprovedVerbs = new(StringComparer.Ordinal)
    {
        "Add", "Clear", "Close", "Copy", "Enter", "Exit", "Find", "Format", "Get", "Hide", "Join", "Lock", "Move", "New", "Open", "Optimize",
        "Pop", "Push", "Redo", "Remove", "Rename", "Reset", "Resize", "Search", "Select", "Set", "Show", "Skip", "Split", "Step", "Switch",
        "Undo", "Unlock", "Watch", "Connect", "Disconnect", "Read", "Receive", "Send", "Write", "Backup", "Checkpoint", "Compare", "Compress",
        "Convert", "ConvertFrom", "ConvertTo", "Dismount", "Edit", "Expand", "Export", "Group", "Import", "Initialize", "Limit", "Merge",
        "Mount", "Out", "Publish", "Restore", "Save", "Sync", "Unpublish", "Update", "Debug", "Measure", "Ping", "Repair", "Resolve", "Test",
        "Trace", "Approve", "Assert", "Build", "Complete", "Confirm", "Deny", "Deploy", "Disable", "Enable", "Install", "Invoke", "Register",
        "Request", "Restart", "Resume", "Start", "Stop", "Submit", "Suspend", "Uninstall", "Unregister", "Wait", "Block", "Grant", "Protect",
        "Revoke", "Unblock", "Unprotect", "Use",
    };

    // Verbs that only read or judge; every other verb changes state and must support -WhatIf/-Confirm.
    private static readonly HashSet<string> ReadOnlyVerbs = new(StringComparer.Ordinal)
    {
        "Get", "Test", "Find", "Search", "Measure", "Compare", "Show", "Format", "Read", "Resolve", "Trace", "Watch", "ConvertTo", "ConvertFrom", "Select",
    };

    private readonly MetadataLoadContext _context;
    private readonly List<Type> _cmdlets;

    public CmdletSurfaceTests()
    {
        var baseDir = AppContext.BaseDirectory;
        var paths = Directory.GetFiles(RuntimeEnvironment.GetRuntimeDirectory(), "*.dll")
            .Concat(Directory.GetFiles(baseDir, "*.dll"))
            .Append(Path.Combine(baseDir, "powershell-reference", "System.Management.Automation.dll"));
        _context = new MetadataLoadContext(new PathAssemblyResolver(paths));
        var assembly = _context.LoadFromAssemblyPath(Path.Combine(baseDir, "PgDr.Cmdlets.dll"));
        _cmdlets = assembly.GetTypes().Where(t => Attribute(t, "CmdletAttribute") is not null).OrderBy(t => t.Name).ToList();
    }

    public void Dispose() => _context.Dispose();

    [Fact]
    public void The_module_has_cmdlets()
    {
        Assert.True(_cmdlets.Count >= 9, $"found only {_cmdlets.Count} cmdlets");
    }

    [Fact]
    public void Every_cmdlet_uses_an_approved_verb_and_a_Pg_noun_and_is_named_after_them()
    {
        foreach (var type in _cmdlets)
        {
            var (verb, noun) = VerbNoun(type);
            Assert.True(ApprovedVerbs.Contains(verb), $"{type.Name}: '{verb}' is not an approved verb");
            Assert.StartsWith("Pg", noun, StringComparison.Ordinal);
            Assert.Equal($"{verb}{noun}Command", type.Name);
            Assert.True(type.IsSealed, $"{type.Name} should be sealed");
        }
    }

    [Fact]
    public void Every_cmdlet_declares_its_output_type()
    {
        foreach (var type in _cmdlets)
        {
            Assert.True(Attributes(type, "OutputTypeAttribute").Any(), $"{type.Name} has no [OutputType]");
        }
    }

    [Fact]
    public void Every_state_changing_cmdlet_supports_ShouldProcess_and_removals_confirm_at_high_impact()
    {
        foreach (var type in _cmdlets)
        {
            var (verb, _) = VerbNoun(type);
            var cmdlet = Attribute(type, "CmdletAttribute")!;
            var supports = Named(cmdlet, "SupportsShouldProcess") is true;
            if (ReadOnlyVerbs.Contains(verb))
            {
                Assert.False(supports, $"{type.Name} only reads; it should not offer -WhatIf");
                continue;
            }

            Assert.True(supports, $"{type.Name} changes state but does not support ShouldProcess");
            if (verb == "Remove")
            {
                Assert.Equal(3, Convert.ToInt32(Named(cmdlet, "ConfirmImpact"), System.Globalization.CultureInfo.InvariantCulture)); // ConfirmImpact.High
            }
        }
    }

    [Theory]
    [InlineData("InvokePgFailoverCommand")]
    [InlineData("InvokePgSwitchoverCommand")]
    [InlineData("JoinPgClusterCommand")]
    public void Changing_which_node_is_primary_confirms_at_high_impact(string name)
    {
        var type = _cmdlets.Single(t => t.Name == name);

        Assert.Equal(3, Convert.ToInt32(Named(Attribute(type, "CmdletAttribute")!, "ConfirmImpact"), System.Globalization.CultureInfo.InvariantCulture)); // ConfirmImpact.High
    }

    [Fact]
    public void The_manifest_exports_exactly_the_cmdlets_that_exist()
    {
        var manifest = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "module", "PgDr.psd1"));
        var block = Regex.Match(manifest, @"CmdletsToExport\s*=\s*@\((?<list>[^)]*)\)").Groups["list"].Value;
        var exported = Regex.Matches(block, "'([^']+)'").Select(m => m.Groups[1].Value).Order().ToList();
        var existing = _cmdlets.Select(t => string.Join('-', VerbNoun(t).Verb, VerbNoun(t).Noun)).Order().ToList();

        Assert.Equal(existing, exported);
        Assert.Matches(@"PowerShellVersion\s*=\s*'7\.4'", manifest);
        Assert.Matches(@"CompatiblePSEditions\s*=\s*@\('Core'\)", manifest);
        Assert.Matches(@"GUID\s*=\s*'[0-9a-f-]{36}'", manifest);
        Assert.Matches(@"FormatsToProcess\s*=\s*@\('PgDr.format.ps1xml'\)", manifest);
    }

    [Fact]
    public void The_built_manifest_carries_the_version_of_the_assemblies()
    {
        var built = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "PgDr.psd1"));
        var version = typeof(PgDr.Connections.PgInstance).Assembly.GetName().Version!;

        Assert.Contains($"ModuleVersion = '{version.Major}.{version.Minor}.{version.Build}'", built, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_cmdlet_has_a_pgdr_counterpart_that_exists()
    {
        var root = PgDr.Cli.PgDrCli.BuildRootCommand();
        foreach (var type in _cmdlets)
        {
            var attribute = Attribute(type, "PgDrCliCommandAttribute");
            Assert.True(attribute is not null, $"{type.Name} names no pgdr subcommand");
            var path = (string)attribute!.ConstructorArguments[0].Value!;
            Command command = root;
            foreach (var word in path.Split(' '))
            {
                var next = command.Subcommands.FirstOrDefault(c => c.Name == word);
                Assert.True(next is not null, $"{type.Name}: pgdr has no '{path}'");
                command = next!;
            }
        }
    }

    [Fact]
    public void Every_parameter_is_documented()
    {
        var docs = XDocument.Load(Path.Combine(AppContext.BaseDirectory, "PgDr.Cmdlets.xml"));
        var documented = docs.Descendants("member").Select(m => (string)m.Attribute("name")!).ToHashSet();
        foreach (var type in _cmdlets)
        {
            for (var t = type; t is not null && t.Namespace?.StartsWith("PgDr", StringComparison.Ordinal) == true; t = t.BaseType)
            {
                foreach (var property in t.GetProperties(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
                             .Where(p => Attributes(p, "ParameterAttribute").Any()))
                {
                    Assert.True(documented.Contains($"P:{t.FullName}.{property.Name}"), $"{t.Name}.{property.Name} has no /// summary");
                }
            }
        }
    }

    [Fact]
    public void Parameter_sets_are_named_constants_and_the_default_set_exists()
    {
        foreach (var type in _cmdlets)
        {
            var defaultSet = Named(Attribute(type, "CmdletAttribute")!, "DefaultParameterSetName") as string;
            var sets = type.GetProperties()
                .SelectMany(p => Attributes(p, "ParameterAttribute"))
                .Select(a => Named(a, "ParameterSetName") as string)
                .Where(s => s is not null && s != "__AllParameterSets")
                .ToHashSet();
            if (sets.Count > 0)
            {
                Assert.True(defaultSet is not null && sets.Contains(defaultSet), $"{type.Name}: DefaultParameterSetName '{defaultSet}' is not one of {string.Join(", ", sets)}");
            }
        }
    }

    private static (string Verb, string Noun) VerbNoun(Type type)
    {
        var attribute = Attribute(type, "CmdletAttribute")!;
        return ((string)attribute.ConstructorArguments[0].Value!, (string)attribute.ConstructorArguments[1].Value!);
    }

    private static CustomAttributeData? Attribute(MemberInfo member, string name) => Attributes(member, name).FirstOrDefault();

    private static IEnumerable<CustomAttributeData> Attributes(MemberInfo member, string name) =>
        member.GetCustomAttributesData().Where(a => a.AttributeType.Name == name);

    private static object? Named(CustomAttributeData attribute, string name) =>
        attribute.NamedArguments.FirstOrDefault(a => a.MemberName == name).TypedValue.Value;
}
