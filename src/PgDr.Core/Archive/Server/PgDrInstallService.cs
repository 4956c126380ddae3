using PgDr.Archive.Repositories;
using PgDr.Errors;
using PgDr.Hosting;

namespace PgDr.Archive.Server;

/// <summary>
/// Copies the NativeAOT pgdr where PostgreSQL's service account can run it (Install-PgDrExecutable, pgdr install), for
/// hosts without the Debian package: the module's own copy sits under a PowerShell modules folder, often in a home
/// directory that account cannot enter, and loses its execute bit when a package manager unzips it.
/// </summary>
public static class PgDrInstallService
{
    private const UnixFileMode Executable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    /// <summary>
    /// Works out what installing changes and, when <paramref name="apply"/> is true, makes the change: the file is written
    /// aside in the target directory, made durable and renamed over the target, so no reader ever sees half a pgdr and a
    /// running archive_command keeps the file it started. Every check runs before anything is written.
    /// </summary>
    public static async Task<PgDrInstallation> InstallAsync(PgDrInstallRequest request, bool apply, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var runAs = OsUser.ForPostgres(request.ServiceAccount);
        var source = Source(request);
        var target = Target(request);
        var directory = System.IO.Path.GetDirectoryName(target)!;
        var existing = NearestExisting(directory);
        if (!await PgDrExecutable.CanRunAsync(runAs, existing, cancellationToken).ConfigureAwait(false))
        {
            throw new PgDrException(
                ErrorIds.ServiceAccountAccessDenied,
                PgDrErrorCategory.PermissionDenied,
                $"The OS account '{runAs.Name}' that runs PostgreSQL cannot enter {existing}, so it could not run pgdr installed at {target}; choose a path it can reach (the default is {PgDrExecutable.DefaultInstallPath}).",
                target);
        }

        var action = !File.Exists(target) ? PgDrInstallAction.Install
            : await SameContentAsync(source, target, cancellationToken).ConfigureAwait(false) ? PgDrInstallAction.None
            : PgDrInstallAction.Replace;
        var installation = new PgDrInstallation
        {
            Path = target,
            Source = source,
            Version = Version,
            Build = PgDrBuildKind.NativeAot,
            Action = action,
            Applied = apply,
            Bytes = new FileInfo(source).Length,
            ServiceAccount = runAs.Name,
        };
        if (!apply || action == PgDrInstallAction.None)
        {
            return installation;
        }

        try
        {
            await CopyAsync(source, target, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new PgDrException(
                ErrorIds.PgDrInstallFailed,
                ex is UnauthorizedAccessException ? PgDrErrorCategory.PermissionDenied : PgDrErrorCategory.WriteError,
                $"Could not install pgdr at {target}: {ex.Message}{(ex is UnauthorizedAccessException ? " (installing into a system directory needs root)" : string.Empty)}",
                target,
                ex);
        }

        if (!await PgDrExecutable.CanRunAsync(runAs, target, cancellationToken).ConfigureAwait(false))
        {
            throw new PgDrException(ErrorIds.ServiceAccountAccessDenied, PgDrErrorCategory.PermissionDenied, $"pgdr is installed at {target}, but the OS account '{runAs.Name}' cannot run it.", target);
        }

        return installation;
    }

    /// <summary>The version of PgDr this engine, and the pgdr built with it, carry.</summary>
    public static string Version
    {
        get
        {
            var version = typeof(PgDrInstallService).Assembly.GetName().Version!;
            return $"{version.Major}.{version.Minor}.{version.Build}";
        }
    }

    private static string Source(PgDrInstallRequest request)
    {
        var source = string.IsNullOrWhiteSpace(request.Source) ? PgDrExecutable.OwnCopy : System.IO.Path.GetFullPath(request.Source);
        if (source is null || !File.Exists(source))
        {
            throw new PgDrException(
                ErrorIds.PgDrExecutableNotFound,
                PgDrErrorCategory.NotInstalled,
                source is null
                    ? "No pgdr came with this PgDr to install (the module carries bin/<rid>/pgdr when it was packaged with one)."
                    : $"There is no pgdr at {source}: this PgDr was packaged without a pgdr for {PgDrExecutable.RuntimeIdentifier}; install the pgdr Debian package, or build it (./build.sh package).",
                source);
        }

        if (PgDrBuild.Inspect(source) != PgDrBuildKind.NativeAot)
        {
            throw new PgDrInvalidOperationException(
                ErrorIds.PgDrExecutableNotInstallable,
                $"{source} is not the NativeAOT pgdr: the framework-dependent build cannot run without the files beside it, and it is the slow build as archive_command; install the NativeAOT pgdr (./build.sh package builds it).",
                source);
        }

        return source;
    }

    private static string Target(PgDrInstallRequest request)
    {
        var target = System.IO.Path.GetFullPath(string.IsNullOrWhiteSpace(request.Path) ? PgDrExecutable.DefaultInstallPath : request.Path);
        return Directory.Exists(target) ? System.IO.Path.Combine(target, PgDrExecutable.FileName) : target;
    }

    private static string NearestExisting(string directory)
    {
        var current = directory;
        while (!Directory.Exists(current) && System.IO.Path.GetDirectoryName(current) is { } parent)
        {
            current = parent;
        }

        return current;
    }

    private static async Task<bool> SameContentAsync(string a, string b, CancellationToken cancellationToken)
    {
        if (new FileInfo(a).Length != new FileInfo(b).Length)
        {
            return false;
        }

        var left = File.OpenRead(a);
        await using (left.ConfigureAwait(false))
        {
            var right = File.OpenRead(b);
            await using (right.ConfigureAwait(false))
            {
                var x = new byte[1 << 16];
                var y = new byte[1 << 16];
                int read;
                while ((read = await left.ReadAsync(x, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    await right.ReadExactlyAsync(y.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                    if (!x.AsSpan(0, read).SequenceEqual(y.AsSpan(0, read)))
                    {
                        return false;
                    }
                }
            }
        }

        return true;
    }

    private static async Task CopyAsync(string source, string target, CancellationToken cancellationToken)
    {
        var directory = System.IO.Path.GetDirectoryName(target)!;
        if (!Directory.Exists(directory))
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(directory);
            }
            else
            {
                Directory.CreateDirectory(directory, Executable);
            }
        }

        await DurableFile.CopyAsync(source, target, System.IO.Path.Combine(directory, $".pgdr-{Guid.NewGuid():N}.tmp"), Executable, flushToDisk: true, cancellationToken).ConfigureAwait(false);
        if (OperatingSystem.IsLinux())
        {
            LinuxFileSystem.SyncDirectory(directory);
        }
    }
}
