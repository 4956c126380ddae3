using PgDr.Hosting;

namespace PgDr.Tests.Fixtures;

/// <summary>
/// A tiny (2 MiB) tmpfs mounted in the temp directory, to fill a repository's disk for real. Needs root (CI runs as
/// root); <see cref="Unavailable"/> says why when the mount could not be made.
/// </summary>
public sealed class TmpfsFixture : IAsyncLifetime
{
    public const long SizeBytes = 2 * 1024 * 1024;

    public string Directory { get; } = TestDirectories.Path($"tmpfs-{Guid.NewGuid():N}");

    public bool Mounted { get; private set; }

    public string? Unavailable { get; private set; }

    public async Task InitializeAsync()
    {
        System.IO.Directory.CreateDirectory(Directory);
        var result = await ProcessRunner.RunAsync("mount", ["-t", "tmpfs", "-o", $"size={SizeBytes},mode=0755", "tmpfs", Directory], CancellationToken.None);
        Mounted = result.ExitCode == 0;
        Unavailable = Mounted ? null : $"mount -t tmpfs failed (exit {result.ExitCode}: {result.StandardError.Trim()}); the full-disk test needs root.";
    }

    /// <summary>Writes a file in the tmpfs until the device is full; the caller deletes the returned file to free it again.</summary>
    public async Task<string> FillAsync()
    {
        var filler = System.IO.Path.Combine(Directory, "filler-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            await using var stream = File.Create(filler);
            await stream.WriteAsync(new byte[SizeBytes]);
            await stream.FlushAsync();
        }
        catch (IOException)
        {
            // No space left on the device: exactly what was wanted.
        }

        return filler;
    }

    public async Task DisposeAsync()
    {
        if (Mounted)
        {
            await ProcessRunner.RunAsync("umount", ["-l", Directory], CancellationToken.None);
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
