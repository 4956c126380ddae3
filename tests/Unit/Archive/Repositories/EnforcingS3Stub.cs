using System.Collections.Concurrent;
using System.Net;
using System.Text;
using PgDr.Tests.Fixtures;

namespace PgDr.Tests.Archive.Repositories;

/// <summary>
/// The smallest S3 endpoint that enforces <c>If-None-Match: *</c> as AWS does (s3rver ignores it): every key exists,
/// HEAD says it does not (the race the header closes), and a conditional PUT or multipart completion gets 412.
/// It records the requests, so tests can see that the header was sent and a refused multipart upload was aborted.
/// </summary>
internal sealed class EnforcingS3Stub : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _loop;

    public EnforcingS3Stub()
    {
        Port = Ports.Closed();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }

    /// <summary>"METHOD path?query if-none-match" of every request, in arrival order.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            var request = context.Request;
            await request.InputStream.CopyToAsync(Stream.Null);
            var query = request.Url!.Query;
            Requests.Enqueue($"{request.HttpMethod} {request.Url.AbsolutePath}{query} if-none-match={request.Headers["If-None-Match"]}");
            var response = context.Response;
            var conditional = request.Headers["If-None-Match"] == "*";
            (int status, string body) = (request.HttpMethod, query) switch
            {
                ("HEAD", _) => (404, string.Empty),
                ("POST", var q) when q.Contains("uploads", StringComparison.Ordinal) =>
                    (200, "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>upload-1</UploadId></InitiateMultipartUploadResult>"),
                ("PUT", var q) when q.Contains("partNumber", StringComparison.Ordinal) => (200, string.Empty),
                ("PUT", _) or ("POST", _) when conditional => (412, "<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>"),
                ("DELETE", _) => (204, string.Empty),
                _ => (200, string.Empty),
            };
            response.StatusCode = status;
            if (request.HttpMethod == "PUT")
            {
                response.AddHeader("ETag", "\"0123456789abcdef\"");
            }

            var bytes = Encoding.UTF8.GetBytes(body);
            if (bytes.Length > 0)
            {
                response.ContentType = "application/xml";
                await response.OutputStream.WriteAsync(bytes);
            }

            response.Close();
        }
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }
}
