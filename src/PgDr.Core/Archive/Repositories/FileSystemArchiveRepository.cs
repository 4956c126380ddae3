using System.Buffers;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace PgDr.Archive.Repositories;

/// <summary>
/// A repository in a directory on local disk or NFS. Keys are paths below <see cref="Root"/>.
/// </summary>
/// <remarks>
/// <para>Publish: the content is written to a temporary file in the target directory (named
/// <c>.pgdr-tmp.&lt;name&gt;.&lt;random&gt;</c>, see <see cref="ObjectKey.ReservedSegmentPrefix"/>), fsynced, then given its
/// final name with link(2) (or renameat2 RENAME_NOREPLACE where hard links are unsupported), which is atomic and fails
/// when the name exists; then the directory is fsynced. A temporary file left by a killed writer is never listed or
/// read as an object; <see cref="CleanTemporaryFilesAsync"/> removes old ones.</para>
/// <para>Ownership: archive_command and restore_command run as the postgres OS user, so the root directory must exist
/// and be owned by (or at least writable and searchable for) that user, e.g. <c>install -d -o postgres -g postgres
/// -m 0750 /srv/pgdr/repo</c>. Files are created 0640 and directories 0750 (minus the umask). When PgDr runs as root
/// (an admin shell, CI), every file and directory it creates is handed to the owner of the root directory, so that
/// the postgres user can still read, link and delete them. The root directory itself is never created: a missing
/// root (an NFS share that is not mounted, a typo) is RepositoryNotFound, not a silently filled local folder.</para>
/// </remarks>
public sealed partial class FileSystemArchiveRepository : IArchiveRepository, IConditionalObjectStore
{
    private const int CopyBufferSize = 1024 * 1024;
    private const UnixFileMode FileMode0640 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;
    private const UnixFileMode DirectoryMode0750 =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute;

    /// <param name="name">The configured repository name, for messages.</param>
    /// <param name="root">The repository's directory; it must exist when operations run.</param>
    public FileSystemArchiveRepository(string name, string root)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (string.IsNullOrWhiteSpace(root))
        {
            throw RepositoryErrors.InvalidConfig(name, "the filesystem repository needs a 'path'.");
        }

