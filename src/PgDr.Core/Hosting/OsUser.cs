using System.Runtime.InteropServices;
using PgDr.Errors;

namespace PgDr.Hosting;

/// <summary>
/// The operating-system account PostgreSQL runs as. PostgreSQL refuses to run as root, so when PgDr runs
/// as root (CI, a root shell, a runbook) the servers and their tools run as the postgres account instead.
/// </summary>
public sealed class OsUser
{
    private OsUser(string name, bool switchNeeded, string? homeDirectory = null, bool canRunAs = true)
    {
        Name = name;
        SwitchNeeded = switchNeeded;
        HomeDirectory = homeDirectory;
        CanRunAs = canRunAs;
    }

    public string Name { get; }

    /// <summary>
    /// The account's home directory when programs switch to it; they get it as HOME, because libpq looks there for
    /// ~/.pgpass and ~/.postgresql/ (client certificates), and root's home is closed to other accounts.
    /// </summary>
    public string? HomeDirectory { get; }

    /// <summary>True when programs must be started under another account than the caller's.</summary>
    public bool SwitchNeeded { get; }

    /// <summary>False when this is another account than the caller's and the caller is not root: nothing can run as it.</summary>
    public bool CanRunAs { get; }

    public static bool CallerIsRoot => !OperatingSystem.IsWindows() && geteuid() == 0;

    /// <summary>
    /// The caller itself when it is not root; otherwise <paramref name="serviceAccount"/> (default postgres),
    /// which must exist.
    /// </summary>
    public static OsUser ForPostgres(string? serviceAccount = null)
    {
        if (!CallerIsRoot)
        {
            return new OsUser(Environment.UserName, switchNeeded: false);
        }

        var name = string.IsNullOrEmpty(serviceAccount) ? "postgres" : serviceAccount;
        var entry = getpwnam(name);
        if (entry == IntPtr.Zero)
        {
            throw new PgDrException(
                ErrorIds.OsUserNotFound,
                PgDrErrorCategory.NotInstalled,
                $"PostgreSQL cannot run as root and the OS account '{name}' does not exist; create it (installing postgresql does) or run as a non-root user.",
                name);
        }

        var home = Marshal.PtrToStringAnsi(Marshal.PtrToStructure<Passwd>(entry).Directory);
        return new OsUser(name, switchNeeded: true, string.IsNullOrEmpty(home) ? null : home);
    }

    /// <summary>
    /// The account with user id <paramref name="uid"/> (e.g. the one a running server uses): the caller itself, an
    /// account root can switch to, or one the caller cannot act as (<see cref="CanRunAs"/> false). Null when the id
    /// has no account name.
    /// </summary>
    public static OsUser? ForUid(uint uid)
    {
        if (OperatingSystem.IsWindows())
        {
            return null;
        }

        var entry = getpwuid(uid);
        if (entry == IntPtr.Zero)
        {
            return null;
        }

        var passwd = Marshal.PtrToStructure<Passwd>(entry);
        var name = Marshal.PtrToStringAnsi(passwd.Name);
        if (string.IsNullOrEmpty(name))
        {
            return null;
        }

        var home = Marshal.PtrToStringAnsi(passwd.Directory);
        home = string.IsNullOrEmpty(home) ? null : home;
        var callerUid = geteuid();
        return callerUid == uid ? new OsUser(name, switchNeeded: false)
            : callerUid == 0 ? new OsUser(name, switchNeeded: true, home)
            : new OsUser(name, switchNeeded: true, home, canRunAs: false);
    }

    /// <summary>Hands a directory tree to this account (when running as root); otherwise nothing to do.</summary>
    public async Task TakeOwnershipAsync(string path, CancellationToken cancellationToken)
    {
        if (SwitchNeeded)
        {
            await ProcessRunner.RunCheckedAsync("chown", ["-R", $"{Name}:", path], cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Whether this account can write into <paramref name="directory"/> (every parent must be traversable).</summary>
    public async Task<bool> CanWriteAsync(string directory, CancellationToken cancellationToken)
    {
        if (!SwitchNeeded)
        {
            return true;
        }

        var result = await ProcessRunner.RunAsync("test", ["-w", directory, "-a", "-x", directory], cancellationToken, this, workingDirectory: "/").ConfigureAwait(false);
        return result.ExitCode == 0;
    }

    /// <summary>
    /// Whether this account passes each test(1) check in <paramref name="tests"/> (-r, -w, -x) on <paramref name="path"/>: asked as
    /// the account itself, so every parent directory's permissions count as they will for PostgreSQL.
    /// </summary>
    public async Task<bool> HasAccessAsync(string path, IEnumerable<string> tests, CancellationToken cancellationToken)
    {
        if (OperatingSystem.IsWindows())
        {
            return true;
        }

        var arguments = new List<string>();
        foreach (var test in tests)
        {
            arguments.AddRange(arguments.Count == 0 ? [test, path] : ["-a", test, path]);
        }

        var result = await ProcessRunner.RunAsync("test", arguments, cancellationToken, this, workingDirectory: "/").ConfigureAwait(false);
        return result.ExitCode == 0;
    }

    public override string ToString() => Name;

    [DllImport("libc", SetLastError = true)]
    private static extern uint geteuid();

    [DllImport("libc", CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern IntPtr getpwnam(string name);

    [DllImport("libc")]
    private static extern IntPtr getpwuid(uint uid);

    /// <summary>struct passwd of glibc (pwd.h), as far as the home directory.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Passwd
    {
        public IntPtr Name;
        public IntPtr Password;
        public uint UserId;
        public uint GroupId;
        public IntPtr Gecos;
        public IntPtr Directory;
    }
}
