using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Room.Fleet.Jobs;

/// <summary>The bundle a job installs: where to fetch it, its exact size and SHA-256, its version and compatible.</summary>
public sealed record BundleRef(Uri Url, long Size, string Sha256, string Version, string Compatible);

/// <summary>
/// An update job as its signer wrote it: an id, its validity, the rooms and groups it is for, the bundle, and whether it
/// is a rollback (a version not newer than the room's floor, allowed only when a fleet admin signed it).
/// </summary>
public sealed record UpdateJob(
    string Id,
    DateTimeOffset IssuedAt,
    DateTimeOffset ExpiresAt,
    IReadOnlyList<string> Rooms,
    IReadOnlyList<string> Groups,
    BundleRef Bundle,
    bool Rollback = false)
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };
}

/// <summary>Who may sign jobs: an operator (updates to newer versions) or an admin (also rollbacks). From the signer's CN.</summary>
public enum SignerRole
{
    /// <summary><c>fleet-operator:NAME</c>.</summary>
    Operator,

    /// <summary><c>fleet-admin:NAME</c>.</summary>
    Admin,
}

/// <summary>
/// The signed form of a job on the wire: <c>{"job": base64(JSON bytes), "signature": base64(ECDSA P-256 / SHA-256,
/// IEEE P1363), "certificates": [base64(DER) signer, intermediates...]}</c>. The signature covers the exact job bytes.
/// </summary>
public sealed record SignedJob(string Job, string Signature, IReadOnlyList<string> Certificates)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>Signs <paramref name="job"/> with <paramref name="signer"/> (a certificate with its ECDSA P-256 key).</summary>
    public static byte[] Create(UpdateJob job, X509Certificate2 signer, IEnumerable<X509Certificate2>? intermediates = null)
    {
        ArgumentNullException.ThrowIfNull(signer);
        var bytes = JsonSerializer.SerializeToUtf8Bytes(job, UpdateJob.Json);
        return CreateRaw(bytes, signer, intermediates);
    }

    /// <summary>Signs arbitrary job bytes (tests: malformed jobs with valid signatures).</summary>
    public static byte[] CreateRaw(byte[] jobBytes, X509Certificate2 signer, IEnumerable<X509Certificate2>? intermediates = null)
    {
        ArgumentNullException.ThrowIfNull(signer);
        using var key = signer.GetECDsaPrivateKey() ?? throw new ArgumentException("the signer needs its ECDSA private key", nameof(signer));
        var signature = key.SignData(jobBytes, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        var envelope = new SignedJob(Convert.ToBase64String(jobBytes), Convert.ToBase64String(signature),
            [Convert.ToBase64String(signer.RawData), .. (intermediates ?? []).Select(c => Convert.ToBase64String(c.RawData))]);
        return JsonSerializer.SerializeToUtf8Bytes(envelope, Json);
    }

    internal static SignedJob? Parse(ReadOnlySpan<byte> bytes)
    {
        try
        {
            var e = JsonSerializer.Deserialize<SignedJob>(bytes, Json);
            return e is { Job: not null, Signature: not null, Certificates: { Count: > 0 and <= 4 } } && e.Certificates.All(c => c is not null) ? e : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
