using System.Xml;
using System.Xml.Linq;

namespace PgDr.HelpGen;

/// <summary>Writes the MAML that Get-Help reads for binary cmdlets (the layout platyPS produces).</summary>
internal static class MamlWriter
{
    private static readonly XNamespace Msh = "http://msh";
    private static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
    private static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    private static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";

    public static void Write(IEnumerable<CmdletModel> cmdlets, string path)
    {
        var items = new XElement(Msh + "helpItems", new XAttribute("schema", "maml"),
            cmdlets.Select(CommandElement));
        var document = new XDocument(new XDeclaration("1.0", "utf-8", null), items);
        using var writer = XmlWriter.Create(path, new XmlWriterSettings { Indent = true, Encoding = new System.Text.UTF8Encoding(false) });
        document.Save(writer);
    }

    private static XElement CommandElement(CmdletModel cmdlet) =>
        new(Command + "command",
            new XAttribute(XNamespace.Xmlns + "maml", Maml),
            new XAttribute(XNamespace.Xmlns + "command", Command),
            new XAttribute(XNamespace.Xmlns + "dev", Dev),
            new XElement(Command + "details",
                new XElement(Command + "name", cmdlet.Name),
                new XElement(Command + "verb", cmdlet.Verb),
                new XElement(Command + "noun", cmdlet.Noun),
                Description(cmdlet.Synopsis)),
            Description([.. cmdlet.Description]),
            new XElement(Command + "syntax", cmdlet.ParameterSets.Select(set => SyntaxItem(cmdlet, set))),
            new XElement(Command + "parameters", AllParameters(cmdlet).Select(p => Parameter(p.Model, p.Entry, inSyntax: false))),
            new XElement(Command + "inputTypes", InputTypes(cmdlet)),
            new XElement(Command + "returnValues", cmdlet.Outputs.Select(ReturnValue)),
            cmdlet.PgDrCommand is null ? null : new XElement(Maml + "alertSet", new XElement(Maml + "alert",
                new XElement(Maml + "para", $"Where PowerShell is absent, pgdr does the same: pgdr {cmdlet.PgDrCommand} (pgdr {cmdlet.PgDrCommand} --help)."))),
            new XElement(Command + "examples", cmdlet.Examples.Select((e, i) => Example(e, i + 1))),
            new XElement(Command + "relatedLinks",
                new XElement(Maml + "navigationLink", new XElement(Maml + "linkText", "about_PgDr"), new XElement(Maml + "uri")),
                cmdlet.PgDrCommand is null ? null : new XElement(Maml + "navigationLink", new XElement(Maml + "linkText", $"pgdr {cmdlet.PgDrCommand}"), new XElement(Maml + "uri"))));

    /// <summary>Every parameter once, with its entry in the default set (or its first); then WhatIf/Confirm where supported.</summary>
    private static IEnumerable<(ParameterModel Model, ParameterSetEntry Entry)> AllParameters(CmdletModel cmdlet)
    {
        foreach (var parameter in cmdlet.Parameters)
        {
            var entry = parameter.Sets.GetValueOrDefault(cmdlet.DefaultParameterSet ?? string.Empty) ?? parameter.Sets.Values.First();
            // Mandatory in any set reads as "Required: true" only when it is mandatory everywhere it appears.
            yield return (parameter, entry with { Mandatory = parameter.Sets.Values.All(s => s.Mandatory) });
        }

        foreach (var common in ShouldProcessParameters(cmdlet))
        {
            yield return common;
        }
    }

    private static IEnumerable<(ParameterModel, ParameterSetEntry)> ShouldProcessParameters(CmdletModel cmdlet)
    {
        if (!cmdlet.SupportsShouldProcess)
        {
            yield break;
        }

        var switchType = cmdlet.SwitchType;
        var none = new ParameterSetEntry(false, null, false, false);
        var sets = new Dictionary<string, ParameterSetEntry> { [CmdletModel.AllSets] = none };
        yield return (new ParameterModel("WhatIf", switchType, "Shows what the cmdlet would change (each setting or object, old and new) and changes nothing.", ["wi"], false, sets), none);
        yield return (new ParameterModel("Confirm", switchType, "Asks for confirmation before each change. -Confirm:$false skips the question (runbooks); it never overrides -WhatIf.", ["cf"], false, sets), none);
    }

