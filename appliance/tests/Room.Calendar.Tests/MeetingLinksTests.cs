using Room.Calendar.Model;

namespace Room.Calendar.Tests;

public sealed class MeetingLinksTests
{
    private static readonly Uri s_server = new("https://meet.example.org");

    [Theory]
    [InlineData("https://meet.example.org/meetings/abc-123", MeetingProvider.MeetingServer)]
    [InlineData("test-loopback://ratssaal.example.org/weekly", MeetingProvider.Room)]
    [InlineData("https://teams.microsoft.com/l/meetup-join/19%3ameeting", MeetingProvider.Teams)]
    [InlineData("https://example.zoom.us/j/123456789?pwd=abc", MeetingProvider.Zoom)]
    [InlineData("https://acme.webex.com/meet/someone", MeetingProvider.Webex)]
    [InlineData("https://meet.jit.si/SomeRoom", MeetingProvider.Jitsi)]
    [InlineData("sip:ratssaal@pbx.example.org", MeetingProvider.Sip)]
    [InlineData("https://intranet.example.org/agenda.pdf", MeetingProvider.Other)]
    // Another server's /meetings/ or plain http on ours is not a meeting-server meeting.
    [InlineData("https://evil.example.net/meetings/abc", MeetingProvider.Other)]
    [InlineData("http://meet.example.org/meetings/abc", MeetingProvider.Other)]
    public void Addresses_are_recognised_by_provider(string uri, MeetingProvider expected)
    {
        Assert.Equal(expected, MeetingLinks.Find([uri], s_server).Provider);
    }

    [Fact]
    public void A_joinable_address_wins_over_other_providers_wherever_it_is()
    {
        var link = MeetingLinks.Find(
            ["Ratssaal", "https://teams.microsoft.com/l/meetup-join/x", "Bitte hier teilnehmen: <https://meet.example.org/meetings/bau>."],
            s_server);
        Assert.Equal(new MeetingLink(MeetingProvider.MeetingServer, "https://meet.example.org/meetings/bau"), link);
    }

    [Fact]
    public void Known_providers_are_shown_not_dropped_and_are_not_joinable()
    {
        var link = MeetingLinks.Find(["Ratssaal 1. OG", null, "Join Zoom: https://example.zoom.us/j/1"], s_server);
        Assert.Equal(MeetingProvider.Zoom, link.Provider);
        Assert.False(link.Joinable);
    }

    [Fact]
    public void Addresses_with_credentials_and_texts_without_addresses_give_nothing()
    {
        Assert.Equal(MeetingProvider.None, MeetingLinks.Find(["test-loopback://user:pw@host/m", "Raum 3", ""], s_server).Provider);
    }
}
