using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Room.Crypto.Certificates;
using Room.Crypto.Mls;

namespace Room.Crypto.Tests;

/// <summary>
/// The one reader of members' certificates (roomd's roster, the meeting server's guest checks): kind, name and a
/// guest's inviting host from the subject, odd attributes refused rather than shown; and the kind-by-issuer check.
/// </summary>
public sealed class MemberCertificateTests
{
    private static readonly MlsCipherSuite Cs = MlsCipherSuite.Get(2);

    private static X509Certificate2 Ca(string name, int pathLength = 1)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, pathLength, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        return req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
    }

    private static X509Certificate2 SubCa(X509Certificate2 root, string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var cert = req.Create(root, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(300), RandomNumberGenerator.GetBytes(8));
        return cert.CopyWithPrivateKey(key);
    }

    /// <summary>A member certificate for an MLS signature key, with optional pseudonym and description attributes.</summary>
    private static (X509Certificate2 Cert, byte[] Sk, byte[] Pk) Member(X509Certificate2 issuer, string cn, string? pseudonym = null, string? description = null)
    {
        var (sk, pk) = Cs.GenerateSignatureKeyPair();
        using var certKey = ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = new ECPoint { X = pk[1..33], Y = pk[33..] } });
        var name = new X500DistinguishedNameBuilder();
        name.AddCommonName(cn);
        if (pseudonym is not null) name.Add(MemberCertificate.PseudonymOid, pseudonym, UniversalTagNumber.UTF8String);
        if (description is not null) name.Add(MemberCertificate.DescriptionOid, description, UniversalTagNumber.UTF8String);
        var req = new CertificateRequest(name.Build(), certKey, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        return (req.Create(issuer, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(2), RandomNumberGenerator.GetBytes(8)), sk, pk);
    }

    [Fact]
    public void Rooms_people_and_guests_read_with_their_kind_name_and_inviting_host()
    {
        using var org = Ca("Org CA");
        using var guests = SubCa(org, "Org Guest CA");
        using var room = Member(org, "device:ratssaal").Cert;
        using var person = Member(org, "person:alice").Cert;
        using var guest = Member(guests, "guest:abc123", "Jörg Groß", "invited by person:alice").Cert;

        Assert.Equal(new MemberInfo("device:ratssaal", MemberKind.Room, "ratssaal"), MemberCertificate.Read(room));
        Assert.Equal(new MemberInfo("person:alice", MemberKind.Person, "alice"), MemberCertificate.Read(person));
        var g = MemberCertificate.Read(guest);
        Assert.Equal(new MemberInfo("guest:abc123", MemberKind.Guest, "Jörg Groß", "person:alice"), g);
        Assert.Equal("alice", g.InvitedByName);
        Assert.Equal(g, MemberCertificate.Read(Credential.X509([guest.RawData, guests.RawData])));
        Assert.Equal(new MemberInfo("other", MemberKind.Other, "other"), MemberCertificate.Read(Credential.Basic("other"u8.ToArray())));
    }

    [Theory]
    [InlineData(null, "invited by person:alice", "guest:g1", "person:alice")]          // no name: shown by identity, not a guess
    [InlineData("Erika", "sent by person:alice", "Erika", null)]                        // not "invited by ...": no host
    [InlineData("Eri\u0007ka", "invited by person:alice", "guest:g1", "person:alice")]  // control character in the name
    [InlineData("   ", "invited by person:alice", "guest:g1", "person:alice")]          // blank name
    [InlineData("Erika", "invited by person:al\nice", "Erika", null)]                   // control character in the host
    [InlineData("Erika", "invited by ", "Erika", null)]                                 // empty host
    public void Odd_guest_attributes_are_not_shown(string? pseudonym, string? description, string shownName, string? host)
    {
        using var org = Ca("Org CA");
        using var guests = SubCa(org, "Org Guest CA");
        using var guest = Member(guests, "guest:g1", pseudonym, description).Cert;
        var g = MemberCertificate.Read(guest);
        Assert.Equal((MemberKind.Guest, shownName, host), (g.Kind, g.Name, g.InvitedBy));
    }

    [Fact]
    public void A_name_longer_than_the_server_issues_is_not_shown()
    {
        using var org = Ca("Org CA");
        using var guests = SubCa(org, "Org Guest CA");
        using var guest = Member(guests, "guest:g1", new string('x', 65), "invited by person:alice").Cert;
        Assert.Equal("guest:g1", MemberCertificate.Read(guest).Name);
    }

    [Fact]
    public void A_malformed_certificate_in_a_credential_is_an_MLS_error()
    {
        Assert.Throws<MlsException>(() => MemberCertificate.Read(Credential.X509([[0x30, 0x03, 0x02, 0x01]])));
    }

    [Fact]
    public void The_organisation_validator_accepts_each_kind_only_from_its_issuer()
    {
        using var org = Ca("Org CA");
        using var guests = SubCa(org, "Org Guest CA");
        using var otherSub = SubCa(org, "Another subordinate");
        var validator = new OrganisationCredentialValidator(org);
        var pinned = new OrganisationCredentialValidator(org, guests);

        var (room, _, roomPk) = Member(org, "device:ratssaal");
        Assert.Equal("device:ratssaal", validator.Validate(Credential.X509([room.RawData]), roomPk));
        var (guest, _, guestPk) = Member(guests, "guest:g1", "Erika", "invited by person:alice");
        Assert.Equal("guest:g1", validator.Validate(Credential.X509([guest.RawData, guests.RawData]), guestPk));
        Assert.Equal("guest:g1", pinned.Validate(Credential.X509([guest.RawData, guests.RawData]), guestPk));

        // A guest identity straight from the organisation CA, a person from the guest CA, a guest from another subordinate
        // when the guest CA is pinned: each refused, saying which rule.
        var (fakeGuest, _, fakeGuestPk) = Member(org, "guest:g2", "Mallory", "invited by person:alice");
        Assert.Contains("guest CA", Assert.Throws<MlsException>(() => validator.Validate(Credential.X509([fakeGuest.RawData]), fakeGuestPk)).Message, StringComparison.Ordinal);
        var (fakePerson, _, fakePersonPk) = Member(guests, "person:boss");
        Assert.Contains("organisation CA itself", Assert.Throws<MlsException>(() => validator.Validate(Credential.X509([fakePerson.RawData, guests.RawData]), fakePersonPk)).Message, StringComparison.Ordinal);
        var (otherGuest, _, otherGuestPk) = Member(otherSub, "guest:g3", "Eve", "invited by person:alice");
        Assert.Throws<MlsException>(() => pinned.Validate(Credential.X509([otherGuest.RawData, otherSub.RawData]), otherGuestPk));
        // A server that must know its guest CA and has none takes no guest at all, while rooms still pass.
        var noGuests = new OrganisationCredentialValidator(org, requireGuestCa: true);
        Assert.Contains("guest CA", Assert.Throws<MlsException>(() => noGuests.Validate(Credential.X509([guest.RawData, guests.RawData]), guestPk)).Message, StringComparison.Ordinal);
        Assert.Equal("device:ratssaal", noGuests.Validate(Credential.X509([room.RawData]), roomPk));

        // Another organisation's certificate: refused by the chain check.
        using var foreign = Ca("Foreign CA");
        var (stranger, _, strangerPk) = Member(foreign, "device:ratssaal");
        Assert.Throws<MlsException>(() => validator.Validate(Credential.X509([stranger.RawData]), strangerPk));
    }
}
