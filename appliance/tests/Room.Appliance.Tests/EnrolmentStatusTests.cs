using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Room.Appliance.Administration;

namespace Room.Appliance.Tests;

/// <summary>Admin.EnrolmentStatus says what roomctl enroll left in the identity folder, and never more.</summary>
public sealed class EnrolmentStatusTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("room-enrolment-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void An_empty_or_missing_identity_folder_is_not_enrolled()
    {
        Assert.Equal("not enrolled", AdminService.DescribeEnrolment(_dir));
        Assert.Equal("not enrolled", AdminService.DescribeEnrolment(Path.Combine(_dir, "absent")));
    }

    [Fact]
    public void A_certificate_without_its_key_is_not_an_enrolment()
    {
        File.WriteAllText(Path.Combine(_dir, "device.pem"), Certificate("device:ratssaal").ExportCertificatePem());
        Assert.Equal("not enrolled", AdminService.DescribeEnrolment(_dir));
    }

    [Fact]
    public void An_enrolled_box_shows_its_identity_and_the_certificates_end()
    {
        using var cert = Certificate("device:ratssaal");
        File.WriteAllText(Path.Combine(_dir, "device.pem"), cert.ExportCertificatePem());
        File.WriteAllText(Path.Combine(_dir, "device.key"), "key");
        Assert.Equal($"enrolled as device:ratssaal (certificate valid until {cert.NotAfter.ToUniversalTime():yyyy-MM-dd})", AdminService.DescribeEnrolment(_dir));
    }

    [Fact]
    public void A_damaged_certificate_is_reported_as_unreadable()
    {
        File.WriteAllText(Path.Combine(_dir, "device.pem"), "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
        File.WriteAllText(Path.Combine(_dir, "device.key"), "key");
        Assert.StartsWith($"identity in {_dir} unreadable", AdminService.DescribeEnrolment(_dir), StringComparison.Ordinal);
    }

    private static X509Certificate2 Certificate(string cn)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return new CertificateRequest($"CN={cn}", key, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }
}
