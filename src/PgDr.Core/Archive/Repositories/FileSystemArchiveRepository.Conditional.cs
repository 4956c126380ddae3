using System.Globalization;

namespace PgDr.Archive.Repositories;

// Compare-and-swap on a filesystem (local disk or NFS), built on the same atomic create-only publish as the archive.
public sealed partial class FileSystemArchiveRepository
{
    /// <summary>Generations kept below the newest; older ones are deleted by the writer that made the newest.</summary>
    private const int GenerationsKept = 16;
    private const int GenerationDigits = 20;

    /// <remarks>
    /// <para>A conditional object is a directory of generation files (<c>key/00000000000000000001</c>, ...): a file is
    /// never changed once published, and the object's content is the newest generation's. Its version is that
    /// generation's number. Replacing version <c>n</c> publishes generation <c>n + 1</c> create-only (link(2) or
    /// renameat2 RENAME_NOREPLACE, as every archive object), so of two writers that read <c>n</c> exactly one
    /// succeeds; a writer that read an older version finds its generation taken and loses.</para>
    /// <para>Old generations are pruned so a renewed lease does not fill the directory. A writer that read a
    /// generation so old that the next one was already pruned could publish it again; it then finds newer generations
    /// beside its own and reports a conflict (readers always take the newest, so they never see its file).</para>
    /// </remarks>
    public async Task<VersionedObject?> ReadVersionedAsync(string key, CancellationToken cancellationToken)
    {
        ObjectKey.Validate(key);
        for (var attempt = 0; ; attempt++)
        {
            var newest = Generations(key).DefaultIfEmpty(0).Max();
            if (newest == 0)
            {
                return null;
            }

            var stream = await OpenReadAsync(GenerationKey(key, newest), cancellationToken).ConfigureAwait(false);
            if (stream is null)
            {
                // Pruned between the listing and the read (only possible when newer generations appeared): look again.
                if (attempt < 3)
                {
                    continue;
                }

                throw RepositoryErrors.Failed(Name, $"the newest generation of '{key}' keeps disappearing while it is read.");
            }

            await using (stream.ConfigureAwait(false))
            {
                using var buffer = new MemoryStream();
                await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
                return new VersionedObject(buffer.ToArray(), newest.ToString(CultureInfo.InvariantCulture));
            }
        }
    }

    public Task<ConditionalWriteResult> CreateIfAbsentAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        ObjectKey.Validate(key);
        return Generations(key).Any()
            ? Task.FromResult(ConditionalWriteResult.Conflict)
            : PublishGenerationAsync(key, 1, content, cancellationToken);
    }

    public Task<ConditionalWriteResult> ReplaceIfVersionAsync(string key, ReadOnlyMemory<byte> content, string expectedVersion, CancellationToken cancellationToken)
    {
        ObjectKey.Validate(key);
        if (!long.TryParse(expectedVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var expected) || expected < 1)
        {
            // Not a version this store hands out: it cannot match.
            return Task.FromResult(ConditionalWriteResult.Conflict);
        }

        if (Generations(key).DefaultIfEmpty(0).Max() < expected)
        {
            // The key never had this version (it is absent, or the token came from another key).
            return Task.FromResult(ConditionalWriteResult.Conflict);
        }

        return PublishGenerationAsync(key, expected + 1, content, cancellationToken);
    }

    private async Task<ConditionalWriteResult> PublishGenerationAsync(string key, long generation, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        using var stream = new MemoryStream(content.ToArray(), writable: false);
        if (await PutIfAbsentAsync(GenerationKey(key, generation), stream, cancellationToken).ConfigureAwait(false) == PutOutcome.AlreadyExists)
        {
            return ConditionalWriteResult.Conflict;
        }

        var generations = Generations(key).ToList();
        if (generations.Any(g => g > generation))
        {
            // Our generation had been pruned and was published again by a writer that read a stale version.
            return ConditionalWriteResult.Conflict;
        }

        foreach (var old in generations.Where(g => g <= generation - GenerationsKept))
        {
            await DeleteAsync(GenerationKey(key, old), cancellationToken).ConfigureAwait(false);
        }

        return ConditionalWriteResult.Success(generation.ToString(CultureInfo.InvariantCulture));
    }

    private static string GenerationKey(string key, long generation) =>
        key + "/" + generation.ToString(CultureInfo.InvariantCulture).PadLeft(GenerationDigits, '0');

    private List<long> Generations(string key)
    {
        EnsureRoot();
        var directory = PathOf(key);
        if (!Directory.Exists(directory))
        {
            return [];
        }

        try
        {
            return Directory.EnumerateFiles(directory)
                .Select(Path.GetFileName)
                .Where(name => name!.Length == GenerationDigits && name.All(char.IsAsciiDigit))
                .Select(name => long.Parse(name!, NumberStyles.None, CultureInfo.InvariantCulture))
                .ToList();
        }
        catch (DirectoryNotFoundException)
        {
            return [];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Map(ex, "list the generations of", key);
        }
    }
}
