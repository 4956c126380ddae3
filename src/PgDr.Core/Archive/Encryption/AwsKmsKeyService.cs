using System.Collections.Concurrent;
using System.Net.Sockets;
using Amazon;
using Amazon.KeyManagementService;
using Amazon.KeyManagementService.Model;
using Amazon.Runtime;
using PgDr.Errors;

namespace PgDr.Archive.Encryption;

/// <summary>How to reach the AWS KMS key that wraps the archive's data keys. Secrets are read from named environment variables.</summary>
public sealed class AwsKmsOptions
{
    /// <summary>The key: its id, ARN, alias name (alias/pgdr-archive) or alias ARN.</summary>
    public required string KeyId { get; init; }

    /// <summary>The stanza, bound into every wrapped key as encryption context: a data key of one stanza does not open another's objects, and CloudTrail names the stanza.</summary>
    public required string Stanza { get; init; }

    public string? Region { get; init; }

    /// <summary>A custom endpoint (a VPC endpoint, or an emulator in tests).</summary>
    public string? Endpoint { get; init; }

    /// <summary>Explicit credentials; without them the SDK's chain applies (environment, profile, instance or task role).</summary>
    public string? AccessKeyId { get; init; }

    public string? SecretAccessKey { get; init; }

    public string? SessionToken { get; init; }
}

/// <summary>
/// Envelope encryption with AWS KMS: GenerateDataKey (AES_256) for new objects, Decrypt for the wrapped keys objects
/// carry. The principal needs kms:GenerateDataKey to push and kms:Decrypt to fetch, on this key; revoking either (or
/// disabling the key) stops that at once, with KmsKeyUnusable and nothing written.
/// </summary>
public sealed class AwsKmsKeyService : IArchiveKeyService
{
    private const string StanzaContext = "pgdr:stanza";

    private readonly AwsKmsOptions _options;
    private readonly AmazonKeyManagementServiceClient _client;
    private readonly SemaphoreSlim _dataKeyLock = new(1, 1);
    private readonly ConcurrentDictionary<string, Lazy<Task<ArchiveKey>>> _unwrapped = new(StringComparer.Ordinal);
    private WrappedDataKey? _dataKey;

    public AwsKmsKeyService(AwsKmsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        var config = new AmazonKeyManagementServiceConfig { MaxErrorRetry = 3, Timeout = TimeSpan.FromSeconds(30) };
        if (!string.IsNullOrEmpty(options.Endpoint))
        {
            config.ServiceURL = options.Endpoint;
            config.AuthenticationRegion = options.Region ?? "us-east-1";
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(options.Region ?? "us-east-1");
        }

        _client = options.AccessKeyId is null
            ? new AmazonKeyManagementServiceClient(config)
            : new AmazonKeyManagementServiceClient(
                options.SessionToken is null
                    ? new BasicAWSCredentials(options.AccessKeyId, options.SecretAccessKey)
                    : new SessionAWSCredentials(options.AccessKeyId, options.SecretAccessKey, options.SessionToken),
                config);
    }

    public string Description => $"AWS KMS key {_options.KeyId}";

    public async Task<WrappedDataKey> DataKeyAsync(CancellationToken cancellationToken)
    {
        await _dataKeyLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_dataKey is not null)
            {
                return _dataKey;
            }

