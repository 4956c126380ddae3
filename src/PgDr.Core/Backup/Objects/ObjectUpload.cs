using PgDr.Archive.Repositories;
using PgDr.Errors;

namespace PgDr.Backup.Objects;

/// <summary>One repository a backup writes to, and whether it has failed (then it receives nothing more).</summary>
internal sealed class UploadTarget(IArchiveRepository repository, bool required)
{
    public IArchiveRepository Repository { get; } = repository;

    /// <summary>A required repository's failure fails the backup; another's only drops that repository.</summary>
    public bool Required { get; } = required;

    public PgDrException? Failure { get; set; }

    public bool Live => Failure is null;

    public string Name => Repository.Name;
}

/// <summary>
/// Stores one object in several repositories while it is being encoded: the encoder writes once, every live
/// repository reads its own bounded pipe. A repository that is not required and fails is dropped and the others go on;
/// a required one failing ends the object (and the backup) with that repository's error.
/// </summary>
internal static class ObjectUpload
{
    public static async Task<T> StoreAsync<T>(IReadOnlyList<UploadTarget> targets, string key, Func<Stream, CancellationToken, Task<T>> encode, CancellationToken cancellationToken)
    {
        var live = targets.Where(t => t.Live).ToList();
        if (live.Count == 0)
        {
            throw new PgDrException(ErrorIds.RepositoryOperationFailed, PgDrErrorCategory.WriteError, "No repository is left to store the backup in.", key);
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pipes = live.Select(_ => new ObjectPipe()).ToList();
        var uploads = live.Select((target, i) => UploadAsync(target, key, pipes[i], linked)).ToList();
        var fanOut = new FanOutStream(live, pipes);
        T result;
        try
        {
            result = await encode(fanOut, linked.Token).ConfigureAwait(false);
            foreach (var pipe in pipes)
            {
                pipe.Writer.Complete();
            }
        }
        catch (Exception ex)
        {
            foreach (var pipe in pipes)
            {
                pipe.Writer.Complete(ex);
            }

            await Task.WhenAll(uploads).ConfigureAwait(false);

            // A required repository that failed is why the encoder's write failed: its error says more.
            if (live.FirstOrDefault(t => t.Required && t.Failure is not null) is { } failed)
            {
                throw failed.Failure!;
            }

            throw;
        }

        await Task.WhenAll(uploads).ConfigureAwait(false);
        if (live.FirstOrDefault(t => t.Required && t.Failure is not null) is { } requiredFailed)
        {
            throw requiredFailed.Failure!;
        }

        return result;
    }

    private static async Task UploadAsync(UploadTarget target, string key, ObjectPipe pipe, CancellationTokenSource linked)
    {
        try
        {
            await using (pipe.Reader.ConfigureAwait(false))
            {
                var outcome = await target.Repository.PutIfAbsentAsync(key, pipe.Reader, linked.Token).ConfigureAwait(false);
                if (outcome == PutOutcome.AlreadyExists)
                {
                    throw new PgDrRepositoryException(
                        ErrorIds.RepositoryOperationFailed, PgDrErrorCategory.ResourceExists, $"Repository '{target.Name}' already holds {key}; a backup never overwrites an object.", target.Name);
                }
            }
        }
        catch (PgDrException ex)
        {
            target.Failure = ex;
            pipe.Fail(ex);
            if (target.Required)
            {
                await linked.CancelAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            // The encoder failed or the backup was cancelled: the object is abandoned, not this repository's fault.
            pipe.Fail(ex);
        }
    }

    /// <summary>Writes each buffer to every live repository's pipe; drops a repository that failed and is not required.</summary>
    private sealed class FanOutStream(List<UploadTarget> targets, List<ObjectPipe> pipes) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            for (var i = 0; i < pipes.Count; i++)
            {
                if (targets[i].Failure is not null && !targets[i].Required)
                {
                    continue;
                }

                try
                {
                    await pipes[i].Writer.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
                }
                catch (IOException) when (!targets[i].Required)
                {
                    // That repository failed; the object goes on to the others.
                }
            }
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("Objects are encoded asynchronously.");

        public override void Flush()
        {
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
