using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Room.Crypto.Certificates;

/// <summary>
/// The check of a server's TLS certificate against one organisation CA (and only it; the system's trust store plays no
/// part), with the reason of a refusal in words: used by roomd and by the meeting server for Janus's <c>wss://</c>.
/// </summary>
public static class ServerCertificateTrust
{
    /// <summary>Null when <paramref name="certificate"/> chains to <paramref name="organisationCa"/> and is for the host; else why not.</summary>
    public static string? Check(X509Certificate2? certificate, X509Certificate2 organisationCa, SslPolicyErrors errors)
    {
        ArgumentNullException.ThrowIfNull(organisationCa);
        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
        {
            return "it presented no certificate";
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(organisationCa);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (!chain.Build(certificate))
        {
            string status = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0));
            return $"its certificate ({certificate.Subject}, issued by {certificate.Issuer}) is not from the organisation CA ({organisationCa.Subject})" +
                (status.Length > 0 ? $": {status}" : "");
        }

        if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            return $"its certificate ({certificate.Subject}) is not issued for the address connected to";
        }

        return null;
    }

    /// <summary>A validation callback for TLS clients; <paramref name="refused"/> gets the reason of each refusal.</summary>
    public static RemoteCertificateValidationCallback Callback(X509Certificate2 organisationCa, Action<string> refused) => (_, certificate, _, errors) =>
    {
        string? why = Check(certificate as X509Certificate2, organisationCa, errors);
        if (why is not null)
        {
            refused(why);
        }

        return why is null;
    };
}
