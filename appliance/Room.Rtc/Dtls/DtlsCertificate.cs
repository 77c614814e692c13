using System.Security.Cryptography;
using Org.BouncyCastle.Asn1.Sec;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Operators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;

namespace Room.Rtc.Dtls;

/// <summary>
/// The self-signed ECDSA P-256 certificate a peer connection presents in DTLS; peers authenticate it only through the
/// fingerprint carried in the (authenticated) signalling (RFC 8122, RFC 8827).
/// </summary>
public sealed class DtlsCertificate
{
    private DtlsCertificate(byte[] der, AsymmetricKeyParameter privateKey)
    {
        Der = der;
        PrivateKey = privateKey;
        Fingerprint = FormatFingerprint(SHA256.HashData(der));
    }

    /// <summary>The certificate, DER encoded.</summary>
    public byte[] Der { get; }

    internal AsymmetricKeyParameter PrivateKey { get; }

    /// <summary>SHA-256 fingerprint as SDP carries it: upper-case hex pairs joined by colons.</summary>
    public string Fingerprint { get; }

    public static DtlsCertificate CreateSelfSigned(string commonName = "room") => CreateSelfSigned(TimeProvider.System, commonName);

    /// <summary>A fresh key and certificate, valid from a day before <paramref name="time"/>'s now for 30 days.</summary>
    public static DtlsCertificate CreateSelfSigned(TimeProvider time, string commonName = "room")
    {
        ArgumentNullException.ThrowIfNull(time);
        var now = time.GetUtcNow().UtcDateTime;
        var random = new SecureRandom();
        var generator = new ECKeyPairGenerator();
        generator.Init(new ECKeyGenerationParameters(SecObjectIdentifiers.SecP256r1, random));
        var pair = generator.GenerateKeyPair();
        var cert = new X509V3CertificateGenerator();
        var name = new X509Name("CN=" + commonName);
        cert.SetSerialNumber(BigInteger.ProbablePrime(64, random));
        cert.SetIssuerDN(name);
        cert.SetSubjectDN(name);
        cert.SetNotBefore(now.AddDays(-1));
        cert.SetNotAfter(now.AddDays(30));
        cert.SetPublicKey(pair.Public);
        var signed = cert.Generate(new Asn1SignatureFactory("SHA256WITHECDSA", pair.Private, random));
        return new DtlsCertificate(signed.GetEncoded(), pair.Private);
    }

    public static string FormatFingerprint(ReadOnlySpan<byte> hash) => string.Join(':', hash.ToArray().Select(b => b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));

    /// <summary>Compares a certificate with an SDP fingerprint ("sha-256 AB:CD:..." or just the hex), in constant time.</summary>
    public static bool MatchesFingerprint(ReadOnlySpan<byte> der, string fingerprint)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        var text = fingerprint.Trim();
        int space = text.IndexOf(' ', StringComparison.Ordinal);
        if (space > 0)
        {
            if (!text[..space].Equals("sha-256", StringComparison.OrdinalIgnoreCase)) return false;
            text = text[(space + 1)..].Trim();
        }
        byte[] expected;
        try
        {
            expected = Convert.FromHexString(text.Replace(":", "", StringComparison.Ordinal));
        }
        catch (FormatException)
        {
            return false;
        }
        return expected.Length == 32 && CryptographicOperations.FixedTimeEquals(expected, SHA256.HashData(der));
    }
}
