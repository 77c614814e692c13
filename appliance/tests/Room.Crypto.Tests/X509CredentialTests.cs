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
        byte[] certPub = certKeyOverride ?? pk;
        using var certKey = ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = new ECPoint { X = certPub[1..33], Y = certPub[33..] } });
        var req = new CertificateRequest($"CN={device}, O=Room", certKey, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        DateTimeOffset end = notAfter ?? DateTimeOffset.UtcNow.AddDays(30);
        using var cert = req.Create(ca, end.AddDays(-60), end, RandomNumberGenerator.GetBytes(8));
        return new MlsIdentity(Cs, Credential.X509([cert.RawData]), sk, pk);
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
}
