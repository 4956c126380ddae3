using System.Buffers;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Identity;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using PgDr.Errors;

namespace PgDr.Archive.Repositories;

/// <summary>
/// How to reach an Azure Blob container. Exactly one way to authenticate: <see cref="ConnectionString"/>,
/// <see cref="SasUrl"/>, or <see cref="AccountUrl"/> with <see cref="SasToken"/> or a <see cref="Credential"/>
/// (DefaultAzureCredential when none is given: managed identity, workload identity, environment, Azure CLI).
/// Secrets never appear in <see cref="ToString"/>.
/// </summary>
public sealed class AzureBlobRepositoryOptions
{
    /// <summary>The configured repository name, for messages.</summary>
    public required string Name { get; init; }

    /// <summary>The container; may be omitted when <see cref="SasUrl"/> names it.</summary>
    public string? Container { get; init; }

    /// <summary>Optional blob name prefix inside the container (e.g. pg); keys are stored as prefix/key.</summary>
    public string? Prefix { get; init; }

    /// <summary>The blob service endpoint, e.g. https://acct.blob.core.windows.net.</summary>
    public string? AccountUrl { get; init; }

    /// <summary>A storage connection string (secret).</summary>
    public string? ConnectionString { get; init; }

    /// <summary>A container URL carrying a SAS, https://acct.blob.core.windows.net/container?sv=... (secret).</summary>
    public string? SasUrl { get; init; }

    /// <summary>A SAS token (sv=...&amp;sig=..., with or without '?') used with <see cref="AccountUrl"/> (secret).</summary>
    public string? SasToken { get; init; }

    /// <summary>An Azure AD credential for <see cref="AccountUrl"/>; DefaultAzureCredential when null.</summary>
    public TokenCredential? Credential { get; init; }

    /// <summary>Time limit of one HTTP request (one block included); a stuck request fails after it and is retried.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Time limit of establishing one connection.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Retries of a failed request (network error, 5xx, throttling) before the operation fails.</summary>
    public int MaxRetries { get; init; } = 3;

    /// <summary>Content up to this size goes in one Put Blob; larger content is staged in blocks of this size (the
    /// most memory one upload holds) and committed as a block list.</summary>
    public int BlockSize { get; init; } = 16 * 1024 * 1024;

    public override string ToString()
    {
        var auth = ConnectionString is not null ? "connection string" : SasUrl is not null || SasToken is not null ? "SAS" : Credential is not null ? "token credential" : "DefaultAzureCredential";
        var where = AccountUrl ?? (SasUrl is null ? "account from connection string" : new Uri(SasUrl).GetLeftPart(UriPartial.Path));
        return $"{Name} (azure {where} container {Container ?? "(from URL)"}{(string.IsNullOrEmpty(Prefix) ? string.Empty : "/" + Prefix.Trim('/'))}, {auth})";
    }
}

/// <summary>
/// A repository in an Azure Blob Storage container (or Azurite).
/// </summary>
/// <remarks>
/// <para>Create-only: Put Blob and Put Block List carry <c>If-None-Match: *</c>, which the service (and Azurite)
/// enforces: 409 BlobAlreadyExists means another object holds the key, and it is left unchanged.</para>
/// <para>Content up to <see cref="AzureBlobRepositoryOptions.BlockSize"/> goes in one Put Blob; larger content is
/// staged block by block (one block in memory) and becomes visible only when the block list is committed. Blocks of
/// a failed upload stay uncommitted and invisible; the service discards them after a week. Every request carries an
/// MD5 of its body, which the service verifies.</para>
/// <para>Roles needed with Azure AD: Storage Blob Data Contributor on the container (or a SAS with read, add, create,
/// write, delete and list).</para>
/// </remarks>
public sealed partial class AzureBlobArchiveRepository : IArchiveRepository, IConditionalObjectStore
{
    private readonly AzureBlobRepositoryOptions _options;
    private readonly BlobContainerClient _container;
    private readonly HttpClientTransport _transport;
    private readonly string _root;

    public AzureBlobArchiveRepository(AzureBlobRepositoryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        Name = options.Name;
        if (options.BlockSize is < 1024 * 1024 or > 100 * 1024 * 1024)
        {
            throw RepositoryErrors.InvalidConfig(Name, "the block size must be between 1 MiB and 100 MiB.");
        }

        // Our own transport for a bounded connect time (a blackholed endpoint must not take the whole request timeout).
        _transport = new HttpClientTransport(new SocketsHttpHandler { ConnectTimeout = options.ConnectTimeout });
        var clientOptions = new BlobClientOptions { Transport = _transport };
        clientOptions.Retry.MaxRetries = options.MaxRetries;
        clientOptions.Retry.Mode = RetryMode.Exponential;
        clientOptions.Retry.Delay = TimeSpan.FromMilliseconds(500);
        clientOptions.Retry.MaxDelay = TimeSpan.FromSeconds(8);
        clientOptions.Retry.NetworkTimeout = options.RequestTimeout;
        clientOptions.TransferValidation.Upload.ChecksumAlgorithm = StorageChecksumAlgorithm.MD5;

        _container = CreateContainerClient(options, clientOptions);
        var prefix = options.Prefix?.Trim('/') ?? string.Empty;
        _root = prefix.Length == 0 ? string.Empty : prefix + "/";
    }