            GenerateDataKeyResponse response;
            try
            {
                response = await _client.GenerateDataKeyAsync(
                    new GenerateDataKeyRequest { KeyId = _options.KeyId, KeySpec = DataKeySpec.AES_256, EncryptionContext = Context() },
                    cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsMappable(ex, cancellationToken))
            {
                throw Map(ex, "generate a data key with");
            }

            using var plaintext = response.Plaintext;
            _dataKey = new WrappedDataKey(FromPlaintext(plaintext, $"data key of {Description}"), response.CiphertextBlob.ToArray());
            return _dataKey;
        }
        finally
        {
            _dataKeyLock.Release();
        }
    }

    public Task<ArchiveKey> UnwrapAsync(byte[] wrappedKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(wrappedKey);

        // One Decrypt per distinct wrapped key in a process (the prefetcher reads many objects of one pusher's key).
        var entry = _unwrapped.GetOrAdd(Convert.ToBase64String(wrappedKey), _ => new Lazy<Task<ArchiveKey>>(() => DecryptAsync(wrappedKey, cancellationToken)));
        var task = entry.Value;
        if (task.IsFaulted || task.IsCanceled)
        {
            // A failure is not cached: the grant may be restored, the network may come back.
            _unwrapped.TryRemove(new KeyValuePair<string, Lazy<Task<ArchiveKey>>>(Convert.ToBase64String(wrappedKey), entry));
        }

        return task;
    }

    public void Dispose()
    {
        _dataKey?.Key.Dispose();
        foreach (var entry in _unwrapped.Values.Where(e => e.IsValueCreated && e.Value.IsCompletedSuccessfully))
        {
            entry.Value.Result.Dispose();
        }

        _dataKeyLock.Dispose();
        _client.Dispose();
    }

    public override string ToString() => Description;

    private async Task<ArchiveKey> DecryptAsync(byte[] wrappedKey, CancellationToken cancellationToken)
    {
        try
        {
            // No KeyId: the blob names the key it was wrapped with, which keeps objects of a rotated-out key readable.
            var response = await _client.DecryptAsync(
                new DecryptRequest { CiphertextBlob = new MemoryStream(wrappedKey), EncryptionContext = Context() },
                cancellationToken).ConfigureAwait(false);
            using var plaintext = response.Plaintext;
            return FromPlaintext(plaintext, $"data key of AWS KMS key {response.KeyId}");
        }
        catch (Exception ex) when (IsMappable(ex, cancellationToken))
        {
            throw Map(ex, "unwrap a data key with");
        }
    }

    private Dictionary<string, string> Context() => new(StringComparer.Ordinal) { [StanzaContext] = _options.Stanza };

    private static ArchiveKey FromPlaintext(MemoryStream plaintext, string source)
    {
        var buffer = plaintext.GetBuffer();
        try
        {
            return ArchiveKey.FromBytes(buffer.AsSpan(0, (int)plaintext.Length), source);
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(buffer);
        }
    }

    private static bool IsMappable(Exception ex, CancellationToken cancellationToken) =>
        !cancellationToken.IsCancellationRequested && ex is AmazonServiceException or AmazonClientException or HttpRequestException or SocketException or IOException or OperationCanceledException;

    private PgDrArchiveException Map(Exception ex, string action)
    {
        var what = $"Cannot {action} {Description}{(_options.Endpoint is null ? string.Empty : " at " + _options.Endpoint)}";
        return ex switch
        {
            NotFoundException => Unusable($"{what}: no such key (a wrong key id or alias, or another region or account).", ex),
            DisabledException => Unusable($"{what}: the key is disabled.", ex),
            KMSInvalidStateException => Unusable($"{what}: the key is not usable now (pending deletion, or pending import).", ex),
            InvalidCiphertextException or IncorrectKeyException => Unusable($"{what}: the wrapped key does not open with it (another stanza's, or damaged).", ex),
            AmazonServiceException { ErrorCode: "AccessDeniedException" or "UnrecognizedClientException" or "InvalidSignatureException" or "ExpiredTokenException" } service =>
                Unusable($"{what}: {service.ErrorCode} (the role lacks kms:GenerateDataKey or kms:Decrypt on the key, or its credentials are wrong).", ex),
            KeyUnavailableException => Unavailable($"{what}: the key service cannot use the key now (KeyUnavailableException); try again.", ex),
            AmazonServiceException service when (int)service.StatusCode >= 500 || service.ErrorCode is "ThrottlingException" =>
                Unavailable($"{what}: {(int)service.StatusCode} {service.ErrorCode} after retries.", ex),
            AmazonServiceException service => Unusable($"{what}: {(int)service.StatusCode} {service.ErrorCode}.", ex),
            AmazonClientException when ex.Message.Contains("credentials", StringComparison.OrdinalIgnoreCase) =>
                Unusable($"{what}: no AWS credentials were found (environment, profile or role, or the variables named in the configuration).", ex),
            _ => Unavailable($"{what}: {(ex.InnerException ?? ex).Message.TrimEnd('.')}.", ex),
        };
    }

    private PgDrArchiveException Unusable(string message, Exception ex) =>
        new PgDrArchiveException(ErrorIds.KmsKeyUnusable, PgDrErrorCategory.SecurityError, message, _options.KeyId, ex);

    private PgDrArchiveException Unavailable(string message, Exception ex) =>
        new PgDrArchiveException(ErrorIds.KmsUnavailable, PgDrErrorCategory.ConnectionError, message, _options.KeyId, ex);
}
