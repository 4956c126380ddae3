namespace PgDr.Cmdlets.Infrastructure;

/// <summary>
/// Names the pgdr subcommand that does what this cmdlet does, so hosts without PowerShell can do it too.
/// A test checks that every cmdlet has one and that it exists in pgdr's command tree.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class PgDrCliCommandAttribute(string path) : Attribute
{
    /// <summary>Space-separated path below pgdr, e.g. "slot drop".</summary>
    public string Path { get; } = path;
}
