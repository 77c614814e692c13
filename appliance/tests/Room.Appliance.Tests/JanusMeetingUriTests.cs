using Room.Appliance.Meeting;
using Room.Bus;
using Room.Call.E2ee;

namespace Room.Appliance.Tests;

public class JanusMeetingUriTests
{
    private static readonly string Key = LinkKey.NewSecretText();

    [Theory]
    [InlineData("test-janus-linkkey://sfu.example/1234", "ws://sfu.example:8188/", 1234)]
    [InlineData("test-janus-linkkey://10.0.0.5:9000/77", "ws://10.0.0.5:9000/", 77)]
    [InlineData("test-janus-linkkey://[2001:db8::1]:8188/5/", "ws://[2001:db8::1]:8188/", 5)]
    public void Janus_links_name_the_websocket_the_room_and_carry_the_key(string link, string ws, long room)
    {
        var uri = MeetingUri.Parse(link + "#k=" + Key);
        Assert.True(MeetingUri.IsJanus(uri));
        var (socket, number, key) = MeetingUri.ParseJanus(uri);
        using (key)
        {
            Assert.Equal(new Uri(ws), socket);
            Assert.Equal(room, number);
            using var expected = LinkKey.FromFragment("k=" + Key)!;
            Assert.Equal(expected.SecurityCode, key.SecurityCode);
        }
    }

    [Theory]
    [InlineData("test-janus-linkkey://sfu.example/1234")]
    [InlineData("test-janus-linkkey://sfu.example/1234#")]
    [InlineData("test-janus-linkkey://sfu.example/1234#x=1")]
    public void A_janus_link_without_a_key_is_refused_saying_why(string link)
    {
        var ex = Assert.Throws<RoomBusException>(() => MeetingUri.Parse(link));
        Assert.Equal(BusErrors.InvalidUri, ex.ErrorName);
        Assert.Contains("carries no key", ex.Message, StringComparison.Ordinal);
        Assert.Contains("never sends clear media", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("test-janus-linkkey://sfu.example/1234#k=abc")]
    [InlineData("test-janus-linkkey://sfu.example/1234#k=")]
    [InlineData("test-janus-linkkey://sfu.example/1234#k=!!!!")]
    [InlineData("test-janus-linkkey://sfu.example/room#k=KEY")]
    [InlineData("test-janus-linkkey://sfu.example/0#k=KEY")]
    [InlineData("test-janus-linkkey://sfu.example/-4#k=KEY")]
    [InlineData("test-janus-linkkey://sfu.example/1/2#k=KEY")]
    [InlineData("test-janus-linkkey://sfu.example/99999999999999999999#k=KEY")]
    [InlineData("test-janus-linkkey://sfu.example/12?k=KEY")]
    [InlineData("test-janus-linkkey://sfu.example/#k=KEY")]
    [InlineData("test-janus-linkkey://user:pw@sfu.example/12#k=KEY")]
    [InlineData("test-janus-linkkey:///12#k=KEY")]
    public void Malformed_janus_links_are_refused_and_the_message_never_repeats_the_key(string link)
    {
        var text = link.Replace("KEY", Key, StringComparison.Ordinal);
        var ex = Assert.Throws<RoomBusException>(() => MeetingUri.Parse(text));
        Assert.Equal(BusErrors.InvalidUri, ex.ErrorName);
        Assert.DoesNotContain(Key, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("test-janus-linkkey://sfu.example:8188/1234#k=SECRET", "test-janus-linkkey://sfu.example:8188/1234")]
    [InlineData("meeting://ms.example/abc", "meeting://ms.example/abc")]
    [InlineData("test-loopback://a.example/b#frag", "test-loopback://a.example/b")]
    public void The_shown_address_never_has_the_fragment(string link, string shown) =>
        Assert.Equal(shown, MeetingUri.Display(new Uri(link)));

    [Fact]
    public void An_address_that_does_not_parse_is_reported_without_its_fragment()
    {
        var ex = Assert.Throws<RoomBusException>(() => MeetingUri.Parse("not-a-link#k=" + Key));
        Assert.DoesNotContain(Key, ex.Message, StringComparison.Ordinal);
    }
}

public class JanusTransportTests
{
    [Fact]
    public async Task An_unreachable_janus_server_fails_the_join_with_a_reason_that_has_no_key()
    {
        var key = LinkKey.NewSecretText();
        var transport = new JanusTransport(Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        // Port 1 on loopback: nothing listens, the connection is refused at once.
        var uri = MeetingUri.Parse($"test-janus-linkkey://127.0.0.1:1/1234#k={key}");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var ex = await Assert.ThrowsAsync<MeetingFailedException>(() => transport.ConnectAsync(uri, "Ratssaal", false, timeout.Token));
        Assert.Contains("not reachable", ex.Message, StringComparison.Ordinal);
        Assert.Contains("127.0.0.1:1", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(key, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Only_the_test_janus_scheme_goes_to_a_link_keyed_Janus_room()
    {
        Assert.False(MeetingUri.IsJanus(MeetingUri.Parse("test-loopback://rathaus.example/ratssaal")));
        Assert.False(MeetingUri.IsJanus(MeetingUri.Parse("meeting://ms.example/abc")));
        Assert.True(MeetingUri.IsJanus(MeetingUri.Parse($"test-janus-linkkey://sfu.example/1#k={LinkKey.NewSecretText()}")));
    }
}
