using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace PgDr.Hosting.Sandbox;

/// <summary>
/// The sandbox's own certificate authority, for New-PgDrSandbox -Tls: a CA, a server certificate it signed for
/// 127.0.0.1 and localhost (every node uses it: they all listen on loopback), and client certificates on demand for
/// certificate authentication. Made with .NET's own X.509 support, so no openssl program is needed. The keys stay in the
/// sandbox directory (0600): it is a place to try things, never a production CA.
/// </summary>
public static class SandboxTls
{
    public const string DirectoryName = "tls";
    public const string CaCertificateFile = "ca.crt";
    public const string CaKeyFile = "ca.key";
    public const string ServerCertificateFile = "server.crt";
    public const string ServerKeyFile = "server.key";

    /// <summary>Writes the CA and the server certificate into <paramref name="directory"/> (created); returns nothing secret.</summary>
    public static void CreateAuthority(string directory)
    {
        Directory.CreateDirectory(directory);
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=PgDr sandbox CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddYears(1));
        File.WriteAllText(Path.Combine(directory, CaCertificateFile), ca.ExportCertificatePem());
        SandboxService.WritePrivateFile(Path.Combine(directory, CaKeyFile), caKey.ExportPkcs8PrivateKeyPem());

        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        Issue(directory, ServerCertificateFile, ServerKeyFile, "CN=127.0.0.1", san.Build(), X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, "1.3.6.1.5.5.7.3.1");
    }

    /// <summary>
    /// A client certificate for <paramref name="user"/> (its common name, as PostgreSQL's cert authentication compares
    /// it to the role), signed by the sandbox CA in <paramref name="directory"/>: user.crt and user.key (0600).
    /// </summary>
    public static (string Certificate, string Key) IssueClientCertificate(string directory, string user)
    {
        ArgumentException.ThrowIfNullOrEmpty(user);
        var certificate = user + ".crt";
        var key = user + ".key";
        var subject = new X500DistinguishedNameBuilder();
        subject.AddCommonName(user);
        Issue(directory, certificate, key, subject.Build().Name, null, X509KeyUsageFlags.DigitalSignature, "1.3.6.1.5.5.7.3.2");
        return (Path.Combine(directory, certificate), Path.Combine(directory, key));
    }

    private static void Issue(string directory, string certificateFile, string keyFile, string subject, X509Extension? san, X509KeyUsageFlags usage, string extendedUsage)
    {
        using var ca = X509Certificate2.CreateFromPemFile(Path.Combine(directory, CaCertificateFile), Path.Combine(directory, CaKeyFile));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(usage, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(extendedUsage)], false));
        if (san is not null)
        {
            request.CertificateExtensions.Add(san);
        }

        using var signed = request.Create(ca, DateTimeOffset.UtcNow.AddMinutes(-5), ca.NotAfter.AddDays(-1), RandomNumberGenerator.GetBytes(16));
        File.WriteAllText(Path.Combine(directory, certificateFile), signed.ExportCertificatePem());
        SandboxService.WritePrivateFile(Path.Combine(directory, keyFile), key.ExportPkcs8PrivateKeyPem());
    }
}
