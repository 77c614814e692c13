using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Room.Testing.Network;

/// <summary>
/// A private CA and one server certificate it signed, made fresh for a test and written as PEM files to a private
/// temporary folder (removed on dispose). Nothing is added to any trust store.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private TestCertificates(string directory, X509Certificate2 ca)
    {
        Directory = directory;
        Ca = ca;
    }

    public string Directory { get; }
    public X509Certificate2 Ca { get; }
    public string CaFile => Path.Combine(Directory, "ca.pem");
    public string CertFile => Path.Combine(Directory, "server.pem");
    public string KeyFile => Path.Combine(Directory, "server.key");

    /// <summary>Makes a CA and a server certificate for <paramref name="serverName"/> (a DNS name in subjectAltName).</summary>
    public static TestCertificates Create(string serverName)
    {
        var dir = System.IO.Directory.CreateTempSubdirectory("room-test-pki-").FullName;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Room test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        using var caWithKey = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(7));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + serverName, serverKey, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(serverName);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var server = request.Create(caWithKey, now.AddDays(-1), now.AddDays(7), RandomNumberGenerator.GetBytes(12));

        File.WriteAllText(Path.Combine(dir, "ca.pem"), caWithKey.ExportCertificatePem());
        File.WriteAllText(Path.Combine(dir, "server.pem"), server.ExportCertificatePem() + "\n" + caWithKey.ExportCertificatePem());
        File.WriteAllText(Path.Combine(dir, "server.key"), serverKey.ExportPkcs8PrivateKeyPem());
        return new TestCertificates(dir, X509CertificateLoader.LoadCertificate(caWithKey.RawData));
    }

    public void Dispose()
    {
        Ca.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
