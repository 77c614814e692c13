using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Room.Appliance.Meeting;
using Room.Rtc.Ice;
using Room.Testing;

namespace Room.Appliance.Tests;

public sealed class IceServersOptionsTests : IDisposable
{
    private readonly string _state = Directory.CreateTempSubdirectory("room-ice-options-").FullName;

    public void Dispose() => Directory.Delete(_state, recursive: true);

    private RoomOptions Options(params IceServerOptions[] servers) => new() { StateDirectory = _state, IceServers = [.. servers] };

    private static List<string> Failures(RoomOptions options)
    {
        var result = new IceServersValidator().Validate(null, options);
        return result.Failed ? result.Failures!.ToList() : [];
    }

    private string Credential(string content = "relay-secret\n", string name = "turn-credential")
    {
        File.WriteAllText(Path.Combine(_state, name), content);
        return name;
    }

    [Fact]
    public void No_servers_and_well_formed_servers_are_accepted()
    {
        Assert.Empty(Failures(Options()));
        Assert.Empty(Failures(Options(
            new IceServerOptions { Urls = ["stun:stun.example.org", "stun:10.0.0.1:3479"] },
            new IceServerOptions { Urls = ["turn:turn.example.org?transport=udp", "turn:turn.example.org?transport=tcp", "turns:turn.example.org"], Username = "room", CredentialFile = Credential() })));
    }

    [Fact]
    public void Every_problem_is_named_with_its_place_in_the_configuration()
    {
        Credential();
        var failures = Failures(Options(
            new IceServerOptions { Urls = [] },
            new IceServerOptions { Urls = ["turn://turn.example.org", "turn:turn.example.org?transport=sctp"], Username = "room", CredentialFile = "turn-credential" },
            new IceServerOptions { Urls = ["turn:turn.example.org"] },
            new IceServerOptions { Urls = ["stun:stun.example.org"], Username = "room" },
            new IceServerOptions { Urls = ["turns:turn.example.org"], Username = "room", CredentialFile = "../outside" },
            new IceServerOptions { Urls = ["turns:turn.example.org"], Username = "room", CredentialFile = "missing" },
            new IceServerOptions { Urls = ["turn:turn.example.org"], Username = "room", CredentialFile = "turn-credential", CaFile = "/nonexistent.pem" }));
        string all = string.Join("\n", failures);
        Assert.Contains("Room:IceServers:0:Urls is empty", all, StringComparison.Ordinal);
        Assert.Contains("Room:IceServers:1:Urls:0 is not a STUN/TURN URL: no '//'", all, StringComparison.Ordinal);
        Assert.Contains("Room:IceServers:1:Urls:1 is not a STUN/TURN URL: transport must be udp or tcp", all, StringComparison.Ordinal);
        Assert.Contains("Room:IceServers:2:Username is required", all, StringComparison.Ordinal);
        Assert.Contains("Room:IceServers:2:CredentialFile is required", all, StringComparison.Ordinal);
        Assert.Contains("Room:IceServers:3 has a username or credential but only stun:", all, StringComparison.Ordinal);
        Assert.Contains("Room:IceServers:4:CredentialFile '../outside' is outside Room:StateDirectory", all, StringComparison.Ordinal);
        Assert.Contains("Room:IceServers:5:CredentialFile 'missing' does not exist", all, StringComparison.Ordinal);
        Assert.Contains("Room:IceServers:6:CaFile is only used for turns:", all, StringComparison.Ordinal);
        Assert.Equal(9, failures.Count);
        Assert.DoesNotContain("relay-secret", all, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "is empty")]
    [InlineData("\nsecret", "is empty")]
    public void An_empty_credential_file_is_refused(string content, string reason)
    {
        var failures = Failures(Options(new IceServerOptions { Urls = ["turn:t.example"], Username = "room", CredentialFile = Credential(content) }));
        Assert.Contains(reason, Assert.Single(failures), StringComparison.Ordinal);
    }

    [Fact]
    public void An_oversized_credential_file_is_refused_and_not_echoed()
    {
        var failures = Failures(Options(new IceServerOptions { Urls = ["turn:t.example"], Username = "room", CredentialFile = Credential(new string('x', 2000)) }));
        Assert.Contains("larger than 1024 bytes", Assert.Single(failures), StringComparison.Ordinal);
        Assert.DoesNotContain("xxxx", failures[0], StringComparison.Ordinal);
    }

    [Fact]
    public void A_ca_file_without_certificates_is_refused()
    {
        string ca = Path.Combine(_state, "ca.pem");
        File.WriteAllText(ca, "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n");
        var failures = Failures(Options(new IceServerOptions { Urls = ["turns:t.example"], Username = "room", CredentialFile = Credential(), CaFile = ca }));
        Assert.Contains("Room:IceServers:0:CaFile", Assert.Single(failures), StringComparison.Ordinal);
        File.WriteAllText(ca, "nothing here\n");
        Assert.Contains("holds no PEM certificate", Assert.Single(Failures(Options(new IceServerOptions { Urls = ["turns:t.example"], Username = "room", CredentialFile = Credential(), CaFile = ca }))), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_call_gets_the_configured_servers_with_the_credential_from_the_file()
    {
        using var pki = Room.Testing.Network.TestCertificates.Create("turn.example.org");
        var options = Options(
            new IceServerOptions { Urls = ["stun:127.0.0.1:3479"] },
            new IceServerOptions { Urls = ["turns:127.0.0.2:443", "turn:127.0.0.2?transport=tcp"], Username = "room", CredentialFile = Credential("s3cret\nignored\n"), CaFile = pki.CaFile });
        Assert.Empty(Failures(options));
        var set = new IceServerSet(Microsoft.Extensions.Options.Options.Create(options), NullLogger<IceServerSet>.Instance);
        var call = await set.ResolveAsync(CancellationToken.None);
        var (label, endPoint) = Assert.Single(call.Stun);
        Assert.Equal("stun:127.0.0.1:3479", label);
        Assert.Equal(3479, endPoint.Port);
        Assert.Equal(2, call.Turn.Count);
        Assert.Equal(TurnTransport.Tls, call.Turn[0].Transport);
        Assert.Equal(443, call.Turn[0].EndPoint.Port);
        Assert.Equal("s3cret", call.Turn[0].Password);
        Assert.Equal("127.0.0.2", call.Turn[0].ServerName);
        Assert.Single(call.Turn[0].TrustedRoots!);
        Assert.Equal(TurnTransport.Tcp, call.Turn[1].Transport);
        Assert.Equal(3478, call.Turn[1].EndPoint.Port);
        Assert.DoesNotContain("s3cret", call.Turn[0].ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Roomd_refuses_to_start_with_a_malformed_ice_server_and_says_which()
    {
        using var bus = new PrivateBus();
        await using var roomd = RoomdProcess.Start(bus.Address, Path.Combine(bus.Directory, "state"),
            "--Room:IceServers:0:Urls:0", "turn:turn.example.org:99999", "--Room:IceServers:0:Username", "room");
        Assert.Equal(2, await roomd.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("Room:IceServers:0:Urls:0 is not a STUN/TURN URL: the port must be a number from 1 to 65535", roomd.Log, StringComparison.Ordinal);
        Assert.Contains("Room:IceServers:0:CredentialFile is required", roomd.Log, StringComparison.Ordinal);
    }
}
