using System.Runtime.InteropServices;

namespace PgDr.Archive.Repositories;

/// <summary>
/// The few Linux system calls the filesystem repository needs and .NET does not expose as such: link(2) and
/// renameat2(RENAME_NOREPLACE) for a publish that is atomic and never overwrites, fsync of a directory, and the owner
/// of a directory. (File.Move with overwrite: false uses link(2) too, but silently falls back to check-then-rename
/// where hard links are unsupported, which could overwrite an object written meanwhile.)
/// Errno values are Linux's (identical on x86-64 and arm64); callers use this class only when OperatingSystem.IsLinux().
/// </summary>
internal static partial class LinuxFileSystem
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EACCES = 13;
    public const int EEXIST = 17;
    public const int EXDEV = 18;
    public const int EINVAL = 22;
    public const int ENOSPC = 28;
    public const int EROFS = 30;
    public const int EMLINK = 31;
    public const int ENOSYS = 38;
    public const int EOPNOTSUPP = 95;
    public const int EDQUOT = 122;

    private const int AtFdCwd = -100;
    private const uint RenameNoReplace = 1;
    private const int OpenReadOnlyCloseOnExec = 0x80000; // O_RDONLY | O_CLOEXEC: same value on x86-64 and arm64
    private const uint StatxBasicStats = 0x7ff;
    private const int StatxBufferSize = 256;

    /// <summary>The outcome of a create-only publish at the system-call level.</summary>
    public enum PublishResult
    {
        Published,
        TargetExists,
    }

    /// <summary>
    /// Gives <paramref name="temporaryPath"/> the name <paramref name="targetPath"/> unless that name exists, atomically.
    /// link(2) first (works on local filesystems and NFS); where the filesystem has no hard links, renameat2 with
    /// RENAME_NOREPLACE. Returns the errno of the failure otherwise (0 on success).
    /// </summary>
    public static int Publish(string temporaryPath, string targetPath, out PublishResult result)
    {
        result = PublishResult.Published;
        if (link(temporaryPath, targetPath) == 0)
        {
            _ = unlink(temporaryPath);
            return 0;
        }

        var errno = Marshal.GetLastPInvokeError();
        if (errno == EEXIST)
        {
            // Over NFS a retransmitted LINK whose first reply was lost answers EEXIST although it succeeded: then the
            // temporary file has a second name, and that name is ours.
            if (TryGetLinkCount(temporaryPath, out var links) && links >= 2)
            {
                _ = unlink(temporaryPath);
                return 0;
            }

            result = PublishResult.TargetExists;
            return 0;
        }

        if (errno is not (EPERM or EOPNOTSUPP or ENOSYS or EMLINK))
        {
            return errno;
        }

        if (renameat2(AtFdCwd, temporaryPath, AtFdCwd, targetPath, RenameNoReplace) == 0)
        {
            return 0;
        }

        errno = Marshal.GetLastPInvokeError();
        if (errno == EEXIST)
        {
            result = PublishResult.TargetExists;
            return 0;
        }

        return errno;
    }

    /// <summary>
    /// rename(2), replacing the target: returns errno or 0. Unlike File.Move it never falls back to copy-and-delete, so a
    /// caller learns EXDEV (another filesystem) and can copy with fsync instead of leaving a half-written target.
    /// </summary>
    public static int Rename(string sourcePath, string targetPath) =>
        renameat2(AtFdCwd, sourcePath, AtFdCwd, targetPath, 0) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>fsync(2) on a directory, so that entries created or removed in it survive a crash. Returns errno or 0.</summary>
    public static int SyncDirectory(string directory)
    {
        var fd = open(directory, OpenReadOnlyCloseOnExec);
        if (fd < 0)
        {
            return Marshal.GetLastPInvokeError();
        }

        try
        {
            if (fsync(fd) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();

                // Some filesystems cannot fsync a directory; their metadata is then as durable as they make it.
                return errno is EINVAL or EOPNOTSUPP ? 0 : errno;
            }

            return 0;
        }
        finally
        {
            _ = close(fd);
        }
    }

    /// <summary>
    /// syncfs(2) on the file system that holds <paramref name="path"/>: everything written there is made durable in one
    /// call, where an fsync per file would wait for a journal commit per file. Returns errno or 0 (since Linux 5.8 an
    /// earlier write-back error is reported here too).
    /// </summary>
    public static int SyncFileSystem(string path)
    {
        var fd = open(path, OpenReadOnlyCloseOnExec);
        if (fd < 0)
        {
            return Marshal.GetLastPInvokeError();
        }

        try
        {
            return syncfs(fd) == 0 ? 0 : Marshal.GetLastPInvokeError();
        }
        finally
        {
            _ = close(fd);
        }
    }

    /// <summary>
    /// sync_file_range(SYNC_FILE_RANGE_WRITE): starts writing a range of a file back to disk and returns at once, so the
    /// disk works while the caller goes on (a later fsync or syncfs then has little left to wait for). Advisory: an
    /// error is ignored, the final sync is what makes data durable.
    /// </summary>
    public static void StartWriteback(Microsoft.Win32.SafeHandles.SafeFileHandle file, long offset, long length)
    {
        const uint SyncFileRangeWrite = 2;
        var added = false;
        file.DangerousAddRef(ref added);
        try
        {
            _ = sync_file_range((int)file.DangerousGetHandle(), offset, length, SyncFileRangeWrite);
        }
        finally
        {
            if (added)
            {
                file.DangerousRelease();
            }
        }
    }

    /// <summary>The owner of a path (statx: one layout on every Linux architecture).</summary>
    public static unsafe bool TryGetOwner(string path, out uint uid, out uint gid)
    {
        var buffer = stackalloc byte[StatxBufferSize];
        if (statx(AtFdCwd, path, 0, StatxBasicStats, buffer) != 0)
        {
            uid = gid = 0;
            return false;
        }

        uid = *(uint*)(buffer + 20);
        gid = *(uint*)(buffer + 24);
        return true;
    }

    /// <summary>Whether <paramref name="path"/> (following links) is a regular file, not a socket, FIFO or device (statx).</summary>
    public static unsafe bool IsRegularFile(string path)
    {
        var buffer = stackalloc byte[StatxBufferSize];
        if (statx(AtFdCwd, path, 0, StatxBasicStats, buffer) != 0)
        {
            return false;
        }

        const ushort TypeMask = 0xF000; // S_IFMT
        const ushort RegularFile = 0x8000; // S_IFREG
        return (*(ushort*)(buffer + 28) & TypeMask) == RegularFile;
    }

    /// <summary>Hands a file or directory to an owner; returns errno or 0.</summary>
    public static int ChangeOwner(string path, uint uid, uint gid) => lchown(path, uid, gid) == 0 ? 0 : Marshal.GetLastPInvokeError();

    public static string Describe(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    private static unsafe bool TryGetLinkCount(string path, out uint links)
    {
        var buffer = stackalloc byte[StatxBufferSize];
        if (statx(AtFdCwd, path, 0, StatxBasicStats, buffer) != 0)
        {
            links = 0;
            return false;
        }

        links = *(uint*)(buffer + 16);
        return true;
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int link(string oldPath, string newPath);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int unlink(string path);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int renameat2(int oldDirectoryFd, string oldPath, int newDirectoryFd, string newPath, uint flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fsync(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int syncfs(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int sync_file_range(int fd, long offset, long nbytes, uint flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int statx(int directoryFd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int lchown(string path, uint uid, uint gid);
}
