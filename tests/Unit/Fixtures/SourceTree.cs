namespace PgDr.Tests.Fixtures;

/// <summary>The repository checkout the tests were built from (for build outputs and artifacts beside the test output).</summary>
public static class SourceTree
{
    private static readonly Lazy<string> RootPath = new(() =>
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "PgDr.sln")))
        {
            root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("PgDr.sln not found above the test output.");
        }

        return root;
    });

    /// <summary>The folder holding PgDr.sln.</summary>
    public static string Root => RootPath.Value;
}
