using PgDr.Hosting.Sandbox;

namespace PgDr.Tests.Fixtures;

/// <summary>
/// A real sandbox topology for tests, built with the same engine code users run (pgdr sandbox up) and
/// removed afterwards, even when tests failed. Subclasses choose the shape.
/// </summary>
public abstract class SandboxFixture : IAsyncLifetime
{
    private PgSandbox? _sandbox;

    protected abstract SandboxSpec Spec(string directory);

    public PgSandbox Sandbox => _sandbox ?? throw new InvalidOperationException("The sandbox was not created.");

    /// <summary>A fresh directory the postgres OS account can reach (the temp directory, not a checkout under /root).</summary>
    public static string NewDirectory(string label) =>
        TestDirectories.Path($"{label}-{Guid.NewGuid():N}"[..(label.Length + 9)]);

    public async Task InitializeAsync()
    {
        var directory = NewDirectory(GetType().Name.Replace("Fixture", string.Empty, StringComparison.Ordinal).ToLowerInvariant());
        Directory.CreateDirectory(Path.GetDirectoryName(directory)!);
        _sandbox = await SandboxService.CreateAsync(Spec(directory), progress: null, CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        if (_sandbox is not null)
        {
            await SandboxService.RemoveAsync(_sandbox.Directory, progress: null, CancellationToken.None);
        }
    }
}

/// <summary>Primary, two standbys and a cascading standby, shared by the tests that only read or add-and-remove.</summary>
public sealed class SharedTopologyFixture : SandboxFixture
{
    protected override SandboxSpec Spec(string directory) => new() { Directory = directory, Standbys = 2, Cascading = true };
}

[CollectionDefinition(Name)]
public sealed class SharedTopology : ICollectionFixture<SharedTopologyFixture>
{
    public const string Name = "Shared topology";
}

/// <summary>A primary and one standby, for one test class that stops or changes nodes.</summary>
public sealed class PrimaryAndStandbyFixture : SandboxFixture
{
    protected override SandboxSpec Spec(string directory) => new() { Directory = directory, Standbys = 1 };
}
