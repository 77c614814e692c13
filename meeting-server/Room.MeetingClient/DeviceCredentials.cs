using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Room.Crypto.Mls;

namespace Room.MeetingClient;

/// <summary>
/// A box's (or a person's client's) key and certificate. The ECDSA P-256 key is made here and stays here (a PKCS#8 file
/// of mode 0600 in the key folder); only certificate requests leave. The same key signs TLS (mutual TLS to the meeting
/// server) and MLS messages (the certificate is the MLS X.509 credential).
/// </summary>
public sealed class DeviceCredentials : IDisposable
{
    public const string KeyFile = "device.key";
    public const string CertificateFile = "device.pem";
    public const string CaFile = "ca.pem";

    public ECDsa Key { get; }

    public X509Certificate2? Certificate { get; private set; }

    public X509Certificate2? OrganisationCa { get; private set; }

    private DeviceCredentials(ECDsa key) => Key = key;

    /// <summary>The key alone, made now (a person's client keeps it in memory).</summary>
    public static DeviceCredentials CreateEphemeral() => new(ECDsa.Create(ECCurve.NamedCurves.nistP256));

    /// <summary>Loads the key folder's key (making it first if there is none) and certificate, if any.</summary>
    public static DeviceCredentials LoadOrCreate(string folder)
    {
        Directory.CreateDirectory(folder);
        string keyPath = Path.Combine(folder, KeyFile);
        var key = ECDsa.Create();
        if (File.Exists(keyPath))
        {
            key.ImportFromPem(File.ReadAllText(keyPath));
        }
        else
        {
            key.Dispose();
            key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            using var f = new FileStream(keyPath, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite });
            using var w = new StreamWriter(f);
            w.Write(key.ExportPkcs8PrivateKeyPem());
        }

        var c = new DeviceCredentials(key);
        string certPath = Path.Combine(folder, CertificateFile), caPath = Path.Combine(folder, CaFile);
        if (File.Exists(certPath) && File.Exists(caPath))
        {
            c.SetCertificate(X509Certificate2.CreateFromPem(File.ReadAllText(certPath)).RawData, X509Certificate2.CreateFromPem(File.ReadAllText(caPath)).RawData);
        }

        return c;
    }

    public void Save(string folder)
    {
        File.WriteAllText(Path.Combine(folder, CertificateFile), Certificate!.ExportCertificatePem());
        File.WriteAllText(Path.Combine(folder, CaFile), OrganisationCa!.ExportCertificatePem());
    }

    /// <summary>A PKCS#10 request for this key (the server sets the subject).</summary>
    public byte[] CreateSigningRequest() =>
        new CertificateRequest("CN=room-enrolment", Key, HashAlgorithmName.SHA256).CreateSigningRequest();

    /// <summary>The CA between the certificate and the organisation CA (a guest's: the guest CA), sent in the MLS credential; usually none.</summary>
    public byte[]? Intermediate { get; private set; }

    public void SetCertificate(byte[] certificate, byte[] ca, byte[]? intermediate = null)
    {
        var cert = X509CertificateLoader.LoadCertificate(certificate);
        using var pub = cert.GetECDsaPublicKey();
        if (pub is null || !pub.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(Key.ExportSubjectPublicKeyInfo()))
        {
            throw new MeetingServerException("certificate-mismatch", "the certificate is not for this key", 0, null);
        }

        Certificate?.Dispose();
        OrganisationCa?.Dispose();
        Certificate = cert;
        OrganisationCa = X509CertificateLoader.LoadCertificate(ca);
        Intermediate = intermediate;
    }

    /// <summary>The identity (certificate subject CN), e.g. "device:boardroom".</summary>
    public string Identity => Certificate?.GetNameInfo(X509NameType.SimpleName, false) ?? throw new InvalidOperationException("not enrolled");

    /// <summary>The certificate with the private key, for mutual TLS.</summary>
    public X509Certificate2 TlsCertificate()
    {
        using var withKey = (Certificate ?? throw new InvalidOperationException("not enrolled")).CopyWithPrivateKey(Key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>The MLS identity: X.509 credential (this certificate) and this key as signature key.</summary>
    public MlsIdentity MlsIdentity(MlsCipherSuite suite)
    {
        var p = Key.ExportParameters(true);
        return new MlsIdentity(suite, Credential.X509(Intermediate is null ? [Certificate!.RawData] : [Certificate!.RawData, Intermediate]), p.D!, [0x04, .. p.Q.X!, .. p.Q.Y!]);
    }

    public void Dispose()
    {
        Key.Dispose();
        Certificate?.Dispose();
        OrganisationCa?.Dispose();
    }
}
