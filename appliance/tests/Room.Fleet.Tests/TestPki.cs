using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Room.Fleet.Tests;

/// <summary>
/// A test organisation CA (ECDSA P-256, as meeting-server's OrganisationCa) issuing what the fleet needs: the broker's
/// and the download server's TLS certificates (for 127.0.0.1), device certificates (CN device:NAME, client auth) and
/// admin / job-signing certificates. Files are PEM in <see cref="Dir"/>.
/// </summary>
public sealed class TestPki : IDisposable
{
    private readonly ECDsa _caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public TestPki(string dir, string name = "Test Fleet CA")
    {
        Dir = dir;
        Directory.CreateDirectory(dir);
        var req = new CertificateRequest($"CN={name}", _caKey, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        req.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(req.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        Ca = req.CreateSelfSigned(now.AddYears(-2), now.AddYears(5));
        CaFile = Path.Combine(dir, SafeName(name) + "-ca.pem");
        File.WriteAllText(CaFile, Ca.ExportCertificatePem());
    }

    public string Dir { get; }

    public X509Certificate2 Ca { get; }

    public string CaFile { get; }

    /// <summary>A TLS server certificate for 127.0.0.1 (and localhost); files NAME.pem and NAME.key.</summary>
    public (string Cert, string Key) IssueServer(string name) =>
        Issue(name, "CN=" + name, new Oid("1.3.6.1.5.5.7.3.1"), san: true);

    /// <summary>A client certificate with the CN <paramref name="identity"/> (device:NAME, fleet-admin:NAME).</summary>
    public (string Cert, string Key) IssueClient(string identity) =>
        Issue(SafeName(identity), "CN=" + identity, new Oid("1.3.6.1.5.5.7.3.2"), san: false);

    /// <summary>A certificate with a key, for signing (jobs); <paramref name="notAfter"/> to make expired ones.</summary>
    public X509Certificate2 IssueSigner(string identity, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest("CN=" + identity, key, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.3")], false));
        var now = DateTimeOffset.UtcNow;
        using var cert = req.Create(Ca, notBefore ?? now.AddDays(-1), notAfter ?? now.AddYears(1), RandomNumberGenerator.GetBytes(12));
        return cert.CopyWithPrivateKey(key);
    }

    private (string Cert, string Key) Issue(string file, string subject, Oid eku, bool san)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([eku], false));
        if (san)
        {
            var b = new SubjectAlternativeNameBuilder();
            b.AddIpAddress(IPAddress.Loopback);
            b.AddDnsName("localhost");
            req.CertificateExtensions.Add(b.Build());
        }

        var now = DateTimeOffset.UtcNow;
        using var cert = req.Create(Ca, now.AddDays(-1), now.AddYears(1), RandomNumberGenerator.GetBytes(12));
        string certFile = Path.Combine(Dir, file + ".pem"), keyFile = Path.Combine(Dir, file + ".key");
        File.WriteAllText(certFile, cert.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return (certFile, keyFile);
    }

    private static string SafeName(string s) => string.Concat(s.Select(c => char.IsAsciiLetterOrDigit(c) || c == '-' ? c : '_'));

    public void Dispose()
    {
        Ca.Dispose();
        _caKey.Dispose();
    }
}
