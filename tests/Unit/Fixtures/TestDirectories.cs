namespace PgDr.Tests.Fixtures;

/// <summary>
/// One folder per test run in the temp directory (which the postgres OS account can reach, unlike a checkout
/// under /root), removed when the run ends, so runs leave nothing behind.
/// </summary>
public static class TestDirectories
{
    private static readonly Lazy<string> RunRoot = new(() =>
    {
        var parent = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "pgdr-tests");
        RemoveRunsThatEnded(parent);
        var root = System.IO.Path.Combine(parent, $"run-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}");
        Directory.CreateDirectory(root);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // A mount or a file still in use: leave it rather than fail the run at exit.
            }
        };
        return root;
    });

    public static string Root => RunRoot.Value;

    /// <summary>
    /// The test host is not always allowed to exit cleanly (the runner may end it), so each run also removes the
    /// folders of earlier runs whose process is gone.
    /// </summary>
    private static void RemoveRunsThatEnded(string parent)
    {
        if (!Directory.Exists(parent))
        {
            return;
        }

        foreach (var folder in Directory.GetDirectories(parent, "run-*"))
        {
            var parts = System.IO.Path.GetFileName(folder).Split('-');
            if (parts.Length < 3 || !int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var pid) || IsRunning(pid))
            {
                continue;
            }

            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Still mounted or in use: a later run will try again.
            }
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>A path (not created) for <paramref name="name"/> inside this run's folder.</summary>
    public static string Path(string name) => System.IO.Path.Combine(Root, name);
}
