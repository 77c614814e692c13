using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Room.Crypto.Mls;

/// <summary>A member's long-term signing identity: credential plus signature key pair.</summary>
public sealed class MlsIdentity(MlsCipherSuite suite, Credential credential, byte[] signaturePrivateKey, byte[] signaturePublicKey)
{
    public MlsCipherSuite Suite { get; } = suite;
    public Credential Credential { get; } = credential;
    internal byte[] SignaturePrivateKey { get; } = signaturePrivateKey;
    public byte[] SignaturePublicKey { get; } = signaturePublicKey;

    /// <summary>A basic credential with a fresh signature key (tests, development).</summary>
    public static MlsIdentity CreateBasic(MlsCipherSuite suite, string identity)
    {
        var (sk, pk) = suite.GenerateSignatureKeyPair();
        return new MlsIdentity(suite, Credential.Basic(System.Text.Encoding.UTF8.GetBytes(identity)), sk, pk);
    }

    public Capabilities DefaultCapabilities() => new()
    {
        Versions = [1],
        CipherSuites = [Suite.Id],
        Extensions = [],
        Proposals = [],
        Credentials = [(ushort)CredentialType.Basic, (ushort)CredentialType.X509],
    };

    /// <summary>Creates a KeyPackage with fresh init and leaf encryption keys.</summary>
    public KeyPackageBundle CreateKeyPackage(TimeSpan? lifetime = null)
    {
        var (initSk, initPk) = Suite.Hpke.Kem.GenerateKeyPair();
        var (encSk, encPk) = Suite.Hpke.Kem.GenerateKeyPair();
        ulong now = (ulong)DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var leaf = new LeafNode
        {
            EncryptionKey = encPk,
            SignatureKey = SignaturePublicKey,
            Credential = Credential,
            Capabilities = DefaultCapabilities(),
            Source = LeafNodeSource.KeyPackage,
            NotBefore = now - 3600,
            NotAfter = now + (ulong)(lifetime ?? TimeSpan.FromDays(90)).TotalSeconds,
        };
        leaf.Sign(Suite, SignaturePrivateKey, null, 0);
        var kp = new KeyPackage { CipherSuite = Suite.Id, InitKey = initPk, LeafNode = leaf };
        kp.Signature = Suite.SignWithLabel(SignaturePrivateKey, "KeyPackageTBS", kp.ToBeSigned());
        return new KeyPackageBundle(kp, initSk, encSk);
    }
}

/// <summary>A KeyPackage and the private keys that go with it.</summary>
public sealed record KeyPackageBundle(KeyPackage KeyPackage, byte[] InitPrivateKey, byte[] EncryptionPrivateKey)
{
    public void Zero()
    {
        CryptographicOperations.ZeroMemory(InitPrivateKey);
    }
}

/// <summary>Decides whether a member's credential is acceptable for its signature key. Refusal throws MlsException.</summary>
public interface ICredentialValidator
{
    /// <summary>Returns the validated identity (e.g. device id) or throws <see cref="MlsException"/>.</summary>
    string Validate(Credential credential, ReadOnlySpan<byte> signaturePublicKey);

    /// <summary>
    /// The identity a credential presents, without validating it: what a member's replacement credential (Update
    /// proposal, commit path, external resync) is compared with (RFC 9420 section 5.3.1: the new credential must be a
    /// valid successor of the old one; Room's rule: same identity). Basic: the UTF-8 identity; X.509: the leaf's
    /// subject common name.
    /// </summary>
    string IdentityOf(Credential credential) => CredentialIdentity.Of(credential);
}

/// <summary>The identity a credential presents (see <see cref="ICredentialValidator.IdentityOf"/>).</summary>
public static class CredentialIdentity
{
    public static string Of(Credential credential)
    {
        if (credential.Type == CredentialType.Basic)
        {
            return System.Text.Encoding.UTF8.GetString(credential.Identity);
        }

        if (credential.Certificates.Count == 0)
        {
            throw new MlsException("empty certificate chain");
        }

        try
        {
            using var leaf = X509CertificateLoader.LoadCertificate(credential.Certificates[0]);
            return leaf.GetNameInfo(X509NameType.SimpleName, false);
        }
        catch (CryptographicException e)
        {
            throw new MlsException("malformed certificate", e);
        }
    }

