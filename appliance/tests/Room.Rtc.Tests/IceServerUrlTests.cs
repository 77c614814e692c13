using Room.Rtc.Ice;

namespace Room.Rtc.Tests;

public sealed class IceServerUrlTests
{
    [Theory]
    [InlineData("stun:stun.example.org", IceServerScheme.Stun, "stun.example.org", 3478, TurnTransport.Udp)]
    [InlineData("stun:10.0.0.1:3479", IceServerScheme.Stun, "10.0.0.1", 3479, TurnTransport.Udp)]
    [InlineData("turn:turn.example.org", IceServerScheme.Turn, "turn.example.org", 3478, TurnTransport.Udp)]
    [InlineData("turn:turn.example.org:3480?transport=udp", IceServerScheme.Turn, "turn.example.org", 3480, TurnTransport.Udp)]
    [InlineData("turn:turn.example.org?transport=tcp", IceServerScheme.Turn, "turn.example.org", 3478, TurnTransport.Tcp)]
    [InlineData("TURN:Turn.Example.org:80?TRANSPORT=TCP", IceServerScheme.Turn, "Turn.Example.org", 80, TurnTransport.Tcp)]
    [InlineData("turns:turn.example.org", IceServerScheme.Turn, "turn.example.org", 5349, TurnTransport.Tls)]
    [InlineData("turns:turn.example.org:443?transport=tcp", IceServerScheme.Turn, "turn.example.org", 443, TurnTransport.Tls)]
    [InlineData("turn:[2001:db8::1]:3478", IceServerScheme.Turn, "2001:db8::1", 3478, TurnTransport.Udp)]
    [InlineData("stun:[::1]", IceServerScheme.Stun, "::1", 3478, TurnTransport.Udp)]
    public void Valid_urls_parse(string text, IceServerScheme scheme, string host, int port, TurnTransport transport)
    {
        Assert.True(IceServerUrl.TryParse(text, out var url, out string error), error);
        Assert.Equal(new IceServerUrl(scheme, host, port, transport), url);
        // The canonical form parses back to the same thing.
        Assert.Equal(url, IceServerUrl.Parse(url!.ToString()));
    }

    [Theory]
    [InlineData(null, "empty")]
    [InlineData("", "empty")]
    [InlineData("   ", "empty")]
    [InlineData("turn.example.org", "no scheme")]
    [InlineData(":3478", "no scheme")]
    [InlineData("http://turn.example.org", "unknown scheme")]
    [InlineData("stuns:stun.example.org", "not supported")]
    [InlineData("turn://turn.example.org", "no '//'")]
    [InlineData("turn:user:pass@turn.example.org", "user information")]
    [InlineData("turn:", "no host")]
    [InlineData("turn::3478", "no host")]
    [InlineData("turn:turn.example.org:", "empty port")]
    [InlineData("turn:turn.example.org:0", "port")]
    [InlineData("turn:turn.example.org:65536", "port")]
    [InlineData("turn:turn.example.org:-1", "port")]
    [InlineData("turn:turn.example.org:34x", "port")]
    [InlineData("turn:turn.example.org: 3478", "port")]
    [InlineData("turn:2001:db8::1", "[ ]")]
    [InlineData("turn:[2001:db8::1", "unclosed")]
    [InlineData("turn:[10.0.0.1]", "not an IPv6")]
    [InlineData("turn:[::1]x", "unexpected text")]
    [InlineData("turn:[::1]:", "empty port")]
    [InlineData("turn:bad_host", "not a valid DNS name")]
    [InlineData("turn:-bad.example", "not a valid DNS name")]
    [InlineData("turn:a..b", "not a valid DNS name")]
    [InlineData("turn:turn.example.org?transport=sctp", "udp or tcp")]
    [InlineData("turn:turn.example.org?foo=bar", "only query")]
    [InlineData("turns:turn.example.org?transport=udp", "DTLS")]
    [InlineData("stun:stun.example.org?transport=tcp", "no query")]
    [InlineData("turn:tür.example", "not a valid DNS name")]
    public void Malformed_urls_are_refused_with_a_reason(string? text, string reason)
    {
        Assert.False(IceServerUrl.TryParse(text, out var url, out string error));
        Assert.Null(url);
        Assert.Contains(reason, error, StringComparison.Ordinal);
        var e = Assert.Throws<RtcFormatException>(() => IceServerUrl.Parse(text!));
        Assert.Equal(RtcError.BadSyntax, e.Error);
    }

    [Fact]
    public void An_overlong_url_is_refused_without_echoing_it()
    {
        string text = "turn:" + new string('a', 600);
        Assert.False(IceServerUrl.TryParse(text, out _, out string error));
        Assert.DoesNotContain("aaaa", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_relay_server_never_prints_its_password()
    {
        var server = new TurnRelayServer(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 3478), TurnTransport.Tls, "room", "s3cret-pw") { Label = "turns:t.example:5349" };
        Assert.DoesNotContain("s3cret-pw", server.ToString(), StringComparison.Ordinal);
        Assert.Contains("turns:t.example:5349", server.ToString(), StringComparison.Ordinal);
    }
}
