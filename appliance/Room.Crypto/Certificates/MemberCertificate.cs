using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Room.Crypto.Mls;

namespace Room.Crypto.Certificates;

/// <summary>What kind of member a credential names (the prefix of its identity).</summary>
public enum MemberKind
{
    /// <summary>An identity of no known kind (a basic credential in tests, or another prefix).</summary>
    Other,

    /// <summary><c>device:NAME</c>: an enrolled room.</summary>
    Room,

    /// <summary><c>person:NAME</c>: a signed-in person.</summary>
    Person,

    /// <summary><c>guest:ID</c>: a guest admitted from a meeting's lobby, certified by the guest CA.</summary>
    Guest,
}

/// <summary>
/// A member as its credential presents it: <see cref="Identity"/> (the subject CN), <see cref="Kind"/>, the name to
/// show (<c>device:boardroom</c> shows as <c>boardroom</c>; a guest by the name in its certificate's pseudonym), and for
/// a guest who invited it (<see cref="InvitedBy"/>, an identity, shown as <see cref="InvitedByName"/>).
/// </summary>
public sealed record MemberInfo(string Identity, MemberKind Kind, string Name, string? InvitedBy = null)
{
    /// <summary>The inviting host's name to show (<c>person:alice</c> as <c>alice</c>); null when none.</summary>
    public string? InvitedByName => InvitedBy is null ? null : MemberCertificate.NameOf(InvitedBy);
}

/// <summary>
/// Reads who a meeting member is from its X.509 credential, the one reader for roomd and the meeting server: subject CN
/// <c>device:NAME</c>, <c>person:NAME</c> or <c>guest:ID</c>; a guest certificate also carries the guest's name as
/// pseudonym (2.5.4.65) and <c>invited by IDENTITY</c> as description (2.5.4.13). It trusts nothing by itself: read only
/// credentials a validator accepted (<see cref="OrganisationCredentialValidator"/> checks that the kind matches the issuer).
/// </summary>
public static class MemberCertificate
{
    public const string PseudonymOid = "2.5.4.65";
    public const string DescriptionOid = "2.5.4.13";
    private const string InvitedByPrefix = "invited by ";

    /// <summary>The member a certificate names.</summary>
    public static MemberInfo Read(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        string identity = certificate.GetNameInfo(X509NameType.SimpleName, false);
        var kind = KindOf(identity);
        if (kind != MemberKind.Guest)
        {
            return new MemberInfo(identity, kind, NameOf(identity));
        }

        var (name, by) = GuestAttributes(certificate);
        // A guest certificate without its name shows by its identity rather than by a guess.
        return new MemberInfo(identity, kind, name ?? identity, by);
    }

    /// <summary>The member an MLS credential names (X.509: its leaf; basic: the identity, no attributes).</summary>
    public static MemberInfo Read(Credential credential)
    {
        ArgumentNullException.ThrowIfNull(credential);
        if (credential.Type == CredentialType.Basic || credential.Certificates.Count == 0)
        {
            string identity = CredentialIdentity.Of(credential);
            var kind = KindOf(identity);
            return new MemberInfo(identity, kind, kind == MemberKind.Guest ? identity : NameOf(identity));
        }

        try
        {
            using var leaf = X509CertificateLoader.LoadCertificate(credential.Certificates[0]);
            return Read(leaf);
        }
        catch (CryptographicException e)
        {
            throw new MlsException("malformed certificate", e);
        }
    }

    /// <summary>A guest certificate's name (pseudonym) and inviter (description "invited by IDENTITY"); null where absent or malformed.</summary>
    public static (string? Name, string? InvitedBy) GuestAttributes(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        string? name = null, by = null;
        foreach (var rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            if (rdn.HasMultipleElements)
            {
                continue;
            }

            switch (rdn.GetSingleElementType().Value)
            {
                case PseudonymOid: name = Clean(rdn.GetSingleElementValue()); break;
                case DescriptionOid:
                    string? d = rdn.GetSingleElementValue();
                    by = d is not null && d.StartsWith(InvitedByPrefix, StringComparison.Ordinal) ? Clean(d[InvitedByPrefix.Length..]) : null;
                    break;
            }
        }

        return (name, by);
    }

    public static MemberKind KindOf(string identity) => identity switch
    {
        _ when identity.StartsWith("device:", StringComparison.Ordinal) => MemberKind.Room,
        _ when identity.StartsWith("person:", StringComparison.Ordinal) => MemberKind.Person,
        _ when identity.StartsWith("guest:", StringComparison.Ordinal) => MemberKind.Guest,
        _ => MemberKind.Other,
    };

    /// <summary>"device:boardroom" as "boardroom", "person:alice" as "alice"; anything else as it is.</summary>
    public static string NameOf(string identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        return KindOf(identity) is MemberKind.Room or MemberKind.Person ? identity[(identity.IndexOf(':', StringComparison.Ordinal) + 1)..] : identity;
    }

    /// <summary>1-64 characters without control characters (as the server issues them), else null: nothing odd reaches a screen.</summary>
    private static string? Clean(string? s) =>
        s is { Length: > 0 and <= 64 } && !s.Any(char.IsControl) && s.Trim().Length > 0 ? s : null;
}

/// <summary>
/// A member's credential as a meeting's members accept it: an X.509 chain to the organisation CA (Room.Crypto's
/// <see cref="X509CredentialValidator"/>), and then by kind: a <c>guest:</c> identity only as [guest certificate, CA
/// certificate] issued by a subordinate CA of the organisation CA (its guest CA) and never by the organisation CA
/// itself; every other identity issued by the organisation CA itself, never by a subordinate. With
/// <paramref name="guestCa"/> given, the subordinate must be exactly that one; with <paramref name="requireGuestCa"/>
/// (the meeting server, which knows its guest CA) and none given, no guest is accepted.
/// </summary>
public sealed class OrganisationCredentialValidator(X509Certificate2 organisationCa, X509Certificate2? guestCa = null, Func<DateTime>? clock = null,
    bool requireGuestCa = false) : ICredentialValidator
{
    private readonly X509CredentialValidator _chain = new(new X509Certificate2Collection(organisationCa), allowBasic: false, clock);

    public string Validate(Credential credential, ReadOnlySpan<byte> signaturePublicKey)
    {
        ArgumentNullException.ThrowIfNull(credential);
        string identity = _chain.Validate(credential, signaturePublicKey);
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

        bool byOrganisation = issuer.RawData.AsSpan().SequenceEqual(organisationCa.SubjectName.RawData);
        if (MemberCertificate.KindOf(identity) == MemberKind.Guest)
        {
            if (byOrganisation || credential.Certificates.Count != 2 || (requireGuestCa && guestCa is null)
                || (guestCa is not null && !credential.Certificates[1].AsSpan().SequenceEqual(guestCa.RawData)))
            {
                throw new MlsException($"{identity} is not certified by the organisation's guest CA");
            }
        }
        else if (!byOrganisation)
        {
            throw new MlsException($"{identity} is not certified by the organisation CA itself");
        }

        return identity;
    }
}
