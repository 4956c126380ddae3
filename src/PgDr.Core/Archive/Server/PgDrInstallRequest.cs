namespace PgDr.Archive.Server;

/// <summary>Where to put a pgdr that PostgreSQL's service account can run (Install-PgDrExecutable, pgdr install).</summary>
public sealed class PgDrInstallRequest
{
    /// <summary>The NativeAOT pgdr to copy; default: the one that came with the running code (<see cref="PgDrExecutable.OwnCopy"/>).</summary>
    public string? Source { get; init; }

    /// <summary>The path to install it as; an existing directory gets a pgdr inside it. Default: <see cref="PgDrExecutable.DefaultInstallPath"/>.</summary>
    public string? Path { get; init; }

    /// <summary>The OS account that must be able to run it (PostgreSQL's); default postgres.</summary>
    public string? ServiceAccount { get; init; }
}
