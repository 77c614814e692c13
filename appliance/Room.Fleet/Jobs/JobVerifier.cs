using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;

namespace Room.Fleet.Jobs;

/// <summary>Why a job was refused (published in the room's status; nothing was touched).</summary>
public enum JobRefusalReason
{
    /// <summary>Not a signed job document, or a job document with missing, extra or out-of-range fields.</summary>
    Malformed,

    /// <summary>The signer's certificate does not chain to the fleet CA, or is not for code signing.</summary>
    UntrustedSigner,

    /// <summary>The signer's certificate (or its chain) is expired or not yet valid.</summary>
    SignerExpired,

    /// <summary>The signer's certificate is on the revocation list.</summary>
    SignerRevoked,

    /// <summary>The signer's certificate names neither a fleet operator nor a fleet admin.</summary>
    SignerNotAllowed,

    /// <summary>The signature does not match the job (a forged or altered job).</summary>
    BadSignature,

    /// <summary>The job is past its expiry, or issued in the future.</summary>
    Expired,

    /// <summary>The job names neither this room nor one of its groups.</summary>
    NotForThisRoom,

    /// <summary>The bundle is for another kind of box.</summary>
    WrongCompatible,

    /// <summary>The bundle's version is not newer than the room's floor (a downgrade, or a reinstall).</summary>
    NotNewer,

    /// <summary>A rollback below the floor signed by an operator rather than an admin.</summary>
    RollbackNeedsAdmin,
}

/// <summary>A refusal: the reason, a sentence for people, and the job's id once its signature was checked (null before).</summary>
public sealed record JobRefusal(JobRefusalReason Reason, string Message, string? JobId = null)
{
    /// <summary>The kebab-case name published on the fleet channel (<c>not-newer</c>).</summary>
    public string Code => string.Concat(Reason.ToString().Select((c, i) => char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));

    public override string ToString() => $"{Code}: {Message}";
}

/// <summary>A job that passed every check, and who signed it.</summary>
public sealed record VerifiedJob(UpdateJob Job, string Signer, SignerRole Role);

/// <summary>This room as the verifier sees it: its identity, groups, compatible, running version and version floor.</summary>
public sealed record RoomIdentity(string Room, IReadOnlyCollection<string> Groups, string Compatible, BundleVersion Running, BundleVersion Floor);

/// <summary>
/// Checks an update job before anything is touched: the envelope, the signer's chain to the fleet CA at the current time
/// (code signing, not revoked, an operator or admin), the signature over the exact job bytes, the job's fields and
/// validity, that it is for this room, its compatible, and the version floor (only an admin-signed rollback may go
/// below it). The first failed check is the answer.
/// </summary>
public sealed class JobVerifier(X509Certificate2Collection trustAnchors, TimeProvider time, IReadOnlySet<string>? revokedSerials = null)
{
    private const string CodeSigning = "1.3.6.1.5.5.7.3.3";
    private const int MaxJobBytes = 64 * 1024;

    public (VerifiedJob? Job, JobRefusal? Refusal) Verify(ReadOnlySpan<byte> document, RoomIdentity room)
    {
        ArgumentNullException.ThrowIfNull(room);
        if (document.Length > MaxJobBytes)
        {
            return Refuse(JobRefusalReason.Malformed, $"the job document is larger than {MaxJobBytes} bytes");
        }

        var envelope = SignedJob.Parse(document);
        if (envelope is null)
        {
            return Refuse(JobRefusalReason.Malformed, "not a signed job document (job, signature, 1-4 certificates)");
        }

        byte[] jobBytes, signature;
        var certificates = new List<X509Certificate2>();
        try
        {
            jobBytes = Convert.FromBase64String(envelope.Job);
            signature = Convert.FromBase64String(envelope.Signature);
            foreach (var c in envelope.Certificates)
            {
                certificates.Add(X509CertificateLoader.LoadCertificate(Convert.FromBase64String(c)));
            }
        }
        catch (Exception e) when (e is FormatException or CryptographicException)
        {
            certificates.ForEach(c => c.Dispose());
            return Refuse(JobRefusalReason.Malformed, "the job, signature or a certificate is not valid base64 DER");
        }

        try
        {
            return Check(jobBytes, signature, certificates, room);
        }
        finally
        {
            certificates.ForEach(c => c.Dispose());
        }
    }

