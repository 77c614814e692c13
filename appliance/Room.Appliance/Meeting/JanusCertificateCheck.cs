using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Room.Crypto.Certificates;

namespace Room.Appliance.Meeting;

/// <summary>
/// Checks the TLS certificate of a meeting's Janus (<c>wss://</c>): it must be for the host the room connects to and be
/// issued by the organisation CA the room was enrolled with. <see cref="Refusal"/> says why a certificate was refused,
/// for the error the room shows.
/// </summary>
internal sealed class JanusCertificateCheck(X509Certificate2 organisationCa)
{
    /// <summary>Why the last certificate was refused (null: none refused).</summary>
    public string? Refusal { get; private set; }

    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        Refusal = ServerCertificateTrust.Check(certificate as X509Certificate2, organisationCa, errors);
        return Refusal is null;
    }
}
