using System.Net.Sockets;

namespace Room.MeetingServer.Tests.Support;

/// <summary>Debian's slapd with a private config and database in a temp directory, on a loopback port.</summary>
public sealed class SlapdInstance : IAsyncDisposable
{
    private readonly ChildProcess _slapd;
    private readonly string _dir;

    public int Port { get; }

    private SlapdInstance(ChildProcess slapd, string dir, int port)
    {
        _slapd = slapd;
        _dir = dir;
        Port = port;
    }

    /// <summary>Starts slapd with the people given (uid, password) under ou=people,dc=example,dc=org.</summary>
    public static async Task<SlapdInstance> StartAsync(params (string Uid, string Password)[] people)
    {
        string dir = Repo.TempDir("room-ms-ldap");
        Directory.CreateDirectory(Path.Combine(dir, "db"));
        string conf = Path.Combine(dir, "slapd.conf");
        await File.WriteAllTextAsync(conf, $"""
            include /etc/ldap/schema/core.schema
            include /etc/ldap/schema/cosine.schema
            include /etc/ldap/schema/inetorgperson.schema
            pidfile {dir}/slapd.pid
            modulepath /usr/lib/ldap
            moduleload back_mdb
            database mdb
            maxsize 10485760
            suffix "dc=example,dc=org"
            rootdn "cn=admin,dc=example,dc=org"
            directory {dir}/db
            """);
        var ldif = new System.Text.StringBuilder("""
            dn: dc=example,dc=org
            objectClass: dcObject
            objectClass: organization
            dc: example
            o: Example

            dn: ou=people,dc=example,dc=org
            objectClass: organizationalUnit
            ou: people


            """);
        foreach (var (uid, pw) in people)
        {
            var (c, hash) = await ChildProcess.RunAsync("slappasswd", ["-s", pw]);
            Assert.Equal(0, c);
            ldif.Append($"dn: uid={uid},ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\nsn: {uid}\nuserPassword: {hash.Trim()}\n\n");
        }

        string ldifPath = Path.Combine(dir, "data.ldif");
        await File.WriteAllTextAsync(ldifPath, ldif.ToString().Replace("\r", "", StringComparison.Ordinal));
        var (code, log) = await ChildProcess.RunAsync("slapadd", ["-f", conf, "-l", ldifPath]);
        Assert.True(code == 0, log);
        int port = Repo.FreePort();
        // -d 0: stay in the foreground (the test owns the process).
        var slapd = new ChildProcess("slapd", ["-f", conf, "-h", $"ldap://127.0.0.1:{port}/", "-d", "0"]);
        var ready = new SlapdInstance(slapd, dir, port);
        // slapd prints nothing when ready: wait until it accepts a connection (or has exited, which fails the wait).
        for (int i = 0; ; i++)
        {
            try
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync("127.0.0.1", port);
                return ready;
            }
            catch (SocketException) when (i < 600)
            {
                await Task.Delay(50);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _slapd.Dispose();
        await Task.Yield();
        Directory.Delete(_dir, true);
    }
}
