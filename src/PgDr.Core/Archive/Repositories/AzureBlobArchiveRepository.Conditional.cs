using Azure;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;

namespace PgDr.Archive.Repositories;

// Compare-and-swap on one blob: the ETag is the version; Put Blob carries If-None-Match: * (create) or
// If-Match: <etag> (replace), which the service and Azurite enforce (409 BlobAlreadyExists, 412 ConditionNotMet).
public sealed partial class AzureBlobArchiveRepository
{
    public async Task<VersionedObject?> ReadVersionedAsync(string key, CancellationToken cancellationToken)
    {
        ObjectKey.Validate(key);
        try
        {
            var response = await _container.GetBlobClient(_root + key).DownloadContentAsync(cancellationToken).ConfigureAwait(false);
            return new VersionedObject(response.Value.Content.ToArray(), response.Value.Details.ETag.ToString());
        }
        catch (RequestFailedException ex) when (ex.ErrorCode == "BlobNotFound")
        {
            return null;
        }
        catch (Exception ex) when (IsMappable(ex, cancellationToken))
        {
            throw Map(ex, "read", key);
        }
    }

    public Task<ConditionalWriteResult> CreateIfAbsentAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
        UploadConditionallyAsync(key, content, new BlobRequestConditions { IfNoneMatch = ETag.All }, cancellationToken);

    public Task<ConditionalWriteResult> ReplaceIfVersionAsync(string key, ReadOnlyMemory<byte> content, string expectedVersion, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(expectedVersion);
        return UploadConditionallyAsync(key, content, new BlobRequestConditions { IfMatch = new ETag(expectedVersion) }, cancellationToken);
    }

    private async Task<ConditionalWriteResult> UploadConditionallyAsync(string key, ReadOnlyMemory<byte> content, BlobRequestConditions conditions, CancellationToken cancellationToken)
    {
        ObjectKey.Validate(key);
        var blob = _container.GetBlockBlobClient(_root + key);
        using var body = new MemoryStream(content.ToArray(), writable: false);
        try
        {
            var response = await blob.UploadAsync(body, new BlobUploadOptions { Conditions = conditions }, cancellationToken).ConfigureAwait(false);
            return ConditionalWriteResult.Success(response.Value.ETag.ToString());
        }
        catch (RequestFailedException ex) when (IsAlreadyExists(ex) || ex.ErrorCode is "ConditionNotMet" or "BlobNotFound")
        {
            return ConditionalWriteResult.Conflict;
        }
        catch (Exception ex) when (IsMappable(ex, cancellationToken))
        {
            throw Map(ex, "write", key);
        }
    }
}