    public string Name { get; }

    public async Task<PutOutcome> PutIfAbsentAsync(string key, Stream content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        ObjectKey.Validate(key);
        var blob = _container.GetBlockBlobClient(_root + key);
        var blockSize = _options.BlockSize;
        var buffer = ArrayPool<byte>.Shared.Rent(blockSize + 1);
        try
        {
            // One byte more than a block tells whether the content fits in one Put Blob.
            var length = await FillAsync(content, buffer.AsMemory(0, blockSize + 1), cancellationToken).ConfigureAwait(false);
            if (length <= blockSize)
            {
                return await PutSingleAsync(blob, key, buffer, length, cancellationToken).ConfigureAwait(false);
            }

            // Before uploading a large object for nothing: is the key taken? (The commit decides for real.)
            if (await ExistsAsync(blob, key, cancellationToken).ConfigureAwait(false))
            {
                return PutOutcome.AlreadyExists;
            }

            return await PutBlocksAsync(blob, key, content, buffer, length, cancellationToken).ConfigureAwait(false);
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
            var response = await _container.GetBlobClient(_root + key).DownloadStreamingAsync(new BlobDownloadOptions(), cancellationToken).ConfigureAwait(false);
            return response.Value.Content;
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

    public async Task<ArchiveObjectInfo?> StatAsync(string key, CancellationToken cancellationToken)
    {
        ObjectKey.Validate(key);
        try
        {
            var properties = await _container.GetBlobClient(_root + key).GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return new ArchiveObjectInfo(key, properties.Value.ContentLength, properties.Value.LastModified);
        }
        catch (RequestFailedException ex) when (ex.Status == 404 && ex.ErrorCode != "ContainerNotFound")
        {
            return null;
        }
        catch (Exception ex) when (IsMappable(ex, cancellationToken))
        {
            throw Map(ex, "look up", key);
        }
    }

    public async IAsyncEnumerable<ArchiveObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ObjectKey.ValidatePrefix(prefix);
        var pages = _container.GetBlobsAsync(BlobTraits.None, BlobStates.None, _root + prefix, cancellationToken).AsPages();
        var enumerator = pages.GetAsyncEnumerator(cancellationToken);
        await using (enumerator.ConfigureAwait(false))
        {
            while (true)
            {
                try
                {
                    if (!await enumerator.MoveNextAsync().ConfigureAwait(false))
                    {
                        yield break;
                    }
                }
                catch (Exception ex) when (IsMappable(ex, cancellationToken))
                {
                    throw Map(ex, "list", prefix);
                }

                foreach (var item in enumerator.Current.Values)
                {
                    yield return new ArchiveObjectInfo(
                        item.Name[_root.Length..],
                        item.Properties.ContentLength ?? 0,
                        item.Properties.LastModified ?? DateTimeOffset.MinValue);
                }
            }
        }
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        ObjectKey.Validate(key);
        try
        {
            await _container.GetBlobClient(_root + key).DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: cancellationToken).ConfigureAwait(false);
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
            return (await _container.ExistsAsync(cancellationToken).ConfigureAwait(false)).Value;
        }
        catch (Exception ex) when (IsMappable(ex, cancellationToken))
        {
            throw Map(ex, "look up", "the container");
        }
    }

