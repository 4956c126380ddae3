using System.Globalization;
using System.Text.RegularExpressions;
using PgDr.Errors;

namespace PgDr.Hosting;

/// <summary>
/// Where PostgreSQL's server programs are. Looked up, in order: an explicit directory, PGDR_PG_BINDIR,
/// <c>pg_config --bindir</c>, the Debian/Ubuntu layout (/usr/lib/postgresql/&lt;major&gt;/bin, newest first),
/// then PATH. A directory counts only if it holds initdb, pg_ctl and postgres: Debian's pg_wrapper
/// links in /usr/bin are not the real programs.
/// </summary>
public sealed partial class PostgresBinaries
{
    private static readonly string[] Required = ["initdb", "pg_ctl", "postgres"];

    private PostgresBinaries(string directory, int majorVersion)
    {
        Directory = directory;
        MajorVersion = majorVersion;
    }

    public string Directory { get; }

    public int MajorVersion { get; }

    /// <summary>Full path of one program in <see cref="Directory"/>.</summary>
    public string Tool(string name) => Path.Combine(Directory, OperatingSystem.IsWindows() ? name + ".exe" : name);

    public static Task<PostgresBinaries> LocateAsync(string? explicitDirectory, CancellationToken cancellationToken) =>
        LocateAsync(explicitDirectory, majorVersion: null, cancellationToken);

    /// <summary>The same search, taking only programs of <paramref name="majorVersion"/> when one is given (to control a running server of that version).</summary>
    public static async Task<PostgresBinaries> LocateAsync(string? explicitDirectory, int? majorVersion, CancellationToken cancellationToken)
    {
        var tried = new List<string>();
        foreach (var candidate in await CandidatesAsync(explicitDirectory, cancellationToken).ConfigureAwait(false))
        {
            tried.Add(candidate);
            if (Required.All(t => File.Exists(Path.Combine(candidate, OperatingSystem.IsWindows() ? t + ".exe" : t))))
            {
                var version = await ReadMajorVersionAsync(candidate, cancellationToken).ConfigureAwait(false);
                if (majorVersion is null || majorVersion == version)
                {
                    return new PostgresBinaries(candidate, version);
                }
            }

            if (explicitDirectory is not null && candidate == explicitDirectory)
            {
                break;
            }
        }

        throw new PgDrException(
            ErrorIds.PostgresBinariesNotFound,
            PgDrErrorCategory.NotInstalled,
            $"No PostgreSQL {(majorVersion is { } major ? major.ToString(CultureInfo.InvariantCulture) + " " : string.Empty)}server programs (initdb, pg_ctl, postgres) found; looked in: {(tried.Count == 0 ? "(nothing)" : string.Join(", ", tried.Distinct()))}. "
            + "Install them (Debian: apt-get install postgresql-15) or name the directory (-BinDirectory, --bin-dir, PGDR_PG_BINDIR).",
            explicitDirectory);
    }

    private static async Task<List<string>> CandidatesAsync(string? explicitDirectory, CancellationToken cancellationToken)
    {
        if (!string.IsNullOrEmpty(explicitDirectory))
        {
            return [explicitDirectory];
        }

        var result = new List<string>();
        var fromEnv = Environment.GetEnvironmentVariable("PGDR_PG_BINDIR");
        if (!string.IsNullOrEmpty(fromEnv))
        {
            return [fromEnv];
        }

        try
        {
            var pgConfig = await ProcessRunner.RunAsync("pg_config", ["--bindir"], cancellationToken).ConfigureAwait(false);
            if (pgConfig.ExitCode == 0 && pgConfig.StandardOutput.Trim().Length > 0)
            {
                result.Add(pgConfig.StandardOutput.Trim());
            }
        }
        catch (PgDrException)
        {
            // No pg_config on PATH: the other places still count.
        }

        const string debianRoot = "/usr/lib/postgresql";
        if (System.IO.Directory.Exists(debianRoot))
        {
            result.AddRange(System.IO.Directory.GetDirectories(debianRoot)
                .Select(d => (dir: d, ok: int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out var major), major))
                .Where(x => x.ok)
                .OrderByDescending(x => x.major)
                .Select(x => Path.Combine(x.dir, "bin")));
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            result.Add(dir);
        }

        return result;
    }

    private static async Task<int> ReadMajorVersionAsync(string directory, CancellationToken cancellationToken)
    {
        var output = await ProcessRunner.RunCheckedAsync(Path.Combine(directory, "pg_ctl"), ["--version"], cancellationToken).ConfigureAwait(false);
        var match = VersionPattern().Match(output.StandardOutput);
        return match.Success ? int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }

    [GeneratedRegex(@"\(PostgreSQL\)\s+(\d+)")]
    private static partial Regex VersionPattern();
}
