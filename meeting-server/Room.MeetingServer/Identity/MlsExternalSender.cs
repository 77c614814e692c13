using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;
using Room.Crypto.Mls;

namespace Room.MeetingServer.Identity;

/// <summary>
/// The meeting server's own MLS signing identity as the groups' external sender (RFC 9420 section 12.1.8.1): an ECDSA
/// P-256 key kept in the data directory (<c>mls-sender.key</c>, mode 0600) and a certificate for it from the organisation
/// CA with the identity <see cref="Identity"/> (<c>mls-sender.pem</c>, renewed when less than 30 days remain). Every
/// meeting's group names it in its group context; with it the server signs Remove proposals that members commit.
/// </summary>
public sealed class MlsExternalSender : IDisposable
{
    public const string Identity = "server:meetings";

    private readonly ECDsa _key;

    public ExternalSender Sender { get; }

    /// <summary>The encoded <see cref="ExternalSender"/> (what clients put in the group's external_senders).</summary>
    public byte[] Encoded { get; }

    public MlsExternalSender(IOptions<MeetingServerOptions> options, OrganisationCa ca, TimeProvider time)
    {
        string dir = options.Value.DataDirectory;
        Directory.CreateDirectory(dir);
        string keyPath = Path.Combine(dir, "mls-sender.key"), certPath = Path.Combine(dir, "mls-sender.pem");
        _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        if (File.Exists(keyPath))
        {
            _key.ImportFromPem(File.ReadAllText(keyPath));
        }
        else
        {
            using var f = new FileStream(keyPath, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite });
            using var w = new StreamWriter(f);
            w.Write(_key.ExportPkcs8PrivateKeyPem());
        }

        X509Certificate2? cert = null;
        if (File.Exists(certPath))
        {
            cert = X509Certificate2.CreateFromPem(File.ReadAllText(certPath));
            using var pub = cert.GetECDsaPublicKey();
            if (pub is null || !pub.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(_key.ExportSubjectPublicKeyInfo())
                || cert.NotAfter.ToUniversalTime() < time.GetUtcNow().UtcDateTime.AddDays(30) || ca.Verify(cert, out _) != Identity)
            {
                cert.Dispose();
                cert = null;
            }
        }

        if (cert is null)
        {
            cert = ca.Issue(new CertificateRequest("CN=" + Identity, _key, HashAlgorithmName.SHA256).CreateSigningRequest(), Identity, TimeSpan.FromDays(365));
            File.WriteAllText(certPath, cert.ExportCertificatePem());
        }

        using (cert)
        {
            var p = _key.ExportParameters(false);
            Sender = new ExternalSender { SignatureKey = [0x04, .. p.Q.X!, .. p.Q.Y!], Credential = Credential.X509([cert.RawData]) };
        }

        Encoded = Sender.ToBytes();
    }

    /// <summary>Signs <paramref name="proposal"/> for <paramref name="epoch"/> of the group as external sender 0.</summary>
    public MlsMessage Propose(MlsCipherSuite suite, byte[] groupId, ulong epoch, Proposal proposal)
    {
        byte[] d = _key.ExportParameters(true).D!;
        try
        {
            return Framing.SignExternalProposal(suite, groupId, epoch, 0, proposal, d);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(d);
        }
    }

    public void Dispose() => _key.Dispose();
}
