using System.Net;
using Amazon.S3;
using Amazon.S3.Model;

namespace PgDr.Archive.Repositories;

// Compare-and-swap on one S3 object: the ETag is the version; PutObject carries If-None-Match: * (create) or
// If-Match: <etag> (replace), which AWS S3 enforces since 2024 (412 when the condition fails, 409 when another
// conditional write to the key is in flight). Compatible stores that ignore the headers (s3rver does) cannot hold a
// lease safely; moto_server and MinIO enforce them.
public sealed partial class S3ArchiveRepository
{
    public async Task<VersionedObject?> ReadVersionedAsync(string key, CancellationToken cancellationToken)
    {
        ObjectKey.Validate(key);
        try
        {
            using var response = await _client.GetObjectAsync(new GetObjectRequest { BucketName = _options.Bucket, Key = PrefixedKey(key) }, cancellationToken).ConfigureAwait(false);
            using var buffer = new MemoryStream();
            await response.ResponseStream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
            return new VersionedObject(buffer.ToArray(), response.ETag);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound && ex.ErrorCode != "NoSuchBucket")
        {
            return null;
        }
        catch (Exception ex) when (IsMappable(ex, cancellationToken))
        {
            throw Map(ex, "read", key);
        }
    }

    public Task<ConditionalWriteResult> CreateIfAbsentAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
        PutConditionallyAsync(key, content, request => request.IfNoneMatch = "*", cancellationToken);

    public Task<ConditionalWriteResult> ReplaceIfVersionAsync(string key, ReadOnlyMemory<byte> content, string expectedVersion, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(expectedVersion);
        return PutConditionallyAsync(key, content, request => request.IfMatch = expectedVersion, cancellationToken);
    }

    private async Task<ConditionalWriteResult> PutConditionallyAsync(string key, ReadOnlyMemory<byte> content, Action<PutObjectRequest> condition, CancellationToken cancellationToken)
    {
        ObjectKey.Validate(key);
        using var body = new MemoryStream(content.ToArray(), writable: false);
        var request = new PutObjectRequest
        {
            BucketName = _options.Bucket,
            Key = PrefixedKey(key),
            InputStream = body,
            AutoCloseStream = false,
            UseChunkEncoding = false,
            ContentType = "application/json",
        };
        condition(request);
        try
        {
            var response = await _client.PutObjectAsync(request, cancellationToken).ConfigureAwait(false);
            return ConditionalWriteResult.Success(response.ETag);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.PreconditionFailed || IsConditionalConflict(ex)
                                           || (ex.StatusCode == HttpStatusCode.NotFound && ex.ErrorCode != "NoSuchBucket"))
        {
            // Another writer changed (or removed) the object, or is changing it right now: the caller reads again.
            return ConditionalWriteResult.Conflict;
        }
        catch (Exception ex) when (IsMappable(ex, cancellationToken))
        {
            throw Map(ex, "write", key);
        }
    }
}
