using Room.Appliance.Meeting;
using Room.Bus;

namespace Room.Appliance.Tests;

public class MeetingUriTests
{
    [Theory]
    [InlineData("meeting://ms.example/abc42")]
    [InlineData("https://ms.example:8443/meetings/abc42")]
    [InlineData("test-loopback://rathaus.example/ratssaal")]
    [InlineData("test-loopback://[2001:db8::1]:8443/m/x")]
    public void Accepts_meeting_server_meetings_and_the_test_loopback(string text) =>
        Assert.Equal(text, MeetingUri.Parse(text).OriginalString);

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("meet.example.org/m/42")]
    [InlineData("/m/42")]
    [InlineData("ftp://meet.example.org/m/42")]
    [InlineData("http://meet.example.org/m/42")]
    [InlineData("javascript:alert(1)")]
    [InlineData("test-loopback://meet.example.org/")]
    [InlineData("test-loopback://meet.example.org")]
    [InlineData("test-loopback://user:secret@meet.example.org/m/1")]
    [InlineData("test-loopback://meet.example.org/m/1 2")]
    [InlineData("test-loopback://meet.example.org/m/\u0001")]
    [InlineData("test-loopback:///m/1")]
    [InlineData("https://ms.example/meetings/")]
    [InlineData("https://ms.example/meetings/ABC")]
    [InlineData("https://ms.example/meetings/abc?x=1")]
    public void Rejects_malformed_addresses_with_InvalidUri(string? text)
    {
        var ex = Assert.Throws<RoomBusException>(() => MeetingUri.Parse(text));
        Assert.Equal(BusErrors.InvalidUri, ex.ErrorName);
        Assert.False(string.IsNullOrWhiteSpace(ex.Message));
    }

    [Theory]
    [InlineData("https://meet.example.org/m/42")]
    [InlineData("https://teams.microsoft.com/l/meetup-join/19")]
    [InlineData("https://meet.example.org/")]
    public void A_web_link_that_is_no_meeting_server_meeting_is_refused_saying_what_roomd_joins(string text)
    {
        var ex = Assert.Throws<RoomBusException>(() => MeetingUri.Parse(text));
        Assert.Equal(BusErrors.InvalidUri, ex.ErrorName);
        Assert.Contains("meeting server", ex.Message, StringComparison.Ordinal);
        Assert.Contains("meeting://", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("room://rathaus.example/ratssaal")]
    [InlineData("janus://sfu.example:8188/1234#k=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public void Retired_room_and_janus_links_are_refused_saying_what_roomd_joins(string text)
    {
        var ex = Assert.Throws<RoomBusException>(() => MeetingUri.Parse(text));
        Assert.Equal(BusErrors.InvalidUri, ex.ErrorName);
        Assert.Contains("retired", ex.Message, StringComparison.Ordinal);
        Assert.Contains("meeting://", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("AAAAAAAA", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_web_form_of_a_meeting_names_its_server_and_meeting()
    {
        var uri = MeetingUri.Parse("https://ms.example:9443/meetings/abc42");
        Assert.True(MeetingUri.IsMeetingServer(uri));
        Assert.False(MeetingUri.IsTestLoopback(uri));
        var (server, id) = MeetingUri.ParseMeetingServer(uri);
        Assert.Equal(new Uri("https://ms.example:9443/"), server);
        Assert.Equal("abc42", id);
        Assert.Equal(new Uri("https://ms.example/"), MeetingUri.ParseMeetingServer(MeetingUri.Parse("https://ms.example/meetings/x")).Server);
    }

    [Fact]
    public void Only_the_test_scheme_reaches_the_loopback()
    {
        Assert.True(MeetingUri.IsTestLoopback(MeetingUri.Parse("test-loopback://demo/call")));
        Assert.False(MeetingUri.IsTestLoopback(MeetingUri.Parse("meeting://ms.example/abc")));
    }

    [Fact]
    public void Rejects_addresses_longer_than_the_limit()
    {
        var ex = Assert.Throws<RoomBusException>(() => MeetingUri.Parse("test-loopback://meet.example.org/" + new string('a', MeetingUri.MaxLength)));
        Assert.Contains("longer", ex.Message, StringComparison.Ordinal);
    }
}
