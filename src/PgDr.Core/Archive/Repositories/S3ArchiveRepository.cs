using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using PgDr.Errors;

namespace PgDr.Archive.Repositories;

/// <summary>How to reach an S3 bucket (AWS or a compatible store). Secrets never appear in <see cref="ToString"/>.</summary>
public sealed class S3RepositoryOptions
{
    /// <summary>The configured repository name, for messages.</summary>
    public required string Name { get; init; }

    public required string Bucket { get; init; }

    /// <summary>Optional key prefix inside the bucket (e.g. pg); keys are stored as prefix/key.</summary>
    public string? Prefix { get; init; }

    /// <summary>The AWS region (signing region for a custom endpoint); us-east-1 when omitted.</summary>
    public string? Region { get; init; }

    /// <summary>A custom endpoint (S3-compatible store, VPC endpoint), e.g. http://127.0.0.1:4568; AWS's own when null.</summary>
    public string? Endpoint { get; init; }

    /// <summary>Path-style addressing (bucket in the path, not the host name), which most compatible stores need.</summary>
    public bool ForcePathStyle { get; init; }

    /// <summary>Explicit credentials (tests, embedding). When null, the SDK's default chain is used: environment
    /// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), profile, web identity, container or instance role.</summary>
    public string? AccessKeyId { get; init; }

    public string? SecretAccessKey { get; init; }

    public string? SessionToken { get; init; }

    /// <summary>Time limit of one HTTP request (a 16 MiB part included); a stuck request fails after it and is retried.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Time limit of establishing one connection.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Retries of a failed request (network error, 5xx, throttling) before the operation fails.</summary>
    public int MaxRetries { get; init; } = 3;

    /// <summary>Content up to this size goes in one PUT; larger content in a multipart upload of parts of this size,
    /// which is also the most memory one upload holds. At least 5 MiB (S3's smallest part).</summary>
    public int PartSize { get; init; } = 16 * 1024 * 1024;

    public override string ToString() =>
        $"{Name} (s3 bucket {Bucket}{(string.IsNullOrEmpty(Prefix) ? string.Empty : "/" + Prefix.Trim('/'))}" +
        $"{(Endpoint is null ? string.Empty : " at " + Endpoint)}, region {Region ?? "default"}, " +
        $"{(AccessKeyId is null ? "default credential chain" : "explicit credentials")})";
}

/// <summary>
/// A repository in an S3 bucket (AWS S3 or a compatible store such as MinIO or s3rver).
/// </summary>
/// <remarks>
/// <para>Create-only: a PUT (or the completion of a multipart upload) carries <c>If-None-Match: *</c>, which AWS S3
/// enforces (412 means the key exists). Some compatible stores ignore that header (s3rver does), so the object is also
/// looked up (HEAD) first. On such a store two writers racing on the same key between HEAD and PUT can still both
/// succeed and the later one wins; on a store that enforces the header the race is closed.</para>
/// <para>Content up to <see cref="S3RepositoryOptions.PartSize"/> is sent in one PUT; larger content as a multipart
/// upload, part by part, holding one part in memory. Nothing is visible until the upload completes; a failed or
/// cancelled multipart upload is aborted. Chunked (aws-chunked) payload signing is off, because some compatible stores
/// store the chunk framing as content (measured with s3rver); the payload is signed whole instead.</para>
/// <para>Permissions needed: s3:GetObject, s3:PutObject, s3:DeleteObject, s3:ListBucket (without it S3 answers 403
/// instead of 404 for a missing key), s3:AbortMultipartUpload.</para>
/// </remarks>
public sealed partial class S3ArchiveRepository : IArchiveRepository, IConditionalObjectStore
{
    private const int MinimumPartSize = 5 * 1024 * 1024;
    private const int ConflictRetries = 3;

    private readonly S3RepositoryOptions _options;
    private readonly AmazonS3Client _client;

