using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Room.Crypto.Mls;

namespace Room.Crypto.Tests;

public sealed class X509CredentialTests
{
    private static readonly MlsCipherSuite Cs = MlsCipherSuite.Get(2);

    private static X509Certificate2 Ca(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        return req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-365), DateTimeOffset.UtcNow.AddYears(1));
    }

    private static MlsIdentity Device(X509Certificate2 ca, string device, DateTimeOffset? notAfter = null, byte[]? certKeyOverride = null)
    {
        var (sk, pk) = Cs.GenerateSignatureKeyPair();
        return new MlsIdentity(Cs, Credential.X509([Issue(ca, device, certKeyOverride ?? pk, notAfter).RawData]), sk, pk);
    }

    /// <summary>A certificate for <paramref name="publicKey"/> (uncompressed P-256 point) issued by <paramref name="issuer"/>.</summary>
    private static X509Certificate2 Issue(X509Certificate2 issuer, string subject, byte[] publicKey, DateTimeOffset? notAfter = null,
        DateTimeOffset? notBefore = null, bool ca = false, X509KeyUsageFlags? usage = null)
    {
        using var certKey = ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = new ECPoint { X = publicKey[1..33], Y = publicKey[33..] } });
        var req = new CertificateRequest($"CN={subject}, O=Room", certKey, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(ca, ca, 0, true));
        if (usage is { } u)
        {
            req.CertificateExtensions.Add(new X509KeyUsageExtension(u, true));
        }

        DateTimeOffset end = notAfter ?? DateTimeOffset.UtcNow.AddDays(30);
        return req.Create(issuer, notBefore ?? end.AddDays(-60), end, RandomNumberGenerator.GetBytes(8));
    }

    /// <summary>An intermediate CA under <paramref name="root"/> with its private key.</summary>
    private static X509Certificate2 Intermediate(X509Certificate2 root, string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var cert = req.Create(root, DateTimeOffset.UtcNow.AddDays(-30), DateTimeOffset.UtcNow.AddDays(300), RandomNumberGenerator.GetBytes(8));
        return cert.CopyWithPrivateKey(key);
    }

    private static MlsGroup OrgGroup(X509Certificate2 ca) =>
        MlsGroup.Create(Device(ca, "device-1"), "org-room"u8.ToArray(), new MlsGroupOptions { CredentialValidator = new X509CredentialValidator([ca]) });

    [Fact]
    public void A_device_certificate_from_the_org_CA_validates_to_its_device_identity()
    {
        using var ca = Ca("Room Org CA");
        var dev = Device(ca, "device-42");
        var v = new X509CredentialValidator([ca]);
        Assert.Equal("device-42", v.Validate(dev.Credential, dev.SignaturePublicKey));
        using var g = OrgGroup(ca);
        var kp = dev.CreateKeyPackage();
        var c = g.Commit(add: [kp.KeyPackage]);
        using var joined = MlsGroup.Join(dev, kp, c.Welcome!.Welcome!, new MlsGroupOptions { CredentialValidator = v });
        Assert.Equal(g.EpochAuthenticator, joined.EpochAuthenticator);
    }

    [Fact]
    public void Certificates_from_another_CA_are_refused()
    {
        using var ca = Ca("Room Org CA");
        using var rogue = Ca("Rogue CA");
        using var g = OrgGroup(ca);
        var kp = Device(rogue, "device-666").CreateKeyPackage();
        Assert.Throws<MlsException>(() => g.Commit(add: [kp.KeyPackage]));
    }

    [Fact]
    public void Certificate_for_another_key_is_refused()
    {
        using var ca = Ca("Room Org CA");
        var (_, otherPk) = Cs.GenerateSignatureKeyPair();
        var dev = Device(ca, "device-7", certKeyOverride: otherPk);
        Assert.Throws<MlsException>(() => new X509CredentialValidator([ca]).Validate(dev.Credential, dev.SignaturePublicKey));
    }

    [Fact]
    public void Expired_certificates_and_basic_credentials_are_refused()
    {
        using var ca = Ca("Room Org CA");
        var expired = Device(ca, "device-old", notAfter: DateTimeOffset.UtcNow.AddDays(-2));
        var v = new X509CredentialValidator([ca]);
        Assert.Throws<MlsException>(() => v.Validate(expired.Credential, expired.SignaturePublicKey));
        var basic = MlsIdentity.CreateBasic(Cs, "someone");
        Assert.Throws<MlsException>(() => v.Validate(basic.Credential, basic.SignaturePublicKey));
        Assert.Throws<MlsException>(() => v.Validate(Credential.X509([[1, 2, 3]]), basic.SignaturePublicKey));
    }

    [Fact]
    public void A_device_certificate_from_an_intermediate_CA_validates_only_with_the_intermediate_in_the_chain()
    {
        using var root = Ca("Room Org CA");
        using var sub = Intermediate(root, "Room Devices CA");
        var (sk, pk) = Cs.GenerateSignatureKeyPair();
        using var leaf = Issue(sub, "device-9", pk, usage: X509KeyUsageFlags.DigitalSignature);
        var v = new X509CredentialValidator([root]);
        Assert.Equal("device-9", v.Validate(Credential.X509([leaf.RawData, sub.RawData]), pk));
        Assert.Throws<MlsException>(() => v.Validate(Credential.X509([leaf.RawData]), pk));
        using var other = Ca("Other Org CA");
        Assert.Throws<MlsException>(() => new X509CredentialValidator([other]).Validate(Credential.X509([leaf.RawData, sub.RawData]), pk));
        _ = sk;
    }

    [Fact]
    public void Not_yet_valid_CA_and_non_signing_certificates_are_refused()
    {
        using var ca = Ca("Room Org CA");
        var v = new X509CredentialValidator([ca]);
        var (_, pk) = Cs.GenerateSignatureKeyPair();
        using var future = Issue(ca, "device-f", pk, notAfter: DateTimeOffset.UtcNow.AddDays(90), notBefore: DateTimeOffset.UtcNow.AddDays(2));
        Assert.Throws<MlsException>(() => v.Validate(Credential.X509([future.RawData]), pk));
        using var caCert = Issue(ca, "device-ca", pk, ca: true, usage: X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.DigitalSignature);
        Assert.Contains("CA certificate", Assert.Throws<MlsException>(() => v.Validate(Credential.X509([caCert.RawData]), pk)).Message, StringComparison.Ordinal);
        using var encipherOnly = Issue(ca, "device-e", pk, usage: X509KeyUsageFlags.KeyAgreement);
        Assert.Contains("key usage", Assert.Throws<MlsException>(() => v.Validate(Credential.X509([encipherOnly.RawData]), pk)).Message, StringComparison.Ordinal);
        using var signing = Issue(ca, "device-s", pk, usage: X509KeyUsageFlags.DigitalSignature);
        Assert.Equal("device-s", v.Validate(Credential.X509([signing.RawData]), pk));
    }

    [Fact]
    public void A_renewed_certificate_for_the_same_device_is_carried_by_a_commit_and_one_for_another_device_is_refused()
    {
        using var ca = Ca("Room Org CA");
        using var rogue = Ca("Rogue CA");
        var v = new X509CredentialValidator([ca]);
        using var alice = OrgGroup(ca);
        var (bobSk, bobPk) = Cs.GenerateSignatureKeyPair();
        using var bobCert = Issue(ca, "device-2", bobPk, notAfter: DateTimeOffset.UtcNow.AddDays(3));
        var bobId = new MlsIdentity(Cs, Credential.X509([bobCert.RawData]), bobSk, bobPk);
        var kp = bobId.CreateKeyPackage();
        var add = alice.Commit(add: [kp.KeyPackage]);
        using var bob = MlsGroup.Join(bobId, kp, add.Welcome!.Welcome!, new MlsGroupOptions { CredentialValidator = v });

        // Renewal: a new certificate for the same device and key, from the org CA.
        using var renewed = Issue(ca, "device-2", bobPk, notAfter: DateTimeOffset.UtcNow.AddDays(200), notBefore: DateTimeOffset.UtcNow.AddMinutes(-5));
        bob.RenewCredential(Credential.X509([renewed.RawData]));
        alice.Process(MlsMessage.Decode(bob.Commit().Commit.ToBytes()));
        Assert.Equal(alice.EpochAuthenticator, bob.EpochAuthenticator);
        Assert.Equal(renewed.RawData, alice.Tree.Leaf(bob.MyLeaf)!.Credential.Certificates[0]);

        // A certificate naming another device, or from another CA, is refused before it is sent.
        using var other = Issue(ca, "device-3", bobPk);
        Assert.Throws<MlsException>(() => bob.RenewCredential(Credential.X509([other.RawData])));
        using var rogueCert = Issue(rogue, "device-2", bobPk);
        Assert.Throws<MlsException>(() => bob.RenewCredential(Credential.X509([rogueCert.RawData])));
    }
}