    /// <summary>
    /// Validates <paramref name="next"/> and refuses it unless it presents the same identity as <paramref name="current"/>.
    /// </summary>
    public static void CheckSuccessor(ICredentialValidator validator, LeafNode current, LeafNode next)
    {
        string id = validator.Validate(next.Credential, next.SignatureKey);
        if (!string.Equals(id, validator.IdentityOf(current.Credential), StringComparison.Ordinal))
        {
            throw new MlsException($"a member's new credential presents another identity ({id})");
        }
    }
}

/// <summary>Accepts basic credentials (identity as UTF-8); refuses X.509. For tests and development.</summary>
public sealed class BasicCredentialValidator : ICredentialValidator
{
    public static readonly BasicCredentialValidator Instance = new();

    public string Validate(Credential credential, ReadOnlySpan<byte> signaturePublicKey) =>
        credential.Type == CredentialType.Basic && credential.Identity.Length > 0
            ? System.Text.Encoding.UTF8.GetString(credential.Identity)
            : throw new MlsException("only basic credentials are accepted");
}

/// <summary>
/// X.509 credentials issued by the organisation's CA: the chain must build to one of the trusted roots, the leaf must be
/// valid now, and its subject public key must be the member's MLS signature key. The identity is the certificate's
/// subject common name (the device identity). Basic credentials are refused unless allowed.
/// </summary>
public sealed class X509CredentialValidator(X509Certificate2Collection trustedRoots, bool allowBasic = false, Func<DateTime>? clock = null) : ICredentialValidator
{
    public string Validate(Credential credential, ReadOnlySpan<byte> signaturePublicKey)
    {
        if (credential.Type == CredentialType.Basic)
        {
            return allowBasic ? BasicCredentialValidator.Instance.Validate(credential, signaturePublicKey) : throw new MlsException("basic credentials are not accepted");
        }

        if (credential.Certificates.Count == 0)
        {
            throw new MlsException("empty certificate chain");
        }

        X509Certificate2 leaf;
        var intermediates = new X509Certificate2Collection();
        try
        {
            leaf = X509CertificateLoader.LoadCertificate(credential.Certificates[0]);
            foreach (var c in credential.Certificates.Skip(1))
            {
                intermediates.Add(X509CertificateLoader.LoadCertificate(c));
            }
        }
        catch (CryptographicException e)
        {
            throw new MlsException("malformed certificate", e);
        }

        using (leaf)
        using (var chain = new X509Chain())
        {
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(trustedRoots);
            chain.ChainPolicy.ExtraStore.AddRange(intermediates);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            chain.ChainPolicy.VerificationTime = clock?.Invoke() ?? DateTime.Now;
            if (!chain.Build(leaf))
            {
                string why = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()));
                throw new MlsException("certificate chain does not validate: " + why);
            }

            // A device certificate signs MLS messages; a CA certificate (or one not for signing) is no member credential.
            if (leaf.Extensions.OfType<X509BasicConstraintsExtension>().Any(b => b.CertificateAuthority))
            {
                throw new MlsException("a CA certificate is not a device credential");
            }

            if (leaf.Extensions.OfType<X509KeyUsageExtension>().FirstOrDefault() is { } usage
                && (usage.KeyUsages & X509KeyUsageFlags.DigitalSignature) == 0)
            {
                throw new MlsException("the certificate's key usage does not allow signing");
            }

            byte[] certKey = leaf.PublicKey.EncodedKeyValue.RawData;
            if (!CryptographicOperations.FixedTimeEquals(certKey, signaturePublicKey))
            {
                throw new MlsException("certificate key is not the member's signature key");
            }

            string cn = leaf.GetNameInfo(X509NameType.SimpleName, false);
            return string.IsNullOrEmpty(cn) ? throw new MlsException("certificate has no subject name") : cn;
        }
    }
}