    private (VerifiedJob?, JobRefusal?) Check(byte[] jobBytes, byte[] signature, List<X509Certificate2> certificates, RoomIdentity room)
    {
        var signer = certificates[0];
        var now = time.GetUtcNow();
        using (var chain = new X509Chain())
        {
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(trustAnchors);
            chain.ChainPolicy.ExtraStore.AddRange(certificates.Skip(1).ToArray());
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            chain.ChainPolicy.VerificationTime = now.UtcDateTime;
            chain.ChainPolicy.VerificationTimeIgnored = false;
            chain.ChainPolicy.ApplicationPolicy.Add(new Oid(CodeSigning));
            if (!chain.Build(signer))
            {
                var status = chain.ChainStatus.Aggregate(X509ChainStatusFlags.NoError, (a, s) => a | s.Status);
                if ((status & X509ChainStatusFlags.NotTimeValid) != 0 && (status & ~X509ChainStatusFlags.NotTimeValid) == 0)
                {
                    return Refuse(JobRefusalReason.SignerExpired, $"the signer's certificate is not valid at {now:u} (valid {signer.NotBefore.ToUniversalTime():u} to {signer.NotAfter.ToUniversalTime():u})");
                }

                return Refuse(JobRefusalReason.UntrustedSigner, $"the signer's certificate is not a code-signing certificate of the fleet CA ({status})");
            }
        }

        if (revokedSerials is not null && revokedSerials.Contains(signer.SerialNumber.ToUpperInvariant()))
        {
            return Refuse(JobRefusalReason.SignerRevoked, $"the signer's certificate (serial {signer.SerialNumber}) is revoked");
        }

        var cn = signer.GetNameInfo(X509NameType.SimpleName, false);
        SignerRole role;
        if (cn.StartsWith("fleet-admin:", StringComparison.Ordinal))
        {
            role = SignerRole.Admin;
        }
        else if (cn.StartsWith("fleet-operator:", StringComparison.Ordinal))
        {
            role = SignerRole.Operator;
        }
        else
        {
            return Refuse(JobRefusalReason.SignerNotAllowed, $"'{cn}' is neither a fleet operator nor a fleet admin");
        }

        using (var key = signer.GetECDsaPublicKey())
        {
            if (key is null || key.KeySize != 256 || !key.VerifyData(jobBytes, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation))
            {
                return Refuse(JobRefusalReason.BadSignature, $"the signature of {cn} does not match the job");
            }
        }

        UpdateJob? job;
        try
        {
            job = JsonSerializer.Deserialize<UpdateJob>(jobBytes, UpdateJob.Json);
        }
        catch (JsonException e)
        {
            return Refuse(JobRefusalReason.Malformed, "the job is not a valid job document: " + e.Message);
        }

        if (FieldProblem(job) is { } problem)
        {
            return Refuse(JobRefusalReason.Malformed, problem);
        }

        if (now < job!.IssuedAt - TimeSpan.FromMinutes(5) || now >= job.ExpiresAt)
        {
            return RefuseJob(job, JobRefusalReason.Expired, $"the job is valid from {job.IssuedAt:u} to {job.ExpiresAt:u}, not at {now:u}");
        }

        if (!job.Rooms.Contains(room.Room, StringComparer.Ordinal) && !job.Groups.Any(g => room.Groups.Contains(g)))
        {
            return RefuseJob(job, JobRefusalReason.NotForThisRoom, $"the job is for neither {room.Room} nor its groups");
        }

        if (!string.Equals(job.Bundle.Compatible, room.Compatible, StringComparison.Ordinal))
        {
            return RefuseJob(job, JobRefusalReason.WrongCompatible, $"the bundle is for '{job.Bundle.Compatible}', this room is '{room.Compatible}'");
        }

        var version = BundleVersion.Parse(job.Bundle.Version);
        if (version <= room.Floor)
        {
            if (!job.Rollback)
            {
                return RefuseJob(job, JobRefusalReason.NotNewer, $"version {version} is not newer than {room.Floor}, the lowest this room installs");
            }

            if (role != SignerRole.Admin)
            {
                return RefuseJob(job, JobRefusalReason.RollbackNeedsAdmin, $"a rollback to {version} must be signed by a fleet admin, not {cn}");
            }
        }

        return (new VerifiedJob(job, cn, role), null);
    }

    /// <summary>What is wrong with a parsed job's fields, or null.</summary>
    private static string? FieldProblem(UpdateJob? job) => job switch
    {
        null => "the job is empty",
        { Id: null or { Length: 0 or > 128 } } => "the job id must have 1-128 characters",
        { Rooms: null } or { Groups: null } => "the job must list rooms and groups (either may be empty)",
        { Bundle: null } => "the job names no bundle",
        _ when job.Rooms.Count + job.Groups.Count == 0 => "the job is for no room and no group",
        _ when job.Rooms.Any(r => r is null) || job.Groups.Any(g => g is null) => "a room or group name is missing",
        { Bundle.Url: null } => "the bundle has no URL",
        _ when !job.Bundle.Url.IsAbsoluteUri || job.Bundle.Url.Scheme != Uri.UriSchemeHttps => "the bundle's URL must be https://",
        { Bundle.Size: <= 0 } => "the bundle's size must be positive",
        _ when job.Bundle.Sha256 is not { Length: 64 } || !job.Bundle.Sha256.All(char.IsAsciiHexDigit) => "the bundle's SHA-256 must be 64 hex digits",
        _ when !BundleVersion.TryParse(job.Bundle.Version, out _) => "the bundle's version must be 2-4 dot-separated numbers",
        { Bundle.Compatible: null or { Length: 0 } } => "the bundle names no compatible",
        _ when job.ExpiresAt <= job.IssuedAt => "the job expires before it is issued",
        _ => null,
    };

    private static (VerifiedJob?, JobRefusal?) Refuse(JobRefusalReason reason, string message) => (null, new JobRefusal(reason, message));

    private static (VerifiedJob?, JobRefusal?) RefuseJob(UpdateJob job, JobRefusalReason reason, string message) => (null, new JobRefusal(reason, message, job.Id));
}