    public S3ArchiveRepository(S3RepositoryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.Bucket))
        {
            throw RepositoryErrors.InvalidConfig(options.Name, "the s3 repository needs a 'bucket'.");
        }

        if (options.PartSize < MinimumPartSize)
        {
            throw RepositoryErrors.InvalidConfig(options.Name, $"the part size must be at least {Bytes.Format(MinimumPartSize)}.");
        }

        if ((options.AccessKeyId is null) != (options.SecretAccessKey is null))
        {
            throw RepositoryErrors.InvalidConfig(options.Name, "an explicit access key id needs its secret access key, and the other way round.");
        }

        _options = options;
        Name = options.Name;

        var config = new AmazonS3Config
        {
            ForcePathStyle = options.ForcePathStyle,
            Timeout = options.RequestTimeout,
            ConnectTimeout = options.ConnectTimeout,
            MaxErrorRetry = options.MaxRetries,
            RetryMode = RequestRetryMode.Standard,

            // Flexible checksums only where the operation requires them: with them on by default, the SDK streams
            // uploads aws-chunked with trailing checksums, which compatible stores may store verbatim.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (!string.IsNullOrEmpty(options.Endpoint))
        {
            if (!Uri.TryCreate(options.Endpoint, UriKind.Absolute, out _))
            {
                throw RepositoryErrors.InvalidConfig(options.Name, $"the endpoint '{options.Endpoint}' is not an absolute URL.");
            }

            config.ServiceURL = options.Endpoint;
            config.AuthenticationRegion = string.IsNullOrEmpty(options.Region) ? "us-east-1" : options.Region;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(string.IsNullOrEmpty(options.Region) ? "us-east-1" : options.Region);
        }

        _client = options.AccessKeyId is null
            ? new AmazonS3Client(config)
            : new AmazonS3Client(
                options.SessionToken is null
                    ? new BasicAWSCredentials(options.AccessKeyId, options.SecretAccessKey)
                    : new SessionAWSCredentials(options.AccessKeyId, options.SecretAccessKey, options.SessionToken),
                config);
    }

    public string Name { get; }

    public async Task<PutOutcome> PutIfAbsentAsync(string key, Stream content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        ObjectKey.Validate(key);
        var objectKey = PrefixedKey(key);

        // Needed on stores that ignore If-None-Match (see remarks); on AWS it also saves uploading content for nothing.
        if (await HeadAsync(objectKey, key, cancellationToken).ConfigureAwait(false) is not null)
        {
            return PutOutcome.AlreadyExists;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(_options.PartSize);
        try
        {
            var length = await FillAsync(content, buffer, _options.PartSize, cancellationToken).ConfigureAwait(false);
            int? extra = null;
            if (length == _options.PartSize)
            {
                var (atEnd, next) = await AtEndAsync(content, cancellationToken).ConfigureAwait(false);
                extra = atEnd ? null : next;
            }

            return extra is null
                ? await PutSingleAsync(objectKey, key, buffer, length, cancellationToken).ConfigureAwait(false)
                : await PutMultipartAsync(objectKey, key, content, buffer, length, extra, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public async Task<Stream?> OpenReadAsync(string key, CancellationToken cancellationToken)
    {
        ObjectKey.Validate(key);
        try
        {
            var response = await _client.GetObjectAsync(new GetObjectRequest { BucketName = _options.Bucket, Key = PrefixedKey(key) }, cancellationToken).ConfigureAwait(false);

            // Disposing the response stream releases the connection.
            return response.ResponseStream;
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

    public async Task<ArchiveObjectInfo?> StatAsync(string key, CancellationToken cancellationToken)
    {
        ObjectKey.Validate(key);
        var metadata = await HeadAsync(PrefixedKey(key), key, cancellationToken).ConfigureAwait(false);
        return metadata is null ? null : new ArchiveObjectInfo(key, metadata.ContentLength, ToOffset(metadata.LastModified));
    }

    public async IAsyncEnumerable<ArchiveObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ObjectKey.ValidatePrefix(prefix);
        var root = PrefixedKey(string.Empty);
        var request = new ListObjectsV2Request { BucketName = _options.Bucket, Prefix = root + prefix };
        while (true)
        {
            ListObjectsV2Response response;
            try
            {
                response = await _client.ListObjectsV2Async(request, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsMappable(ex, cancellationToken))
            {
                throw Map(ex, "list", prefix);
            }

            foreach (var item in response.S3Objects ?? [])
            {
                var key = item.Key[root.Length..];
                if (key.Length > 0 && !key.EndsWith('/'))
                {
                    yield return new ArchiveObjectInfo(key, item.Size ?? 0, ToOffset(item.LastModified));
                }
            }

            if (response.IsTruncated != true || string.IsNullOrEmpty(response.NextContinuationToken))
            {
                yield break;
            }

            request.ContinuationToken = response.NextContinuationToken;
        }
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        ObjectKey.Validate(key);
        try
        {
            await _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _options.Bucket, Key = PrefixedKey(key) }, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound && ex.ErrorCode != "NoSuchBucket")
        {
            // Already gone.
        }
        catch (Exception ex) when (IsMappable(ex, cancellationToken))
        {
            throw Map(ex, "delete", key);
        }
    }

    public async Task<bool> StoreExistsAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _client.GetBucketLocationAsync(new GetBucketLocationRequest { BucketName = _options.Bucket }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (AmazonS3Exception ex) when (ex.ErrorCode == "NoSuchBucket" || ex.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
        catch (Exception ex) when (IsMappable(ex, cancellationToken))
        {
            throw Map(ex, "look up", "the bucket");
        }
    }

    public async Task<bool> CreateStoreAsync(CancellationToken cancellationToken)
    {
        if (await StoreExistsAsync(cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        try
        {
            var request = new PutBucketRequest { BucketName = _options.Bucket };
            if (!string.IsNullOrEmpty(_options.Region) && _options.Region != "us-east-1" && _options.Endpoint is null)
            {
                request.BucketRegionName = _options.Region;
            }

            await _client.PutBucketAsync(request, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (AmazonS3Exception ex) when (ex.ErrorCode is "BucketAlreadyOwnedByYou")
        {
            return false;
        }
        catch (Exception ex) when (IsMappable(ex, cancellationToken))
        {
            throw Map(ex, "create", "the bucket");
        }
    }

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }

    public override string ToString() => _options.ToString();

    private string PrefixedKey(string key) => string.IsNullOrEmpty(_options.Prefix?.Trim('/')) ? key : Repositories.ObjectKey.Combine(_options.Prefix, key);

    private static DateTimeOffset ToOffset(DateTime? value) =>
        value is null ? DateTimeOffset.MinValue : new DateTimeOffset(DateTime.SpecifyKind(value.Value.ToUniversalTime(), DateTimeKind.Utc));

    private async Task<GetObjectMetadataResponse?> HeadAsync(string objectKey, string key, CancellationToken cancellationToken)
    {
        try
        {
            return await _client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _options.Bucket, Key = objectKey }, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            // A HEAD has no body, so a missing bucket looks like a missing key here; the PUT that usually follows tells.
            return null;
        }
        catch (Exception ex) when (IsMappable(ex, cancellationToken))
        {
            throw Map(ex, "look up", key);
        }
    }

    private async Task<PutOutcome> PutSingleAsync(string objectKey, string key, byte[] buffer, int length, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var body = new MemoryStream(buffer, 0, length, writable: false);
            var request = new PutObjectRequest
            {
                BucketName = _options.Bucket,
                Key = objectKey,
                InputStream = body,
                AutoCloseStream = false,
                UseChunkEncoding = false,
                IfNoneMatch = "*",
                ContentType = "application/octet-stream",
            };
            try
            {
                await _client.PutObjectAsync(request, cancellationToken).ConfigureAwait(false);
                return PutOutcome.Created;
            }
            catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.PreconditionFailed)
            {
                return PutOutcome.AlreadyExists;
            }
            catch (AmazonS3Exception ex) when (IsConditionalConflict(ex) && attempt < ConflictRetries)
            {
                // Another conditional write to this key was in flight; ask again, it either won (412) or failed.
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsMappable(ex, cancellationToken))
            {
                throw Map(ex, "upload", key);
            }
        }
    }

    private async Task<PutOutcome> PutMultipartAsync(string objectKey, string key, Stream content, byte[] buffer, int length, int? extraByte, CancellationToken cancellationToken)
    {
        string uploadId;
        try
        {
            var initiated = await _client.InitiateMultipartUploadAsync(
                new InitiateMultipartUploadRequest { BucketName = _options.Bucket, Key = objectKey, ContentType = "application/octet-stream" },
                cancellationToken).ConfigureAwait(false);
            uploadId = initiated.UploadId;
        }
        catch (Exception ex) when (IsMappable(ex, cancellationToken))
        {
            throw Map(ex, "start the upload of", key);
        }

        var completed = false;
        try
        {
            var parts = new List<PartETag>();
            var partNumber = 1;
            while (length > 0)
            {
                using (var body = new MemoryStream(buffer, 0, length, writable: false))
                {
                    try
                    {
                        var uploaded = await _client.UploadPartAsync(
                            new UploadPartRequest
                            {
                                BucketName = _options.Bucket,
                                Key = objectKey,
                                UploadId = uploadId,
                                PartNumber = partNumber,
                                InputStream = body,
                                PartSize = length,
                                UseChunkEncoding = false,
                            },
                            cancellationToken).ConfigureAwait(false);
                        parts.Add(new PartETag(partNumber, uploaded.ETag));
                    }
                    catch (Exception ex) when (IsMappable(ex, cancellationToken))
                    {
                        throw Map(ex, $"upload part {partNumber} of", key);
                    }
                }

                partNumber++;
                var offset = 0;
                if (extraByte is int b)
                {
                    // The byte read to learn that the content goes on past a full part starts the next part.
                    buffer[0] = (byte)b;
                    offset = 1;
                    extraByte = null;
                }

                length = offset + await FillAsync(content, buffer.AsMemory(offset), _options.PartSize - offset, cancellationToken).ConfigureAwait(false);
                if (length == _options.PartSize)
                {
                    var (atEnd, extra) = await AtEndAsync(content, cancellationToken).ConfigureAwait(false);
                    extraByte = atEnd ? null : extra;
                }
            }

            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await _client.CompleteMultipartUploadAsync(
                        new CompleteMultipartUploadRequest { BucketName = _options.Bucket, Key = objectKey, UploadId = uploadId, PartETags = parts, IfNoneMatch = "*" },
                        cancellationToken).ConfigureAwait(false);
                    completed = true;
                    return PutOutcome.Created;
                }
                catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.PreconditionFailed)
                {
                    return PutOutcome.AlreadyExists;
                }
                catch (AmazonS3Exception ex) when (IsConditionalConflict(ex) && attempt < ConflictRetries)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (IsMappable(ex, cancellationToken))
                {
                    throw Map(ex, "complete the upload of", key);
                }
            }
        }
        finally
        {
            if (!completed)
            {
                await AbortQuietlyAsync(objectKey, uploadId).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Aborts an upload even when the caller's token is cancelled, within its own time limit; an abort that
    /// fails leaves invisible parts that a bucket lifecycle rule (AbortIncompleteMultipartUpload) removes.</summary>
    private async Task AbortQuietlyAsync(string objectKey, string uploadId)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await _client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = _options.Bucket, Key = objectKey, UploadId = uploadId }, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is AmazonServiceException or AmazonClientException or HttpRequestException or OperationCanceledException or IOException)
        {
            // The original failure is what the caller needs to see.
        }
    }

    /// <summary>Reads until <paramref name="count"/> bytes or the end of the content; returns how many were read.</summary>
    private static Task<int> FillAsync(Stream content, byte[] buffer, int count, CancellationToken cancellationToken) =>
        FillAsync(content, buffer.AsMemory(), count, cancellationToken);

    private static async Task<int> FillAsync(Stream content, Memory<byte> buffer, int count, CancellationToken cancellationToken)
    {
        var filled = 0;
        while (filled < count)
        {
            var read = await content.ReadAsync(buffer.Slice(filled, count - filled), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            filled += read;
        }

        return filled;
    }

    /// <summary>Whether the content is exhausted; if not, the one byte read to find out.</summary>
    private static async Task<(bool AtEnd, int? Extra)> AtEndAsync(Stream content, CancellationToken cancellationToken)
    {
        var one = new byte[1];
        var read = await content.ReadAsync(one, cancellationToken).ConfigureAwait(false);
        return read == 0 ? (true, null) : (false, one[0]);
    }

    private static bool IsConditionalConflict(AmazonS3Exception ex) =>
        ex.StatusCode == HttpStatusCode.Conflict && ex.ErrorCode == "ConditionalRequestConflict";

    /// <summary>SDK and transport failures become repository errors; the caller's own cancellation stays cancellation.</summary>
    private static bool IsMappable(Exception ex, CancellationToken cancellationToken) =>
        !cancellationToken.IsCancellationRequested &&
        ex is AmazonServiceException or AmazonClientException or HttpRequestException or SocketException or IOException or OperationCanceledException;

    private PgDrRepositoryException Map(Exception ex, string action, string key)
    {
        var what = $"cannot {action} '{key}' in bucket '{_options.Bucket}'";
        if (ex is AmazonServiceException service)
        {
            if (service.ErrorCode == "NoSuchBucket")
            {
                return RepositoryErrors.NotFound(Name, $"the bucket '{_options.Bucket}' does not exist{At()}.", ex);
            }

            if (service.StatusCode == HttpStatusCode.Forbidden || service.ErrorCode is "InvalidAccessKeyId" or "SignatureDoesNotMatch" or "AccessDenied" or "ExpiredToken" or "InvalidToken")
            {
                return RepositoryErrors.AccessDenied(Name, $"{what}: {service.ErrorCode ?? "403 Forbidden"} (check the credentials and the bucket policy).", ex);
            }

            if ((int)service.StatusCode >= 500 || service.StatusCode == HttpStatusCode.TooManyRequests)
            {
                return RepositoryErrors.Unavailable(Name, $"{what}: the service answered {(int)service.StatusCode} {service.ErrorCode} after {_options.MaxRetries} retries.", ex);
            }

            if (IsTransport(service.InnerException))
            {
                return RepositoryErrors.Unavailable(Name, $"{what}: {Transport(service.InnerException!)}{At()}.", ex);
            }

            return RepositoryErrors.Failed(Name, $"{what}: {(int)service.StatusCode} {service.ErrorCode}.", ex);
        }

        if (IsTransport(ex) || IsTransport(ex.InnerException))
        {
            return RepositoryErrors.Unavailable(Name, $"{what}: {Transport(IsTransport(ex) ? ex : ex.InnerException!)}{At()}.", ex);
        }

        if (ex is AmazonClientException && ex.Message.Contains("credentials", StringComparison.OrdinalIgnoreCase))
        {
            return RepositoryErrors.AccessDenied(Name, $"{what}: no AWS credentials were found (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile or an instance role, or name the variables in the configuration).", ex);
        }

        return RepositoryErrors.Failed(Name, $"{what}: {ex.Message}", ex);
    }

    private string At() => _options.Endpoint is null ? string.Empty : $" at {_options.Endpoint}";

    private static bool IsTransport(Exception? ex) => ex is HttpRequestException or SocketException or IOException or OperationCanceledException;

    private string Transport(Exception ex) => ex is OperationCanceledException
        ? $"no answer within {_options.RequestTimeout.TotalSeconds:0} s"
        : ex.Message.TrimEnd('.');
}
