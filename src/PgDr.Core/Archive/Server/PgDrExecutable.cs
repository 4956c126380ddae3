using PgDr.Errors;

namespace PgDr.Archive.Server;

/// <summary>Finds the pgdr executable that archive_command and restore_command will run.</summary>
public static class PgDrExecutable
{
    /// <summary>
    /// An explicit path must exist; otherwise pgdr is looked up on PATH. The result is absolute, because the
    /// archiver runs with the server's environment, not the caller's.
    /// </summary>
    public static string Locate(string? explicitPath)
    {
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            var full = Path.GetFullPath(explicitPath);
            return File.Exists(full)
                ? full
                : throw new PgDrException(ErrorIds.PgDrExecutableNotFound, PgDrErrorCategory.ObjectNotFound, $"There is no pgdr executable at {full}.", full);
        }

        var name = OperatingSystem.IsWindows() ? "pgdr.exe" : "pgdr";
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return Path.GetFullPath(candidate);
            }
        }

        throw new PgDrException(
            ErrorIds.PgDrExecutableNotFound,
            PgDrErrorCategory.ObjectNotFound,
            "pgdr is not on PATH; name it explicitly (-PgDrPath, --pgdr) with a path the postgres OS account can run.",
            name);
    }
}
