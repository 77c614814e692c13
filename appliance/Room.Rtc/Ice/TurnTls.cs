using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Room.Rtc.Ice;

/// <summary>
/// TLS to a TURN server (RFC 8656 3.1, "turns:"): the server's certificate must chain to the configured roots (or the
/// system store when none are given) and name the configured server (SNI and the name check both use it).
/// </summary>
internal static class TurnTls
{
    public static SslClientAuthenticationOptions ClientOptions(TurnRelayServer server)
    {
        string name = server.ServerName ?? server.EndPoint.Address.ToString();
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = name,
            EnabledSslProtocols = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        };
        if (server.TrustedRoots is { Count: > 0 } roots)
        {
            options.CertificateChainPolicy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                RevocationMode = X509RevocationMode.NoCheck,
            };
            options.CertificateChainPolicy.CustomTrustStore.AddRange(roots);
        }

        // Nothing but a clean result passes: the chain to the chosen roots and the name (no callback widening it).
        options.RemoteCertificateValidationCallback = (_, _, _, errors) => errors == SslPolicyErrors.None;
        return options;
    }
}