    private static XElement SyntaxItem(CmdletModel cmdlet, string set)
    {
        var members = cmdlet.Parameters
            .Where(p => p.Sets.ContainsKey(set) || p.Sets.ContainsKey(CmdletModel.AllSets))
            .Select(p => (Model: p, Entry: p.Sets.GetValueOrDefault(set) ?? p.Sets[CmdletModel.AllSets]))
            .OrderBy(p => p.Entry.Position ?? int.MaxValue)
            .ThenBy(p => p.Entry.Mandatory ? 0 : 1)
            .Concat(ShouldProcessParameters(cmdlet));
        return new XElement(Command + "syntaxItem",
            new XElement(Maml + "name", cmdlet.Name),
            members.Select(p => Parameter(p.Item1, p.Item2, inSyntax: true)));
    }

    private static XElement Parameter(ParameterModel parameter, ParameterSetEntry entry, bool inSyntax)
    {
        var pipeline = (parameter.ByValue, parameter.ByPropertyName) switch
        {
            (true, true) => "True (ByPropertyName, ByValue)",
            (true, false) => "True (ByValue)",
            (false, true) => "True (ByPropertyName)",
            _ => "False",
        };
        var typeName = FriendlyName(parameter.Type);
        return new XElement(Command + "parameter",
            new XAttribute("required", entry.Mandatory ? "true" : "false"),
            new XAttribute("variableLength", parameter.Type.IsArray ? "true" : "false"),
            new XAttribute("globbing", parameter.Wildcards ? "true" : "false"),
            new XAttribute("pipelineInput", pipeline),
            new XAttribute("position", entry.Position is int p ? p.ToString(System.Globalization.CultureInfo.InvariantCulture) : "named"),
            new XAttribute("aliases", parameter.Aliases.Count > 0 ? string.Join(", ", parameter.Aliases) : "none"),
            new XElement(Maml + "name", parameter.Name),
            Description(parameter.Description),
            parameter.IsSwitch && inSyntax ? null : new XElement(Command + "parameterValue", new XAttribute("required", parameter.IsSwitch ? "false" : "true"), new XAttribute("variableLength", "false"), typeName),
            new XElement(Dev + "type", new XElement(Maml + "name", typeName), new XElement(Maml + "uri")),
            new XElement(Dev + "defaultValue", parameter.IsSwitch ? "False" : "None"));
    }

    private static IEnumerable<XElement> InputTypes(CmdletModel cmdlet)
    {
        var piped = cmdlet.Parameters.Where(p => p.ByValue || p.ByPropertyName).ToList();
        if (piped.Count == 0)
        {
            yield return TypeEntry(Command + "inputType", "None", "This cmdlet takes no pipeline input.");
            yield break;
        }

        foreach (var parameter in piped)
        {
            var how = (parameter.ByValue, parameter.ByPropertyName) switch
            {
                (true, true) => $"by value, or any object with the property {parameter.Name}",
                (true, false) => "by value",
                _ => $"any object with the property {string.Join(" or ", new[] { parameter.Name }.Concat(parameter.Aliases))}",
            };
            yield return TypeEntry(Command + "inputType", parameter.Type.FullName!, $"-{parameter.Name}, {how}: {parameter.Description}");
        }
    }

    private static XElement ReturnValue(OutputModel output) =>
        output.Type.FullName == "System.Void"
            ? TypeEntry(Command + "returnValue", "None", "This cmdlet writes no objects.")
            : TypeEntry(Command + "returnValue", output.Type.FullName!, output.Type.FullName == "System.Boolean" ? "With -Quiet: one true or false for the whole run." : output.Description);

    private static XElement TypeEntry(XName name, string type, string description) =>
        new(name, new XElement(Dev + "type", new XElement(Maml + "name", type), new XElement(Maml + "uri")), Description(description));

    private static XElement Example(ExampleModel example, int number) =>
        new(Command + "example",
            new XElement(Maml + "title", $"-------------------------- Example {number} --------------------------"),
            new XElement(Dev + "code", example.Code),
            new XElement(Dev + "remarks", new XElement(Maml + "para", example.Remarks)));

    private static XElement Description(params string[] paragraphs) =>
        new(Maml + "description", paragraphs.Select(p => new XElement(Maml + "para", p)));

    /// <summary>The name Get-Help shows for a parameter's type: short, nullable unwrapped, arrays kept.</summary>
    private static string FriendlyName(Type type)
    {
        if (type.IsArray)
        {
            return FriendlyName(type.GetElementType()!) + "[]";
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition().FullName == "System.Nullable`1")
        {
            return FriendlyName(type.GetGenericArguments()[0]);
        }

        return type.Name;
    }
}
