using System.Text.RegularExpressions;
using Amazon.KeyManagementService;
using Amazon.KeyManagementService.Model;
using Amazon.Runtime;

namespace PgDr.Tests.Fixtures;

/// <summary>
/// A real moto_server (AWS emulator: KMS, with IAM enforced) on a free loopback port, shared by the envelope-encryption
/// tests; <see cref="MotoFixture"/> is the S3 one, without IAM. Two IAM users are made before enforcement starts: "archiver", granted kms:*, and "revoked", granted nothing,
/// whose requests moto refuses with AccessDeniedException as AWS does once a grant is withdrawn. moto 5.2.1 does not
/// model a key's state (a disabled key still encrypts there), so the grant is how these tests take a key away.
/// </summary>
public sealed class MotoKmsFixture : IAsyncLifetime
{
    // The unauthenticated requests moto serves before it enforces IAM: exactly the setup below.
    private const int SetupRequests = 5;

    // Per instance (the port), because the variables are process-wide and fixtures of parallel collections each make
    // their own users; clusters started after InitializeAsync inherit them, so archive_command can use them too.
    public string AccessKeyVariable => $"PGDR_TEST_KMS_ACCESS_KEY_{Port}";

    public string SecretKeyVariable => $"PGDR_TEST_KMS_SECRET_KEY_{Port}";

    public string RevokedAccessKeyVariable => $"PGDR_TEST_KMS_REVOKED_ACCESS_KEY_{Port}";

    public string RevokedSecretKeyVariable => $"PGDR_TEST_KMS_REVOKED_SECRET_KEY_{Port}";

    private EmulatorProcess? _emulator;
    private (string Id, string Secret) _archiver;

    public string Endpoint => $"http://127.0.0.1:{Port}";

    private int Port => (_emulator ?? throw new InvalidOperationException("moto_server is not running.")).Port;

    public async Task InitializeAsync()
    {
        _emulator = await EmulatorProcess.StartExecutableAsync(
            MotoFixture.Locate(),
            (port, _) => ["-H", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            TimeSpan.FromSeconds(120),
            new Dictionary<string, string> { ["INITIAL_NO_AUTH_ACTION_COUNT"] = SetupRequests.ToString(System.Globalization.CultureInfo.InvariantCulture) });

        try
        {
            using var http = new HttpClient();
            _archiver = await NewUserAsync(http, "archiver", """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:*"],"Resource":"*"}]}""");
            var revoked = await NewUserAsync(http, "revoked", policy: null);
            Environment.SetEnvironmentVariable(AccessKeyVariable, _archiver.Id);
            Environment.SetEnvironmentVariable(SecretKeyVariable, _archiver.Secret);
            Environment.SetEnvironmentVariable(RevokedAccessKeyVariable, revoked.Id);
            Environment.SetEnvironmentVariable(RevokedSecretKeyVariable, revoked.Secret);
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    /// <summary>A KMS client of the emulator as the archiver (granted kms:*), to create keys as an administrator would.</summary>
    public AmazonKeyManagementServiceClient Client() =>
        new(new BasicAWSCredentials(_archiver.Id, _archiver.Secret), new AmazonKeyManagementServiceConfig { ServiceURL = Endpoint, AuthenticationRegion = "us-east-1" });

    /// <summary>A new symmetric key with an alias of its own.</summary>
    public async Task<(string KeyId, string Alias)> NewKeyAsync()
    {
        using var client = Client();
        var key = await client.CreateKeyAsync(new CreateKeyRequest { Description = "pgdr test" });
        var alias = "alias/pgdr-" + Guid.NewGuid().ToString("N")[..10];
        await client.CreateAliasAsync(new CreateAliasRequest { AliasName = alias, TargetKeyId = key.KeyMetadata.KeyId });
        return (key.KeyMetadata.KeyId, alias);
    }

    /// <summary>The configuration's encryption.kms for <paramref name="keyId"/>, as the archiver or as the user without a grant.</summary>
    public Dictionary<string, object> KmsConfig(string keyId, bool revoked = false) => new()
    {
        ["keyId"] = keyId, ["region"] = "us-east-1", ["endpoint"] = Endpoint,
        ["accessKeyIdEnv"] = revoked ? RevokedAccessKeyVariable : AccessKeyVariable,
        ["secretAccessKeyEnv"] = revoked ? RevokedSecretKeyVariable : SecretKeyVariable,
    };

    public async Task DisposeAsync()
    {
        if (_emulator is not null)
        {
            await _emulator.DisposeAsync();
        }
    }

    // IAM's query API, not signed: moto serves the first SetupRequests requests without authentication.
    private async Task<(string Id, string Secret)> NewUserAsync(HttpClient http, string name, string? policy)
    {
        await IamAsync(http, new() { ["Action"] = "CreateUser", ["UserName"] = name });
        var key = await IamAsync(http, new() { ["Action"] = "CreateAccessKey", ["UserName"] = name });
        if (policy is not null)
        {
            await IamAsync(http, new() { ["Action"] = "PutUserPolicy", ["UserName"] = name, ["PolicyName"] = "kms", ["PolicyDocument"] = policy });
        }

        return (
            Regex.Match(key, "<AccessKeyId>([^<]+)</AccessKeyId>").Groups[1].Value,
            Regex.Match(key, "<SecretAccessKey>([^<]+)</SecretAccessKey>").Groups[1].Value);
    }

    private async Task<string> IamAsync(HttpClient http, Dictionary<string, string> form)
    {
        form["Version"] = "2010-05-08";
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Endpoint + "/")) { Content = new FormUrlEncodedContent(form) };

        // moto routes a request by the service in its credential scope; before enforcement it checks nothing else.
        request.Headers.TryAddWithoutValidation("Authorization", "AWS4-HMAC-SHA256 Credential=setup/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0");
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        return response.IsSuccessStatusCode ? body : throw new InvalidOperationException($"moto IAM {form["Action"]}: {(int)response.StatusCode} {body}");
    }
}
