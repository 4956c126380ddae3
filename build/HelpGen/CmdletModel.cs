using System.Reflection;
using System.Xml.Linq;

namespace PgDr.HelpGen;

/// <summary>One parameter as help shows it, merged over its [Parameter] attributes.</summary>
internal sealed record ParameterModel(
    string Name,
    Type Type,
    string Description,
    IReadOnlyList<string> Aliases,
    bool Wildcards,
    IReadOnlyDictionary<string, ParameterSetEntry> Sets)
{
    public bool IsSwitch => Type.Name == "SwitchParameter";

    public bool ByValue => Sets.Values.Any(s => s.ByValue);

    public bool ByPropertyName => Sets.Values.Any(s => s.ByPropertyName);
}

/// <summary>How a parameter takes part in one parameter set ("__AllParameterSets" when it is in all).</summary>
internal sealed record ParameterSetEntry(bool Mandatory, int? Position, bool ByValue, bool ByPropertyName);

internal sealed record ExampleModel(string Code, string Remarks);

internal sealed record OutputModel(Type Type, string Description);

/// <summary>A cmdlet's help, read from its metadata (through MetadataLoadContext) and its XML docs.</summary>
internal sealed class CmdletModel
{
    public const string AllSets = "__AllParameterSets";

    public required string Verb { get; init; }

    public required string Noun { get; init; }

    public string Name => $"{Verb}-{Noun}";

    public required string TypeName { get; init; }

    public required string Synopsis { get; init; }

    public required IReadOnlyList<string> Description { get; init; }

    public required IReadOnlyList<ExampleModel> Examples { get; init; }

    public required IReadOnlyList<ParameterModel> Parameters { get; init; }

    public required IReadOnlyList<OutputModel> Outputs { get; init; }

    public required string? DefaultParameterSet { get; init; }

    public required bool SupportsShouldProcess { get; init; }

    /// <summary>The pgdr subcommand that does the same ([PgDrCliCommand]), or null.</summary>
    public required string? PgDrCommand { get; init; }

    /// <summary>PowerShell's SwitchParameter type (for -WhatIf and -Confirm, which the cmdlet does not declare itself).</summary>
    public required Type SwitchType { get; init; }

    /// <summary>The named parameter sets, or the one unnamed set.</summary>
    public IReadOnlyList<string> ParameterSets
    {
        get
        {
            var named = Parameters.SelectMany(p => p.Sets.Keys).Where(s => s != AllSets).Distinct().ToList();
            if (named.Count == 0)
            {
                return [AllSets];
            }

            // The default set first, as Get-Command shows it.
            return [.. named.OrderBy(s => s == DefaultParameterSet ? 0 : 1).ThenBy(s => s, StringComparer.Ordinal)];
        }
    }

    /// <summary>What would make Get-Help -Full incomplete for this cmdlet.</summary>
    public IEnumerable<string> Problems()
    {
        if (Synopsis.Length == 0)
        {
            yield return $"{TypeName}: no <para type=\"synopsis\"> in its XML doc";
        }

        if (Description.Count == 0)
        {
            yield return $"{TypeName}: no <para type=\"description\"> in its XML doc";
        }

        if (Examples.Count == 0)
        {
            yield return $"{TypeName}: no <example><code> in its XML doc";
        }

        foreach (var parameter in Parameters.Where(p => p.Description.Length == 0))
        {
            yield return $"{TypeName}: parameter {parameter.Name} has no /// summary";
        }

        if (Outputs.Count == 0)
        {
            yield return $"{TypeName}: no [OutputType]";
        }
    }

    public static List<CmdletModel> Read(Assembly assembly, XmlDocs docs) =>
        assembly.GetTypes()
            .Where(t => t is { IsAbstract: false, IsPublic: true } && Attribute(t, "CmdletAttribute") is not null)
            .Select(t => FromType(t, docs))
            .OrderBy(c => c.Noun, StringComparer.Ordinal)
            .ThenBy(c => c.Verb, StringComparer.Ordinal)
            .ToList();

