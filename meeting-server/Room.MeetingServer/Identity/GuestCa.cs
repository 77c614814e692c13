using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;

namespace Room.MeetingServer.Identity;

/// <summary>
/// The organisation's guest CA: a CA of its own (key <c>guest-ca.key</c>, mode 0600, in the data directory) whose
/// certificate the organisation CA signs (path length 0 below it). It issues only short-lived guest certificates:
/// subject CN <c>guest:ID</c>, the guest's name as pseudonym (2.5.4.65) and who invited them as description
/// (2.5.4.13). A guest's MLS credential is the chain [guest certificate, guest CA certificate]; members accept a
/// <c>guest:</c> identity only from this CA and a <c>person:</c>/<c>device:</c> identity never from it.
/// </summary>
public sealed class GuestCa : IDisposable
{
    public const string PseudonymOid = Room.Crypto.Certificates.MemberCertificate.PseudonymOid;
    public const string DescriptionOid = Room.Crypto.Certificates.MemberCertificate.DescriptionOid;

    private readonly ECDsa _key;
    private readonly TimeProvider _time;

    /// <summary>Null when the organisation CA may have no subordinate CA (made before guests): guests are then refused.</summary>
    public X509Certificate2? Certificate { get; }

    public GuestCa(OrganisationCa org, IOptions<MeetingServerOptions> options, TimeProvider time)
    {
        _time = time;
        var o = options.Value;
        string certPath = Path.Combine(o.DataDirectory, "guest-ca.pem"), keyPath = Path.Combine(o.DataDirectory, "guest-ca.key");
        _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        if (File.Exists(certPath) && File.Exists(keyPath))
        {
            Certificate = X509Certificate2.CreateFromPem(File.ReadAllText(certPath));
            _key.ImportFromPem(File.ReadAllText(keyPath));
            return;
        }

        if (!org.AllowsSubordinateCa)
        {
            return;
        }

        string subject = org.Certificate.SubjectName.Name.Replace(" Room CA,", " Room Guest CA,", StringComparison.Ordinal);
        var req = new CertificateRequest(subject == org.Certificate.SubjectName.Name ? "CN=Room Guest CA" : subject, _key, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        req.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(req.PublicKey, false));
        Certificate = org.SignSubordinate(req, TimeSpan.FromDays(5 * 365));
        using (var f = new FileStream(keyPath, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }))
        using (var w = new StreamWriter(f))
        {
            w.Write(_key.ExportPkcs8PrivateKeyPem());
        }

        File.WriteAllText(certPath, Certificate.ExportCertificatePem());
    }

    /// <summary>A guest certificate for the key of a PKCS#10 request (checked), valid for <paramref name="lifetime"/>.</summary>
    public X509Certificate2 Issue(byte[] csrDer, string identity, string guestName, string invitedBy, TimeSpan lifetime)
    {
        var ca = Certificate ?? throw new RefusedException(Refusal.Forbidden, "this organisation's CA was made before guests (path length 0): no guest CA");
        var csr = OrganisationCa.LoadRequest(csrDer);
        var name = new X500DistinguishedNameBuilder();
        name.AddCommonName(identity);
        name.Add(PseudonymOid, guestName, System.Formats.Asn1.UniversalTagNumber.UTF8String);
        name.Add(DescriptionOid, "invited by " + invitedBy, System.Formats.Asn1.UniversalTagNumber.UTF8String);
        var req = new CertificateRequest(name.Build(), csr.PublicKey, HashAlgorithmName.SHA256);
        OrganisationCa.AddLeafExtensions(req, ca);
        var now = _time.GetUtcNow();
        var notAfter = now + lifetime < ca.NotAfter ? now + lifetime : ca.NotAfter;
        byte[] serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        using var cert = req.Create(ca.SubjectName, X509SignatureGenerator.CreateForECDsa(_key), now.AddMinutes(-5), notAfter, serial);
        return X509CertificateLoader.LoadCertificate(cert.RawData);
    }

    /// <summary>The guest's name and inviter as a guest certificate states them; null if it is no guest certificate.</summary>
    public static (string Name, string InvitedBy)? GuestOf(X509Certificate2 cert)
    {
        // The one reader of members' certificates (Room.Crypto), as roomd reads them.
        var (name, by) = Room.Crypto.Certificates.MemberCertificate.GuestAttributes(cert);
        return name is null || by is null ? null : (name, by);
    }

    public void Dispose()
    {
        _key.Dispose();
        Certificate?.Dispose();
    }
}