    public async Task<bool> CreateStoreAsync(CancellationToken cancellationToken)
    {
        try
        {
            // Null when it existed already.
            return await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false) is not null;
        }
        catch (Exception ex) when (IsMappable(ex, cancellationToken))
        {
            throw Map(ex, "create", "the container");
        }
    }

    public ValueTask DisposeAsync()
    {
        _transport.Dispose();
        return ValueTask.CompletedTask;
    }

    public override string ToString() => _options.ToString();

    private static BlobContainerClient CreateContainerClient(AzureBlobRepositoryOptions options, BlobClientOptions clientOptions)
    {
        var name = options.Name;
        var ways = (options.ConnectionString is null ? 0 : 1) + (options.SasUrl is null ? 0 : 1) + (options.SasToken is null ? 0 : 1) + (options.Credential is null ? 0 : 1);
        if (ways > 1)
        {
            throw RepositoryErrors.InvalidConfig(name, "give one way to authenticate: a connection string, a SAS URL, a SAS token or a credential.");
        }

        try
        {
            if (options.ConnectionString is not null)
            {
                return new BlobContainerClient(options.ConnectionString, RequireContainer(options), clientOptions);
            }

            if (options.SasUrl is not null)
            {
                if (!Uri.TryCreate(options.SasUrl, UriKind.Absolute, out var sasUrl) || string.IsNullOrEmpty(sasUrl.Query))
                {
                    throw RepositoryErrors.InvalidConfig(name, "the SAS URL is not an absolute URL with a SAS query string.");
                }

                var inUrl = sasUrl.AbsolutePath.Trim('/');
                var containerUrl = inUrl.Length > 0 && !inUrl.Contains('/', StringComparison.Ordinal)
                    ? sasUrl
                    : new UriBuilder(sasUrl) { Path = sasUrl.AbsolutePath.TrimEnd('/') + "/" + RequireContainer(options) }.Uri;
                return new BlobContainerClient(containerUrl, clientOptions);
            }

            var accountUrl = RequireAccountUrl(options);
            var containerUri = new Uri(accountUrl.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/" + RequireContainer(options));
            if (options.SasToken is not null)
            {
                return new BlobContainerClient(containerUri, new AzureSasCredential(options.SasToken.TrimStart('?')), clientOptions);
            }

            return new BlobContainerClient(containerUri, options.Credential ?? new DefaultAzureCredential(), clientOptions);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or UriFormatException or InvalidOperationException)
        {
            // The SDK's message may quote the connection string; ours never does.
            throw RepositoryErrors.InvalidConfig(name, $"the Azure connection settings are malformed ({ex.GetType().Name}).");
        }
    }

    private static string RequireContainer(AzureBlobRepositoryOptions options) =>
        string.IsNullOrWhiteSpace(options.Container)
            ? throw RepositoryErrors.InvalidConfig(options.Name, "the azure repository needs a 'container'.")
            : options.Container;

    private static Uri RequireAccountUrl(AzureBlobRepositoryOptions options) =>
        Uri.TryCreate(options.AccountUrl, UriKind.Absolute, out var url)
            ? url
            : throw RepositoryErrors.InvalidConfig(options.Name, "the azure repository needs an 'accountUrl' (https://<account>.blob.core.windows.net) or a connection string or SAS URL.");

    private async Task<PutOutcome> PutSingleAsync(BlockBlobClient blob, string key, byte[] buffer, int length, CancellationToken cancellationToken)
    {
        using var body = new MemoryStream(buffer, 0, length, writable: false);
        try
        {
            await blob.UploadAsync(body, new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } }, cancellationToken).ConfigureAwait(false);
            return PutOutcome.Created;
        }
        catch (RequestFailedException ex) when (IsAlreadyExists(ex))
        {
            return PutOutcome.AlreadyExists;
        }
        catch (Exception ex) when (IsMappable(ex, cancellationToken))
        {
            throw Map(ex, "upload", key);
        }
    }

    private async Task<PutOutcome> PutBlocksAsync(BlockBlobClient blob, string key, Stream content, byte[] buffer, int length, CancellationToken cancellationToken)
    {
        var blockSize = _options.BlockSize;

        // Block ids must have one length within a blob; a fresh upload id keeps ours apart from a concurrent writer's.
        var upload = Guid.NewGuid().ToString("N");
        var blocks = new List<string>();
        while (length > 0)
        {
            var blockLength = Math.Min(length, blockSize);
            var blockId = Convert.ToBase64String(Encoding.ASCII.GetBytes($"{upload}-{blocks.Count:D6}"));
            using (var body = new MemoryStream(buffer, 0, blockLength, writable: false))
            {
                try
                {
                    await blob.StageBlockAsync(blockId, body, new BlockBlobStageBlockOptions(), cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (IsMappable(ex, cancellationToken))
                {
                    throw Map(ex, $"upload block {blocks.Count + 1} of", key);
                }
            }

            blocks.Add(blockId);

            // Keep the byte read past the block (when there is one), then fill up to a block and one byte again.
            var carried = length - blockLength;
            if (carried > 0)
            {
                buffer[0] = buffer[blockLength];
            }

            length = carried + await FillAsync(content, buffer.AsMemory(carried, blockSize + 1 - carried), cancellationToken).ConfigureAwait(false);
        }

        try
        {
            await blob.CommitBlockListAsync(blocks, new CommitBlockListOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } }, cancellationToken).ConfigureAwait(false);
            return PutOutcome.Created;
        }
        catch (RequestFailedException ex) when (IsAlreadyExists(ex))
        {
            return PutOutcome.AlreadyExists;
        }
        catch (RequestFailedException ex) when (ex.ErrorCode == "InvalidBlockList" && !cancellationToken.IsCancellationRequested)
        {
            // A concurrent writer committed first, which discards every uncommitted block of the blob, ours included.
            if (await ExistsAsync(blob, key, cancellationToken).ConfigureAwait(false))
            {
                return PutOutcome.AlreadyExists;
            }

            throw Map(ex, "commit", key);
        }
        catch (Exception ex) when (IsMappable(ex, cancellationToken))
        {
            throw Map(ex, "commit", key);
        }
    }

    private async Task<bool> ExistsAsync(BlobBaseClient blob, string key, CancellationToken cancellationToken)
    {
        try
        {
            return (await blob.ExistsAsync(cancellationToken).ConfigureAwait(false)).Value;
        }
        catch (Exception ex) when (IsMappable(ex, cancellationToken))
        {
            throw Map(ex, "look up", key);
        }
    }

    private static async Task<int> FillAsync(Stream content, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var filled = 0;
        while (filled < buffer.Length)
        {
            // Errors of the caller's stream are the caller's: they propagate unchanged.
            var read = await content.ReadAsync(buffer[filled..], cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            filled += read;
        }

        return filled;
    }

    private static bool IsAlreadyExists(RequestFailedException ex) =>
        ex.ErrorCode == "BlobAlreadyExists" || ex.Status == 412 || (ex.Status == 409 && ex.ErrorCode == "ConditionNotMet");

    private static bool IsMappable(Exception ex, CancellationToken cancellationToken) =>
        !cancellationToken.IsCancellationRequested &&
        ex is RequestFailedException or AggregateException or AuthenticationFailedException or CredentialUnavailableException or HttpRequestException or SocketException or IOException or OperationCanceledException;

    private PgDrRepositoryException Map(Exception ex, string action, string key)
    {
        var what = $"cannot {action} '{key}' in container '{_container.Name}'";

        // After its retries Azure.Core throws an AggregateException of the attempts; the last one tells the most.
        var cause = ex is AggregateException aggregate && aggregate.InnerExceptions.Count > 0 ? aggregate.InnerExceptions[^1] : ex;
        switch (cause)
        {
            case AuthenticationFailedException or CredentialUnavailableException:
                return RepositoryErrors.AccessDenied(Name, $"{what}: no Azure AD token could be obtained ({cause.GetType().Name}; check the managed identity or the environment).", ex);
            case RequestFailedException failed when failed.Status == 403 || failed.Status == 401:
                return RepositoryErrors.AccessDenied(Name, $"{what}: {failed.Status} {failed.ErrorCode} (check the key, SAS or role assignment).", ex);
            case RequestFailedException failed when failed.ErrorCode == "ContainerNotFound" || failed.ErrorCode == "ResourceNotFound":
                return RepositoryErrors.NotFound(Name, $"the container '{_container.Name}' does not exist at {_container.Uri.GetLeftPart(UriPartial.Authority)}.", ex);
            case RequestFailedException failed when failed.Status >= 500 || failed.Status == 429:
                return RepositoryErrors.Unavailable(Name, $"{what}: the service answered {failed.Status} {failed.ErrorCode} after {_options.MaxRetries} retries.", ex);
            case RequestFailedException failed when failed.Status == 0 || IsTransport(failed.InnerException):
                return RepositoryErrors.Unavailable(Name, $"{what}: {Transport(failed.InnerException ?? failed)} at {_container.Uri.GetLeftPart(UriPartial.Authority)}.", ex);
            case RequestFailedException failed:
                return RepositoryErrors.Failed(Name, $"{what}: {failed.Status} {failed.ErrorCode}.", ex);
            default:
                if (IsTransport(cause))
                {
                    return RepositoryErrors.Unavailable(Name, $"{what}: {Transport(cause)} at {_container.Uri.GetLeftPart(UriPartial.Authority)}.", ex);
                }

                return RepositoryErrors.Failed(Name, $"{what}: {cause.GetType().Name}.", ex);
        }
    }

    private static bool IsTransport(Exception? ex) => ex is HttpRequestException or SocketException or IOException or OperationCanceledException;

    private string Transport(Exception ex) => ex switch
    {
        OperationCanceledException => $"no answer within {_options.RequestTimeout.TotalSeconds:0} s",
        HttpRequestException { InnerException: SocketException socket } => socket.Message.TrimEnd('.'),
        _ => ex.Message.Split('\n')[0].TrimEnd('.'),
    };
}