    private static CmdletModel FromType(Type type, XmlDocs docs)
    {
        var cmdlet = Attribute(type, "CmdletAttribute")!;
        var summary = docs.Member("T:" + type.FullName)?.Element("summary");
        var paras = summary?.Elements("para").ToList() ?? [];
        return new CmdletModel
        {
            Verb = (string)cmdlet.ConstructorArguments[0].Value!,
            Noun = (string)cmdlet.ConstructorArguments[1].Value!,
            TypeName = type.FullName!,
            Synopsis = string.Join(" ", paras.Where(p => (string?)p.Attribute("type") == "synopsis").Select(XmlDocs.Text)),
            Description = paras.Where(p => (string?)p.Attribute("type") == "description").Select(XmlDocs.Text).Where(t => t.Length > 0).ToList(),
            Examples = (summary?.Elements("example") ?? []).Concat(docs.Member("T:" + type.FullName)?.Elements("example") ?? [])
                .Where(e => e.Element("code") is not null)
                .Select(e => new ExampleModel(XmlDocs.Code(e.Element("code")!), string.Join(" ", e.Elements("para").Select(XmlDocs.Text))))
                .ToList(),
            Parameters = ReadParameters(type, docs),
            Outputs = ReadOutputs(type, docs),
            DefaultParameterSet = Named(cmdlet, "DefaultParameterSetName") as string,
            SupportsShouldProcess = Named(cmdlet, "SupportsShouldProcess") is true,
            PgDrCommand = Attribute(type, "PgDrCliCommandAttribute")?.ConstructorArguments[0].Value as string,
            SwitchType = cmdlet.AttributeType.Assembly.GetType("System.Management.Automation.SwitchParameter", throwOnError: true)!,
        };
    }

    private static List<ParameterModel> ReadParameters(Type type, XmlDocs docs)
    {
        var parameters = new List<ParameterModel>();
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var attributes = property.GetCustomAttributesData().Where(a => a.AttributeType.Name == "ParameterAttribute").ToList();
            if (attributes.Count == 0)
            {
                continue;
            }

            var sets = new Dictionary<string, ParameterSetEntry>(StringComparer.Ordinal);
            foreach (var attribute in attributes)
            {
                var position = Named(attribute, "Position") is int p && p != int.MinValue ? p : (int?)null;
                sets[Named(attribute, "ParameterSetName") as string ?? AllSets] = new ParameterSetEntry(
                    Named(attribute, "Mandatory") is true, position, Named(attribute, "ValueFromPipeline") is true, Named(attribute, "ValueFromPipelineByPropertyName") is true);
            }

            var aliases = property.GetCustomAttributesData()
                .Where(a => a.AttributeType.Name == "AliasAttribute")
                .SelectMany(a => a.ConstructorArguments[0].Value is IEnumerable<CustomAttributeTypedArgument> names ? names.Select(n => (string)n.Value!) : [])
                .ToList();
            var wildcards = property.GetCustomAttributesData().Any(a => a.AttributeType.Name == "SupportsWildcardsAttribute");
            // Documented where it is declared: a base class's parameter carries the base class's doc.
            var description = docs.Summary($"P:{property.DeclaringType!.FullName}.{property.Name}") ?? string.Empty;
            parameters.Add(new ParameterModel(property.Name, property.PropertyType, description, aliases, wildcards, sets));
        }

        // Positional parameters by position, then mandatory ones, then the rest in declaration order (as Get-Command lists them).
        return parameters
            .OrderBy(p => p.Sets.Values.Min(s => s.Position ?? int.MaxValue))
            .ThenBy(p => p.Sets.Values.Any(s => s.Mandatory) ? 0 : 1)
            .ToList();
    }

    private static List<OutputModel> ReadOutputs(Type type, XmlDocs docs) =>
        type.GetCustomAttributesData()
            .Where(a => a.AttributeType.Name == "OutputTypeAttribute")
            .SelectMany(a => a.ConstructorArguments.SelectMany(arg => arg.Value switch
            {
                IEnumerable<CustomAttributeTypedArgument> types => types.Select(t => t.Value as Type),
                Type single => [single],
                _ => [],
            }))
            .OfType<Type>()
            .DistinctBy(t => t.FullName)
            .Select(t => new OutputModel(t, docs.Summary("T:" + t.FullName) ?? string.Empty))
            .ToList();

    private static CustomAttributeData? Attribute(MemberInfo member, string name) =>
        member.GetCustomAttributesData().FirstOrDefault(a => a.AttributeType.Name == name);

    private static object? Named(CustomAttributeData attribute, string name) =>
        attribute.NamedArguments.FirstOrDefault(n => n.MemberName == name) is { MemberInfo: not null } arg ? arg.TypedValue.Value : null;
}
