using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace PgDr.HelpGen;

/// <summary>The C# XML documentation files of a folder, by member id (T:Namespace.Type, P:Namespace.Type.Property).</summary>
internal sealed partial class XmlDocs
{
    private readonly Dictionary<string, XElement> _members = new(StringComparer.Ordinal);

    public static XmlDocs LoadFolder(string folder)
    {
        var docs = new XmlDocs();
        foreach (var file in Directory.GetFiles(folder, "*.xml"))
        {
            var root = XDocument.Load(file).Root;
            if (root?.Name != "doc")
            {
                continue;
            }

            foreach (var member in root.Descendants("member"))
            {
                docs._members[(string)member.Attribute("name")!] = member;
            }
        }

        return docs;
    }

    public XElement? Member(string id) => _members.GetValueOrDefault(id);

    /// <summary>The summary of a member as plain text (references shown by their last name), or null.</summary>
    public string? Summary(string id) => Member(id)?.Element("summary") is { } summary ? Text(summary) : null;

    /// <summary>Plain text of a doc element: whitespace collapsed, &lt;see cref&gt; and &lt;paramref&gt; as names.</summary>
    public static string Text(XElement element)
    {
        var text = new StringBuilder();
        foreach (var node in element.Nodes())
        {
            text.Append(node switch
            {
                XText t => t.Value,
                XElement { Name.LocalName: "see" or "seealso" } see => (string?)see.Attribute("langword") ?? LastName((string?)see.Attribute("cref")),
                XElement { Name.LocalName: "paramref" or "typeparamref" } p => (string?)p.Attribute("name"),
                XElement e => Text(e),
                _ => string.Empty,
            });
        }

        return Whitespace().Replace(text.ToString(), " ").Trim();
    }

    /// <summary>Code keeps its lines, with the common indentation of the doc comment removed.</summary>
    public static string Code(XElement code)
    {
        var lines = code.Value.Replace("\r", string.Empty, StringComparison.Ordinal).Split('\n').ToList();
        while (lines.Count > 0 && string.IsNullOrWhiteSpace(lines[0])) { lines.RemoveAt(0); }
        while (lines.Count > 0 && string.IsNullOrWhiteSpace(lines[^1])) { lines.RemoveAt(lines.Count - 1); }
        var indent = lines.Where(l => l.Trim().Length > 0).Select(l => l.Length - l.TrimStart().Length).DefaultIfEmpty(0).Min();
        return string.Join('\n', lines.Select(l => l.Length >= indent ? l[indent..] : l.TrimStart()));
    }

    private static string LastName(string? cref) => cref is null ? string.Empty : cref[(cref.LastIndexOf('.') + 1)..];

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
