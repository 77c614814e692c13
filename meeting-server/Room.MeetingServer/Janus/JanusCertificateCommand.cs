using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Room.MeetingServer.Identity;

namespace Room.MeetingServer.Janus;

/// <summary>
/// <c>room-meeting-server janus-certificate DIR HOST...</c>: issues Janus's TLS certificate from the organisation CA (made
/// first if the data directory has none) for the names and addresses rooms and the server reach Janus by, and writes
/// it as <c>DIR/janus.pem</c> and its key as <c>DIR/janus.key</c> (mode 0600) for janus.transport.websockets.jcfg
/// (meeting-server/janus/write-config.sh). Rooms accept Janus only with a certificate from that CA.
/// </summary>
public static class JanusCertificateCommand
{
    public const string CertificateFile = "janus.pem";
    public const string KeyFile = "janus.key";

    public static int Run(IServiceProvider services, string directory, IReadOnlyList<string> hostNames)
    {
        if (hostNames.Count == 0 || hostNames.Any(h => h.Length == 0 || Uri.CheckHostName(h) == UriHostNameType.Unknown))
        {
            Console.Error.WriteLine("usage: room-meeting-server janus-certificate DIR HOST... (host names or addresses)");
            return 64;
        }

        var ca = services.GetRequiredService<OrganisationCa>();
        Directory.CreateDirectory(directory);
        using var cert = ca.IssueServerCertificate(hostNames);
        using ECDsa key = cert.GetECDsaPrivateKey() ?? throw new InvalidOperationException("the issued certificate has no key");
        string keyPath = Path.Combine(directory, KeyFile);
        File.Delete(keyPath);
        using (var f = new FileStream(keyPath, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }))
        using (var w = new StreamWriter(f))
        {
            w.Write(key.ExportPkcs8PrivateKeyPem());
        }

        File.WriteAllText(Path.Combine(directory, CertificateFile), cert.ExportCertificatePem());
        Console.WriteLine($"janus certificate for {string.Join(", ", hostNames)} from {ca.Certificate.Subject} in {Path.Combine(directory, CertificateFile)}");
        return 0;
    }
}
