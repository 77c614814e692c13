using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Room.Fleet.Jobs;

namespace Room.Fleet.Tests;

/// <summary>Signed update jobs: forged, malformed, foreign, expired, misdirected, incompatible and downgrading ones are refused.</summary>
public sealed class JobVerifierTests : IDisposable
{
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-12-07T10:00:00Z", CultureInfo.InvariantCulture);
    private readonly string _dir = Directory.CreateTempSubdirectory("room-fleet-jobs-").FullName;
    private readonly TestPki _pki;
    private readonly X509Certificate2 _operator;
    private readonly X509Certificate2 _admin;
    private readonly FakeTimeProvider _time = new(Now);

    public JobVerifierTests()
    {
        _pki = new TestPki(_dir);
        _operator = _pki.IssueSigner("fleet-operator:alice", Now.AddDays(-30), Now.AddDays(30));
        _admin = _pki.IssueSigner("fleet-admin:bob", Now.AddDays(-30), Now.AddDays(30));
    }

    private static readonly RoomIdentity Room = new("device:room-1", ["floor-2"], "room-box-amd64",
        BundleVersion.Parse("1.4.0"), BundleVersion.Parse("1.5.0"));

    private static UpdateJob Job(string version = "1.6.0", bool rollback = false, string compatible = "room-box-amd64",
        string[]? rooms = null, string[]? groups = null) =>
        new("job-1", Now.AddMinutes(-1), Now.AddDays(1), rooms ?? ["device:room-1"], groups ?? [],
            new BundleRef(new Uri("https://updates.example.test/b.raucb"), 1000, new string('a', 64), version, compatible), rollback);

    private JobVerifier Verifier(IReadOnlySet<string>? revoked = null) => new(new X509Certificate2Collection(_pki.Ca), _time, revoked);

    private JobRefusal Refused(byte[] document)
    {
        var (job, refusal) = Verifier().Verify(document, Room);
        Assert.Null(job);
        return Assert.IsType<JobRefusal>(refusal);
    }

    [Fact]
    public void A_job_signed_by_an_operator_for_a_newer_version_is_accepted()
    {
        var (job, refusal) = Verifier().Verify(SignedJob.Create(Job(), _operator), Room);
        Assert.Null(refusal);
        Assert.Equal("fleet-operator:alice", job!.Signer);
        Assert.Equal(SignerRole.Operator, job.Role);
        Assert.Equal("1.6.0", job.Job.Bundle.Version);
    }

    [Fact]
    public void A_job_for_one_of_the_rooms_groups_is_accepted()
    {
        var (job, _) = Verifier().Verify(SignedJob.Create(Job(rooms: [], groups: ["floor-2"]), _operator), Room);
        Assert.NotNull(job);
    }

