using Room.Appliance.Meeting;
using Room.Bus;

namespace Room.Appliance.Tests;

public class MeetingUriTests
{
    [Theory]
    [InlineData("https://meet.example.org/m/42")]
    [InlineData("room://rathaus.example/ratssaal")]
    [InlineData("https://[2001:db8::1]:8443/m/x")]
    public void Accepts_absolute_https_and_room_addresses_with_a_meeting_path(string text) =>
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
    [InlineData("https://meet.example.org/")]
    [InlineData("https://meet.example.org")]
    [InlineData("https://user:secret@meet.example.org/m/1")]
    [InlineData("https://meet.example.org/m/1 2")]
    [InlineData("https://meet.example.org/m/\u0001")]
    [InlineData("https:///m/1")]
    public void Rejects_malformed_addresses_with_InvalidUri(string? text)
    {
        var ex = Assert.Throws<RoomBusException>(() => MeetingUri.Parse(text));
        Assert.Equal(BusErrors.InvalidUri, ex.ErrorName);
        Assert.False(string.IsNullOrWhiteSpace(ex.Message));
    }

    [Fact]
    public void Rejects_addresses_longer_than_the_limit()
    {
        var ex = Assert.Throws<RoomBusException>(() => MeetingUri.Parse("https://meet.example.org/" + new string('a', MeetingUri.MaxLength)));
        Assert.Contains("longer", ex.Message, StringComparison.Ordinal);
    }
}
