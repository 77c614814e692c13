using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;

namespace Room.MeetingServer.Identity;

/// <summary>
/// The organisation's certificate authority (ECDSA P-256): made on first start in the data directory (key file mode
/// 0600), it issues device certificates (enrolment), short-lived person certificates (after sign-in) and the server's
/// TLS certificate, and checks client certificates. Every MLS credential of a meeting must chain to it.
/// </summary>
public sealed class OrganisationCa : IDisposable
{
    private readonly ECDsa _key;
    private readonly TimeProvider _time;

    public X509Certificate2 Certificate { get; }

    public OrganisationCa(IOptions<MeetingServerOptions> options, TimeProvider time)
    {
        _time = time;
        var o = options.Value;
        Directory.CreateDirectory(o.DataDirectory);
        string certPath = Path.Combine(o.DataDirectory, "ca.pem"), keyPath = Path.Combine(o.DataDirectory, "ca.key");
        if (File.Exists(certPath) && File.Exists(keyPath))
        {
            Certificate = X509Certificate2.CreateFromPem(File.ReadAllText(certPath));
            _key = ECDsa.Create();
            _key.ImportFromPem(File.ReadAllText(keyPath));
            return;
        }

        _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest($"CN={Escape(o.Organisation)} Room CA, O={Escape(o.Organisation)}", _key, HashAlgorithmName.SHA256);
        // Path length 1: the guest CA (GuestCa) is the one subordinate CA under it.
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 1, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        req.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(req.PublicKey, false));
        var now = time.GetUtcNow();
        using var self = req.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(20));
        Certificate = X509CertificateLoader.LoadCertificate(self.RawData);
        File.WriteAllText(keyPath, "", System.Text.Encoding.ASCII);
        File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllText(keyPath, _key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(certPath, Certificate.ExportCertificatePem());
    }

    private static string Escape(string s) => s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace(",", "\\,", StringComparison.Ordinal)
        .Replace("+", "\\+", StringComparison.Ordinal).Replace("=", "\\=", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);

    /// <summary>SHA-256 of the CA certificate, base64url: the pin an enrolment code carries.</summary>
    public string Pin => PinOf(Certificate);

    public static string PinOf(X509Certificate2 ca) => Base64Url(SHA256.HashData(ca.RawData));

    internal static string Base64Url(ReadOnlySpan<byte> b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>
    /// Issues a certificate for the key of a PKCS#10 request (its signature is checked: the requester holds the key).
    /// The requested subject is ignored; the subject is <paramref name="identity"/>. Only P-256 keys are accepted.
    /// </summary>
    public X509Certificate2 Issue(byte[] csrDer, string identity, TimeSpan lifetime)
    {
        var req = new CertificateRequest(new X500DistinguishedName("CN=" + identity), LoadRequest(csrDer).PublicKey, HashAlgorithmName.SHA256);
        AddLeafExtensions(req, Certificate);
        return Sign(req, lifetime);
    }

    /// <summary>A PKCS#10 request whose signature verifies, for a P-256 key; refused (malformed) otherwise.</summary>
    internal static CertificateRequest LoadRequest(byte[] csrDer)
    {
        CertificateRequest csr;
        try
        {
            csr = CertificateRequest.LoadSigningRequest(csrDer, HashAlgorithmName.SHA256, out int read, CertificateRequestLoadOptions.Default);
            if (read != csrDer.Length)
            {
                throw new RefusedException(Refusal.Malformed, "certificate request has trailing bytes");
            }
        }
        catch (Exception e) when (e is CryptographicException or AsnContentException or ArgumentException)
        {
            throw new RefusedException(Refusal.Malformed, "certificate request is malformed or its signature is invalid");
        }

        using var key = csr.PublicKey.GetECDsaPublicKey() ?? throw new RefusedException(Refusal.Malformed, "the key must be ECDSA P-256");
        if (key.KeySize != 256 || key.ExportParameters(false).Curve.Oid.Value != ECCurve.NamedCurves.nistP256.Oid.Value)
        {
            throw new RefusedException(Refusal.Malformed, "the key must be ECDSA P-256");
        }

        return csr;
    }

    /// <summary>A member certificate: no CA, for signing (MLS) and client authentication.</summary>
    internal static void AddLeafExtensions(CertificateRequest req, X509Certificate2 issuer)
    {
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        req.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(req.PublicKey, false));
        req.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));
    }

    /// <summary>
    /// True when this CA may have a subordinate CA (path length 1 or more). A CA made before guests (path length 0) may not:
    /// guest invitations are refused on such a server.
    /// </summary>
    public bool AllowsSubordinateCa => Certificate.Extensions.OfType<X509BasicConstraintsExtension>()
        .Any(b => b.CertificateAuthority && (!b.HasPathLengthConstraint || b.PathLengthConstraint >= 1));

    /// <summary>Signs a subordinate CA's request (the guest CA), bounded by this CA's own lifetime.</summary>
    internal X509Certificate2 SignSubordinate(CertificateRequest req, TimeSpan lifetime)
    {
        req.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));
        return Sign(req, lifetime);
    }

    private X509Certificate2 Sign(CertificateRequest req, TimeSpan lifetime)
    {
        var now = _time.GetUtcNow();
        byte[] serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        var notAfter = now + lifetime;
        if (notAfter > Certificate.NotAfter)
        {
            notAfter = Certificate.NotAfter;
        }

        using var cert = req.Create(Certificate.SubjectName, X509SignatureGenerator.CreateForECDsa(_key), now.AddMinutes(-5), notAfter, serial);
        return X509CertificateLoader.LoadCertificate(cert.RawData);
    }

    /// <summary>The server's TLS certificate (with its key) for the configured names, issued at each start.</summary>
    public X509Certificate2 IssueServerCertificate(IEnumerable<string> hostNames)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var names = hostNames.ToList();
        var req = new CertificateRequest(new X500DistinguishedName("CN=" + (names.FirstOrDefault() ?? "room-meeting-server")), key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var n in names)
        {
            if (System.Net.IPAddress.TryParse(n, out var ip))
            {
                san.AddIpAddress(ip);
            }
            else
            {
                san.AddDnsName(n);
            }
        }

        req.CertificateExtensions.Add(san.Build());
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        req.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));
        using var cert = Sign(req, TimeSpan.FromDays(365));
        using var withKey = cert.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>The identity (subject CN) of a certificate that chains to this CA, is valid now and is no CA; else null.</summary>
    public string? Verify(X509Certificate2 cert, out string why)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Certificate);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = _time.GetUtcNow().UtcDateTime;
        if (!chain.Build(cert))
        {
            why = "certificate does not chain to the organisation CA: " + string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()));
            return null;
        }

        if (cert.Extensions.OfType<X509BasicConstraintsExtension>().Any(b => b.CertificateAuthority))
        {
            why = "a CA certificate is no client certificate";
            return null;
        }

        why = "";
        return cert.GetNameInfo(X509NameType.SimpleName, false);
    }

    public void Dispose()
    {
        _key.Dispose();
        Certificate.Dispose();
    }
}
