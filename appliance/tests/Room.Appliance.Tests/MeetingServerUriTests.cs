using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Room.Appliance.Meeting;
using Room.Bus;

namespace Room.Appliance.Tests;

public class MeetingServerUriTests
{
    [Theory]
    [InlineData("meeting://ms.example/abcdefgh23456789", "https://ms.example:8443/", "abcdefgh23456789")]
    [InlineData("meeting://10.0.0.5:9443/x1", "https://10.0.0.5:9443/", "x1")]
    [InlineData("meeting://[2001:db8::1]/m0/", "https://[2001:db8::1]:8443/", "m0")]
    public void Meeting_addresses_name_the_server_and_the_meeting(string text, string server, string id)
    {
        var uri = MeetingUri.Parse(text);
        Assert.True(MeetingUri.IsMeetingServer(uri));
        Assert.False(MeetingUri.IsJanus(uri));
        var (s, m) = MeetingUri.ParseMeetingServer(uri);
        Assert.Equal(new Uri(server), s);
        Assert.Equal(id, m);
    }

    [Theory]
    [InlineData("meeting://ms.example/")]
    [InlineData("meeting://ms.example/ABC")]
    [InlineData("meeting://ms.example/a/b")]
    [InlineData("meeting://ms.example/a-b")]
    [InlineData("meeting://ms.example/abc?x=1")]
    [InlineData("meeting://ms.example/abc#k=secret")]
    [InlineData("meeting://user:pw@ms.example/abc")]
    [InlineData("meeting:///abc")]
    [InlineData("meeting://ms.example/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public void Malformed_meeting_addresses_are_refused_saying_why(string text)
    {
        var ex = Assert.Throws<RoomBusException>(() => MeetingUri.Parse(text));
        Assert.Equal(BusErrors.InvalidUri, ex.ErrorName);
        Assert.False(string.IsNullOrWhiteSpace(ex.Message));
    }

    [Fact]
    public async Task A_box_that_is_not_enrolled_is_told_to_enrol_and_nothing_is_created()
    {
        var dir = Directory.CreateTempSubdirectory("room-not-enrolled-").FullName;
        try
        {
            var transport = new MeetingServerTransport(Options.Create(new MeetingServerCallOptions { IdentityDirectory = dir }), TimeProvider.System, NullLoggerFactory.Instance);
            var ex = await Assert.ThrowsAsync<MeetingFailedException>(() =>
                transport.ConnectAsync(MeetingUri.Parse("meeting://127.0.0.1:1/abc"), "Ratssaal", false, CancellationToken.None));
            Assert.Contains("not enrolled", ex.Message, StringComparison.Ordinal);
            Assert.Contains("roomctl enroll", ex.Message, StringComparison.Ordinal);
            Assert.Empty(Directory.GetFileSystemEntries(dir));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
