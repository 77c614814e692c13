using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Room.Crypto;
using Room.Crypto.Mls;

namespace Room.MeetingServer.Identity;

/// <summary>
/// A meeting member's MLS credential as the server accepts it: an X.509 chain to the organisation CA (Room.Crypto's
/// validator), and then by kind: a <c>guest:</c> identity only as [guest certificate, this server's guest CA
/// certificate], issued by the guest CA; every other identity issued by the organisation CA itself (never by the guest CA).
/// </summary>
public sealed class MemberCredentialValidator(X509CredentialValidator chain, X509Certificate2 organisationCa, X509Certificate2? guestCa) : ICredentialValidator
{
    public string Validate(Credential credential, ReadOnlySpan<byte> signaturePublicKey)
    {
        string identity = chain.Validate(credential, signaturePublicKey);
        X500DistinguishedName issuer;
        try
        {
            using var leaf = X509CertificateLoader.LoadCertificate(credential.Certificates[0]);
            issuer = leaf.IssuerName;
        }
        catch (CryptographicException e)
        {
            throw new MlsException("malformed certificate", e);
        }

        if (Identities.IsGuest(identity))
        {
            if (guestCa is null || credential.Certificates.Count != 2 || !credential.Certificates[1].AsSpan().SequenceEqual(guestCa.RawData)
                || !issuer.RawData.AsSpan().SequenceEqual(guestCa.SubjectName.RawData))
            {
                throw new MlsException($"{identity} is not certified by the organisation's guest CA");
            }
        }
        else if (!issuer.RawData.AsSpan().SequenceEqual(organisationCa.SubjectName.RawData))
        {
            throw new MlsException($"{identity} is not certified by the organisation CA itself");
        }

        return identity;
    }
}
