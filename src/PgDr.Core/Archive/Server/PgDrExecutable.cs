using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using PgDr.Errors;
using PgDr.Hosting;

namespace PgDr.Archive.Server;

/// <summary>
/// Finds the pgdr executable that archive_command and restore_command will run: the one place that knows where pgdr is
/// installed, so every command that writes one of them (Set-PgWalArchiving, New-PgStandby, restores) picks the same.
/// </summary>
public static class PgDrExecutable
{
    /// <summary>Where the pgdr Debian package installs it.</summary>
    public const string PackagedPath = "/usr/bin/pgdr";

    /// <summary>The file name of pgdr on this platform.</summary>
    public static string FileName => OperatingSystem.IsWindows() ? "pgdr.exe" : "pgdr";

    /// <summary>Where Install-PgDrExecutable and pgdr install put it by default: outside any package manager's files.</summary>
    public static string DefaultInstallPath => OperatingSystem.IsWindows()
        ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.ProgramFiles), "PgDr", FileName)
        : "/usr/local/bin/pgdr";

    /// <summary>The runtime identifier pgdr binaries are built and shipped for (bin/&lt;rid&gt;/ in the module).</summary>
    public static string RuntimeIdentifier
    {
        get
        {
            var os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
            return $"{os}-{RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant()}";
        }
    }

    /// <summary>
    /// The pgdr that came with the running code: pgdr itself when this is the pgdr process, or the module's
    /// <c>bin/&lt;rid&gt;/pgdr</c> when the engine runs in PowerShell (it is loaded from the module's Dependencies folder).
    /// Null when there is none (a test host, a build folder).
    /// </summary>
    [UnconditionalSuppressMessage("SingleFile", "IL3000", Justification = "In pgdr (the only single-file build) the process path answers first; an empty location means no module copy.")]
    public static string? OwnCopy
    {
        get
        {
            if (Environment.ProcessPath is { } process && Path.GetFileNameWithoutExtension(process) == "pgdr")
            {
                return process;
            }

            var engine = typeof(PgDrExecutable).Assembly.Location;
            var dependencies = string.IsNullOrEmpty(engine) ? null : Path.GetDirectoryName(engine);
            return dependencies is not null && Path.GetFileName(dependencies) == "Dependencies"
                ? Path.Combine(Path.GetDirectoryName(dependencies)!, "bin", RuntimeIdentifier, FileName)
                : null;
        }
    }

    /// <summary>
    /// The pgdr PostgreSQL's service account (<paramref name="runAs"/>) will run, as an absolute path (the archiver runs
    /// with the server's environment, not the caller's). An explicit path must exist and be executable by that account.
    /// Otherwise the first of these that exists and that the account can run: the Debian package's /usr/bin/pgdr, the
    /// default of Install-PgDrExecutable (/usr/local/bin/pgdr), and the NativeAOT pgdr that came with the running code
    /// (the module's own copy, or pgdr itself). None: an error that says how to install one.
    /// </summary>
    public static Task<string> LocateAsync(string? explicitPath, OsUser runAs, CancellationToken cancellationToken) =>
        LocateAsync(explicitPath, runAs, DefaultCandidates(), cancellationToken);

    /// <summary>
    /// The default places, in order (see <see cref="LocateAsync(string?, OsUser, CancellationToken)"/>). The copy that
    /// came with the running code counts only when it is the NativeAOT build: a framework-dependent pgdr (a developer's
    /// build, the one ./build.sh demo drives the sandbox with) is never chosen for archive_command without being named.
    /// </summary>
    public static IReadOnlyList<string> DefaultCandidates()
    {
        var candidates = new List<string>();
        if (!OperatingSystem.IsWindows())
        {
            candidates.Add(PackagedPath);
        }

        candidates.Add(DefaultInstallPath);
        if (OwnCopy is { } own && PgDrBuild.Inspect(own) != PgDrBuildKind.FrameworkDependent)
        {
            candidates.Add(own);
        }

        return candidates.Distinct(StringComparer.Ordinal).ToList();
    }

    internal static async Task<string> LocateAsync(string? explicitPath, OsUser runAs, IReadOnlyList<string> candidates, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runAs);
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            var full = Path.GetFullPath(explicitPath);
            if (!File.Exists(full))
            {
                throw new PgDrException(ErrorIds.PgDrExecutableNotFound, PgDrErrorCategory.ObjectNotFound, $"There is no pgdr executable at {full}.", full);
            }

            return await CanRunAsync(runAs, full, cancellationToken).ConfigureAwait(false)
                ? full
                : throw new PgDrException(
                    ErrorIds.ServiceAccountAccessDenied,
                    PgDrErrorCategory.PermissionDenied,
                    $"The OS account '{runAs.Name}' that runs PostgreSQL cannot run {full} (every directory above it must be searchable, the file executable); Install-PgDrExecutable or pgdr install copies pgdr where it can.",
                    full);
        }

        var tried = new List<string>();
        foreach (var candidate in candidates)
        {
            if (!File.Exists(candidate))
            {
                tried.Add($"{candidate} (absent)");
                continue;
            }

            if (await CanRunAsync(runAs, candidate, cancellationToken).ConfigureAwait(false))
            {
                return Path.GetFullPath(candidate);
            }

            tried.Add($"{candidate} (not executable by '{runAs.Name}')");
        }

        throw new PgDrException(
            ErrorIds.PgDrExecutableNotFound,
            PgDrErrorCategory.NotInstalled,
            $"No pgdr that the OS account '{runAs.Name}' can run: tried {string.Join(", ", tried)}. Install the pgdr Debian package "
            + $"(apt-get install ./pgdr_<version>_amd64.deb), or copy the module's pgdr with Install-PgDrExecutable (pgdr install) to {DefaultInstallPath}, "
            + "or name one with -PgDrPath (--pgdr).",
            tried.Count > 0 ? candidates[0] : null);
    }

    /// <summary>
    /// Whether the service account can run <paramref name="path"/> (or enter it, for a directory): asked as that account when PgDr runs as root (every
    /// parent directory counts as it will for PostgreSQL). A caller that is neither root nor that account cannot ask it,
    /// so then the file and every directory above it must be searchable by anyone.
    /// </summary>
    internal static async Task<bool> CanRunAsync(OsUser runAs, string path, CancellationToken cancellationToken)
    {
        if (OperatingSystem.IsWindows())
        {
            return true;
        }

        if (runAs.SwitchNeeded || runAs.Name == "postgres")
        {
            return await runAs.HasAccessAsync(path, ["-x"], cancellationToken).ConfigureAwait(false);
        }

        for (var current = Path.GetFullPath(path); !string.IsNullOrEmpty(current); current = Path.GetDirectoryName(current))
        {
            if ((File.GetUnixFileMode(current) & UnixFileMode.OtherExecute) == 0)
            {
                return false;
            }
        }

        return true;
    }
}
