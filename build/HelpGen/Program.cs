using System.Reflection;
using System.Runtime.InteropServices;
using PgDr.HelpGen;

// HelpGen <cmdlet assembly> <output MAML file> <reference folder or file>...
// The cmdlet assembly's XML docs (same name, .xml) and those of any assembly beside it (for output type descriptions)
// are read from its folder. What would leave a cmdlet's help incomplete (no synopsis, description, example or parameter
// description) is reported as a build warning, and tests/Pester/Help.Tests.ps1 fails on it.
if (args.Length < 3)
{
    Console.Error.WriteLine("usage: HelpGen <cmdlet assembly> <output MAML file> <reference folder or file>...");
    return 2;
}

var assemblyPath = Path.GetFullPath(args[0]);
var output = Path.GetFullPath(args[1]);
var references = args.Skip(2)
    .SelectMany(r => Directory.Exists(r) ? Directory.GetFiles(r, "*.dll") : [r])
    .Concat(Directory.GetFiles(Path.GetDirectoryName(assemblyPath)!, "*.dll"))
    .Concat(Directory.GetFiles(RuntimeEnvironment.GetRuntimeDirectory(), "*.dll"))
    .GroupBy(Path.GetFileName, StringComparer.OrdinalIgnoreCase)
    .Select(g => g.First());

using var context = new MetadataLoadContext(new PathAssemblyResolver(references));
var assembly = context.LoadFromAssemblyPath(assemblyPath);
var docs = XmlDocs.LoadFolder(Path.GetDirectoryName(assemblyPath)!);
var cmdlets = CmdletModel.Read(assembly, docs);

foreach (var problem in cmdlets.SelectMany(c => c.Problems()))
{
    Console.WriteLine($"{assemblyPath}: warning HELP001: {problem}");
}

Directory.CreateDirectory(Path.GetDirectoryName(output)!);
MamlWriter.Write(cmdlets, output);
Console.WriteLine($"HelpGen: {cmdlets.Count} cmdlets -> {output}");
return 0;