        Name = name;
        Root = Path.GetFullPath(root);
    }

    public string Name { get; }

    /// <summary>The absolute path of the repository's root directory.</summary>
    public string Root { get; }

    public async Task<PutOutcome> PutIfAbsentAsync(string key, Stream content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        ObjectKey.Validate(key);
        cancellationToken.ThrowIfCancellationRequested();
        EnsureRoot();

        var target = PathOf(key);
        if (File.Exists(target) || Directory.Exists(target))
        {
            // Saves copying the content; the publish below decides for real.
            return PutOutcome.AlreadyExists;
        }

        var directory = Path.GetDirectoryName(target)!;
        CreateDirectories(directory, key);
        var temporary = Path.Combine(directory, $"{ObjectKey.ReservedSegmentPrefix}{Path.GetFileName(target)}.{RandomSuffix()}");
        try
        {
            await WriteDurablyAsync(temporary, content, key, cancellationToken).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            var outcome = Publish(temporary, target, key);
            if (outcome == PutOutcome.Created)
            {
                SyncDirectory(directory, key);
            }

            return outcome;
        }
        finally
        {
            // Whatever happened (published, already there, full disk, cancelled, the content stream failed), the
            // temporary name must not outlive this call.
            TryDelete(temporary);
        }
    }

    public Task<Stream?> OpenReadAsync(string key, CancellationToken cancellationToken)
    {
        ObjectKey.Validate(key);
        cancellationToken.ThrowIfCancellationRequested();
        EnsureRoot();
        var path = PathOf(key);
        try
        {
            if (Directory.Exists(path))
            {
                return Task.FromResult<Stream?>(null);
            }

            Stream stream = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.Open,
                Access = FileAccess.Read,
                Share = FileShare.Read | FileShare.Delete,
                BufferSize = 0,
                Options = FileOptions.Asynchronous | FileOptions.SequentialScan,
            });
            return Task.FromResult<Stream?>(stream);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return Task.FromResult<Stream?>(null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Map(ex, "read", key);
        }
    }

    public Task<ArchiveObjectInfo?> StatAsync(string key, CancellationToken cancellationToken)
    {
        ObjectKey.Validate(key);
        cancellationToken.ThrowIfCancellationRequested();
        EnsureRoot();
        try
        {
            var file = new FileInfo(PathOf(key));
            return Task.FromResult(file.Exists ? Info(key, file) : null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Map(ex, "stat", key);
        }
    }

    public async IAsyncEnumerable<ArchiveObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ObjectKey.ValidatePrefix(prefix);
        EnsureRoot();
        await Task.CompletedTask.ConfigureAwait(false);

        // Start in the deepest directory the prefix names completely; only its first level needs the name filter.
        var slash = prefix.LastIndexOf('/');
        var startKey = slash < 0 ? string.Empty : prefix[..slash];
        var namePrefix = prefix[(slash + 1)..];
        var start = startKey.Length == 0 ? Root : PathOf(startKey);
        if (!Directory.Exists(start))
        {
            yield break;
        }

        // Depth-first over one stack, siblings sorted with directories as "name/": keys come in ordinal order, as S3
        // and Azure list them.
        var stack = new Stack<(FileSystemInfo Entry, string Key)>();
        PushChildren(stack, new DirectoryInfo(start), startKey.Length == 0 ? string.Empty : startKey + "/", namePrefix);
        while (stack.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (entry, key) = stack.Pop();
            if (entry is DirectoryInfo directory)
            {
                PushChildren(stack, directory, key + "/", string.Empty);
            }
            else if (entry is FileInfo file)
            {
                file.Refresh();
                if (file.Exists)
                {
                    yield return Info(key, file);
                }
            }
        }
    }

    private void PushChildren(Stack<(FileSystemInfo Entry, string Key)> stack, DirectoryInfo directory, string keyPrefix, string nameFilter)
    {
        List<FileSystemInfo> entries;
        try
        {
            entries = directory.EnumerateFileSystemInfos()
                .Where(e => !ObjectKey.IsReservedSegment(e.Name) && e.Name.StartsWith(nameFilter, StringComparison.Ordinal))
                .OrderBy(e => e is DirectoryInfo ? e.Name + "/" : e.Name, StringComparer.Ordinal)
                .ToList();
        }
        catch (DirectoryNotFoundException)
        {
            return; // removed while we listed
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Map(ex, "list", keyPrefix);
        }

        // Reverse, so that the smallest name is popped first.
        for (var i = entries.Count - 1; i >= 0; i--)
        {
            stack.Push((entries[i], keyPrefix + entries[i].Name));
        }
    }

    public Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        ObjectKey.Validate(key);
        cancellationToken.ThrowIfCancellationRequested();
        EnsureRoot();
        var path = PathOf(key);
        try
        {
            if (!File.Exists(path))
            {
                return Task.CompletedTask;
            }

            File.Delete(path);
        }
        catch (DirectoryNotFoundException)
        {
            return Task.CompletedTask;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Map(ex, "delete", key);
        }

        SyncDirectory(Path.GetDirectoryName(path)!, key);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Removes temporary files (left by writers that were killed mid-upload) whose last write is older than
    /// <paramref name="olderThan"/>; pick an age no upload in progress can reach (an hour is generous). Returns how many.
    /// </summary>
    public Task<int> CleanTemporaryFilesAsync(TimeSpan olderThan, CancellationToken cancellationToken)
    {
        EnsureRoot();
        var cutoff = DateTime.UtcNow - olderThan;
        var removed = 0;
        try
        {
            foreach (var file in new DirectoryInfo(Root).EnumerateFiles(ObjectKey.ReservedSegmentPrefix + "*", SearchOption.AllDirectories))
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (file.LastWriteTimeUtc < cutoff && TryDelete(file.FullName))
                {
                    removed++;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Map(ex, "clean temporary files in", string.Empty);
        }

        return Task.FromResult(removed);
    }

    public Task<bool> StoreExistsAsync(CancellationToken cancellationToken) => Task.FromResult(Directory.Exists(Root));

    public Task<bool> CreateStoreAsync(CancellationToken cancellationToken)
    {
        if (Directory.Exists(Root))
        {
            return Task.FromResult(false);
        }

        try
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(Root);
            }
            else
            {
                Directory.CreateDirectory(Root, DirectoryMode0750);
            }

            return Task.FromResult(true);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw RepositoryErrors.AccessDenied(Name, $"cannot create the directory {Root}: permission denied.", ex);
        }
        catch (IOException ex)
        {
            throw RepositoryErrors.Failed(Name, $"cannot create the directory {Root}: {ex.Message}", ex);
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    public override string ToString() => $"{Name} (filesystem {Root})";

    private string PathOf(string key) => Path.Combine(Root, key.Replace('/', Path.DirectorySeparatorChar));

    private static ArchiveObjectInfo Info(string key, FileInfo file) => new(key, file.Length, new DateTimeOffset(file.LastWriteTimeUtc, TimeSpan.Zero));

    private static string RandomSuffix() => Convert.ToHexString(RandomNumberGenerator.GetBytes(8)).ToLowerInvariant();

    private void EnsureRoot()
    {
        if (!Directory.Exists(Root))
        {
            throw RepositoryErrors.NotFound(Name, $"the directory '{Root}' does not exist (create it, owned by the postgres OS user, or mount the share).");
        }
    }

    /// <summary>Creates the missing directories below the root one by one, each made durable in its parent.</summary>
    private void CreateDirectories(string directory, string key)
    {
        if (Directory.Exists(directory))
        {
            return;
        }

        var missing = new Stack<string>();
        for (var d = directory; !string.Equals(d, Root, StringComparison.Ordinal) && !Directory.Exists(d); d = Path.GetDirectoryName(d)!)
        {
            missing.Push(d);
        }

        while (missing.Count > 0)
        {
            var d = missing.Pop();
            try
            {
                if (OperatingSystem.IsWindows())
                {
                    Directory.CreateDirectory(d);
                }
                else
                {
                    Directory.CreateDirectory(d, DirectoryMode0750);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw Map(ex, "create a directory for", key);
            }

            GiveToRootOwner(d, key);
            SyncDirectory(Path.GetDirectoryName(d)!, key);
        }
    }

    private async Task WriteDurablyAsync(string temporary, Stream content, string key, CancellationToken cancellationToken)
    {
        FileStream file;
        try
        {
            var options = new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Share = FileShare.None,
                BufferSize = 0, // our own buffer below; errors such as ENOSPC surface at the write that causes them
                Options = FileOptions.Asynchronous,
            };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = FileMode0640;
            }

            file = new FileStream(temporary, options);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Map(ex, "create", key);
        }

        var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
        try
        {
            await using (file.ConfigureAwait(false))
            {
                GiveToRootOwner(temporary, key);
                while (true)
                {
                    // Errors of the caller's stream are the caller's: they propagate unchanged.
                    var read = await content.ReadAsync(buffer.AsMemory(0, CopyBufferSize), cancellationToken).ConfigureAwait(false);
                    if (read == 0)
                    {
                        break;
                    }

                    try
                    {
                        await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                    {
                        throw Map(ex, "write", key);
                    }
                }

                try
                {
                    file.Flush(flushToDisk: true);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    throw Map(ex, "fsync", key);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private PutOutcome Publish(string temporary, string target, string key)
    {
        if (OperatingSystem.IsLinux())
        {
            var errno = LinuxFileSystem.Publish(temporary, target, out var result);
            if (errno != 0)
            {
                throw MapErrno(errno, "publish", key);
            }

            return result == LinuxFileSystem.PublishResult.Published ? PutOutcome.Created : PutOutcome.AlreadyExists;
        }

        // Elsewhere (Windows: MoveFileEx without REPLACE_EXISTING is atomic and create-only on NTFS).
        try
        {
            File.Move(temporary, target, overwrite: false);
            return PutOutcome.Created;
        }
        catch (IOException) when (File.Exists(target) || Directory.Exists(target))
        {
            return PutOutcome.AlreadyExists;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Map(ex, "publish", key);
        }
    }

    private void SyncDirectory(string directory, string key)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var errno = LinuxFileSystem.SyncDirectory(directory);
        if (errno != 0)
        {
            throw MapErrno(errno, "fsync the directory of", key);
        }
    }

    private void GiveToRootOwner(string path, string key)
    {
        if (!OperatingSystem.IsLinux() || !Hosting.OsUser.CallerIsRoot || !LinuxFileSystem.TryGetOwner(Root, out var uid, out var gid) || uid == 0)
        {
            return;
        }

        var errno = LinuxFileSystem.ChangeOwner(path, uid, gid);
        if (errno != 0)
        {
            throw MapErrno(errno, "hand to the repository owner", key);
        }
    }

    private static bool TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private Errors.PgDrRepositoryException Map(Exception ex, string action, string key)
    {
        if (ex is UnauthorizedAccessException)
        {
            return RepositoryErrors.AccessDenied(Name, $"permission denied to {action} '{key}' under '{Root}' (the repository must be writable by the OS user PgDr runs as, normally postgres).", ex);
        }

        // On Unix, .NET puts the errno into HResult for I/O errors it raises itself.
        return MapErrno(ex.HResult, action, key, ex);
    }

    private Errors.PgDrRepositoryException MapErrno(int errno, string action, string key, Exception? inner = null)
    {
        var reason = inner?.Message ?? LinuxFileSystem.Describe(errno);
        return errno switch
        {
            LinuxFileSystem.ENOSPC or LinuxFileSystem.EDQUOT =>
                RepositoryErrors.Full(Name, $"no space left to {action} '{key}' under '{Root}'; nothing was stored.", inner),
            LinuxFileSystem.EACCES or LinuxFileSystem.EPERM =>
                RepositoryErrors.AccessDenied(Name, $"permission denied to {action} '{key}' under '{Root}' (the repository must be writable by the OS user PgDr runs as, normally postgres).", inner),
            LinuxFileSystem.EROFS =>
                RepositoryErrors.AccessDenied(Name, $"cannot {action} '{key}': '{Root}' is on a read-only filesystem.", inner),
            LinuxFileSystem.EXDEV or LinuxFileSystem.EINVAL or LinuxFileSystem.ENOSYS or LinuxFileSystem.EOPNOTSUPP =>
                RepositoryErrors.Failed(Name, $"cannot {action} '{key}': the filesystem under '{Root}' supports neither hard links nor RENAME_NOREPLACE, so objects cannot be published without risking an overwrite ({reason}).", inner),
            _ => RepositoryErrors.Failed(Name, $"cannot {action} '{key}' under '{Root}': {reason}", inner),
        };
    }
}