    [Theory]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("[]")]
    [InlineData("{}")]
    [InlineData("not json at all")]
    [InlineData("{\"job\":\"e30=\",\"signature\":\"AA==\"}")]
    [InlineData("{\"job\":\"e30=\",\"signature\":\"AA==\",\"certificates\":[]}")]
    [InlineData("{\"job\":\"%%%\",\"signature\":\"AA==\",\"certificates\":[\"AA==\"]}")]
    [InlineData("{\"job\":\"e30=\",\"signature\":\"AA==\",\"certificates\":[\"AAAA\"]}")]
    [InlineData("{\"job\":\"e30=\",\"signature\":\"AA==\",\"certificates\":[null]}")]
    [InlineData("{\"job\":\"e30=\",\"signature\":\"AA==\",\"certificates\":[\"AA==\"],\"extra\":1}")]
    public void A_malformed_envelope_is_refused_as_malformed(string document)
    {
        var refusal = Refused(Encoding.UTF8.GetBytes(document));
        Assert.Equal(JobRefusalReason.Malformed, refusal.Reason);
        Assert.Equal("malformed", refusal.Code);
    }

    [Fact]
    public void An_oversized_document_is_refused_before_it_is_parsed() =>
        Assert.Equal(JobRefusalReason.Malformed, Refused(new byte[100_000]).Reason);

    [Theory]
    [InlineData("")]
    [InlineData("{}")]
    [InlineData("[1,2]")]
    [InlineData("{\"id\":\"j\"}")]
    [InlineData("{\"id\":\"j\",\"issuedAt\":\"2026-12-07T09:00:00Z\",\"expiresAt\":\"2026-12-08T09:00:00Z\",\"rooms\":[\"device:room-1\"],\"groups\":[],\"bundle\":{\"url\":\"http://plain.test/b\",\"size\":1,\"sha256\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"version\":\"1.6.0\",\"compatible\":\"room-box-amd64\"}}")]
    [InlineData("{\"id\":\"j\",\"issuedAt\":\"2026-12-07T09:00:00Z\",\"expiresAt\":\"2026-12-08T09:00:00Z\",\"rooms\":[\"device:room-1\"],\"groups\":[],\"bundle\":{\"url\":\"https://a.test/b\",\"size\":0,\"sha256\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"version\":\"1.6.0\",\"compatible\":\"room-box-amd64\"}}")]
    [InlineData("{\"id\":\"j\",\"issuedAt\":\"2026-12-07T09:00:00Z\",\"expiresAt\":\"2026-12-08T09:00:00Z\",\"rooms\":[\"device:room-1\"],\"groups\":[],\"bundle\":{\"url\":\"https://a.test/b\",\"size\":1,\"sha256\":\"xyz\",\"version\":\"1.6.0\",\"compatible\":\"room-box-amd64\"}}")]
    [InlineData("{\"id\":\"j\",\"issuedAt\":\"2026-12-07T09:00:00Z\",\"expiresAt\":\"2026-12-08T09:00:00Z\",\"rooms\":[\"device:room-1\"],\"groups\":[],\"bundle\":{\"url\":\"https://a.test/b\",\"size\":1,\"sha256\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"version\":\"one\",\"compatible\":\"room-box-amd64\"}}")]
    [InlineData("{\"id\":\"j\",\"issuedAt\":\"2026-12-07T09:00:00Z\",\"expiresAt\":\"2026-12-08T09:00:00Z\",\"rooms\":[],\"groups\":[],\"bundle\":{\"url\":\"https://a.test/b\",\"size\":1,\"sha256\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"version\":\"1.6.0\",\"compatible\":\"room-box-amd64\"}}")]
    [InlineData("{\"id\":\"j\",\"issuedAt\":\"2026-12-08T09:00:00Z\",\"expiresAt\":\"2026-12-07T09:00:00Z\",\"rooms\":[\"device:room-1\"],\"groups\":[],\"bundle\":{\"url\":\"https://a.test/b\",\"size\":1,\"sha256\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"version\":\"1.6.0\",\"compatible\":\"room-box-amd64\"}}")]
    [InlineData("{\"id\":\"j\",\"issuedAt\":\"2026-12-07T09:00:00Z\",\"expiresAt\":\"2026-12-08T09:00:00Z\",\"rooms\":[\"device:room-1\"],\"groups\":[],\"bundle\":{\"url\":\"https://a.test/b\",\"size\":1,\"sha256\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"version\":\"1.6.0\",\"compatible\":\"room-box-amd64\"},\"surprise\":true}")]
    public void A_validly_signed_but_malformed_job_is_refused_as_malformed(string job)
    {
        var refusal = Refused(SignedJob.CreateRaw(Encoding.UTF8.GetBytes(job), _operator));
        Assert.Equal(JobRefusalReason.Malformed, refusal.Reason);
    }

    [Fact]
    public void An_altered_job_is_refused_as_a_bad_signature()
    {
        var signed = Encoding.UTF8.GetString(SignedJob.Create(Job(), _operator));
        // Swap in another job's bytes under the same signature and certificate.
        var other = Convert.ToBase64String(Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(Job(version: "9.9.9"), UpdateJob.Json)));
        var forged = System.Text.RegularExpressions.Regex.Replace(signed, "\"job\":\"[^\"]+\"", "\"job\":\"" + other + "\"");
        var refusal = Refused(Encoding.UTF8.GetBytes(forged));
        Assert.Equal(JobRefusalReason.BadSignature, refusal.Reason);
    }

    [Fact]
    public void A_job_signed_by_a_key_of_another_ca_is_refused_as_untrusted()
    {
        using var other = new TestPki(Path.Combine(_dir, "other"), "Other CA");
        using var signer = other.IssueSigner("fleet-admin:mallory");
        Assert.Equal(JobRefusalReason.UntrustedSigner, Refused(SignedJob.Create(Job(), signer)).Reason);
    }

    [Fact]
    public void A_job_claiming_a_trusted_certificate_but_signed_by_another_key_is_refused()
    {
        // Mallory copies Alice's certificate into a job she signs with her own key.
        using var other = new TestPki(Path.Combine(_dir, "mallory"), "Mallory CA");
        using var mallory = other.IssueSigner("fleet-operator:mallory");
        var hers = Encoding.UTF8.GetString(SignedJob.Create(Job(), mallory));
        var alicesCert = Convert.ToBase64String(_operator.RawData);
        var forged = System.Text.RegularExpressions.Regex.Replace(hers, "\"certificates\":\\[\"[^\"]+\"", "\"certificates\":[\"" + alicesCert + "\"");
        Assert.Equal(JobRefusalReason.BadSignature, Refused(Encoding.UTF8.GetBytes(forged)).Reason);
    }

    [Fact]
    public void A_job_signed_by_an_expired_certificate_is_refused_as_signer_expired()
    {
        var signed = SignedJob.Create(Job() with { ExpiresAt = Now.AddDays(60) }, _operator);
        _time.Advance(TimeSpan.FromDays(31));
        Assert.Equal(JobRefusalReason.SignerExpired, Refused(signed).Reason);
    }

    [Fact]
    public void A_job_signed_by_a_revoked_certificate_is_refused()
    {
        var (job, refusal) = Verifier(new HashSet<string> { _operator.SerialNumber.ToUpperInvariant() }).Verify(SignedJob.Create(Job(), _operator), Room);
        Assert.Null(job);
        Assert.Equal(JobRefusalReason.SignerRevoked, refusal!.Reason);
    }

    [Fact]
    public void A_job_signed_by_a_room_or_person_certificate_is_refused()
    {
        using var room = _pki.IssueSigner("device:room-2");
        Assert.Equal(JobRefusalReason.SignerNotAllowed, Refused(SignedJob.Create(Job(), room)).Reason);
    }

    [Fact]
    public void An_expired_job_is_refused()
    {
        var signed = SignedJob.Create(Job(), _operator);
        _time.Advance(TimeSpan.FromDays(2));
        Assert.Equal(JobRefusalReason.Expired, Refused(signed).Reason);
    }

    [Fact]
    public void A_job_for_another_room_or_group_is_refused()
    {
        Assert.Equal(JobRefusalReason.NotForThisRoom, Refused(SignedJob.Create(Job(rooms: ["device:room-2"], groups: ["lab"]), _operator)).Reason);
    }

    [Fact]
    public void A_bundle_for_another_kind_of_box_is_refused_as_wrong_compatible()
    {
        var refusal = Refused(SignedJob.Create(Job(compatible: "room-box-arm64-rpi4"), _operator));
        Assert.Equal(JobRefusalReason.WrongCompatible, refusal.Reason);
        Assert.Equal("wrong-compatible", refusal.Code);
    }

    [Theory]
    [InlineData("1.5.0")] // the floor itself: a reinstall
    [InlineData("1.4.0")] // the running version
    [InlineData("1.0.0")]
    [InlineData("1.5")]
    public void A_version_not_newer_than_the_floor_is_refused(string version)
    {
        var refusal = Refused(SignedJob.Create(Job(version), _admin));
        Assert.Equal(JobRefusalReason.NotNewer, refusal.Reason);
        Assert.Contains("1.5.0", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_rollback_signed_by_an_operator_is_refused()
    {
        Assert.Equal(JobRefusalReason.RollbackNeedsAdmin, Refused(SignedJob.Create(Job("1.3.0", rollback: true), _operator)).Reason);
    }

    [Fact]
    public void A_rollback_signed_by_an_admin_is_accepted()
    {
        var (job, refusal) = Verifier().Verify(SignedJob.Create(Job("1.3.0", rollback: true), _admin), Room);
        Assert.Null(refusal);
        Assert.Equal(SignerRole.Admin, job!.Role);
        Assert.True(job.Job.Rollback);
    }

    public void Dispose()
    {
        _operator.Dispose();
        _admin.Dispose();
        _pki.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
