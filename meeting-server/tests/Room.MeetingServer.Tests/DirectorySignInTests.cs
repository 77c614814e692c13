using Room.MeetingClient;
using Room.MeetingServer.Tests.Support;

namespace Room.MeetingServer.Tests;

/// <summary>People sign in against the organisation's directory: Debian's slapd, started by the test on a loopback port.</summary>
public sealed class DirectorySignInTests : IAsyncLifetime
{
    private SlapdInstance _ldap = null!;
    private MeetingServerProcess _server = null!;

    public async Task InitializeAsync()
    {
        _ldap = await SlapdInstance.StartAsync(("carol", "carol's directory password"), ("dave", "dave-pw-1234"));
        _server = await MeetingServerProcess.StartAsync(ldap: ("127.0.0.1", _ldap.Port));
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _ldap.DisposeAsync();
    }

    [Fact]
    public async Task A_directory_user_signs_in_with_an_LDAP_bind_and_gets_a_person_certificate()
    {
        using var c = new MeetingServerClient(_server.Url, _server.Ca);
        Assert.Equal("person:carol", await c.LoginAsync("carol", "carol's directory password"));
        using var creds = DeviceCredentials.CreateEphemeral();
        await c.RequestPersonCertificateAsync(creds);
        Assert.Equal("person:carol", creds.Identity);
        string meeting = (await c.CreateMeetingAsync("directory meeting", ["person:dave"])).Id;
        Assert.Contains(await c.ParticipantsAsync(meeting), p => p.Identity == "person:dave" && p.State == "invited");
        await _server.WaitForLogAsync("person:carol signed in (directory)");
    }

    [Theory]
    [InlineData("carol", "wrong password")]
    [InlineData("carol", "")]
    [InlineData("nobody", "carol's directory password")]
    [InlineData("carol,ou=people", "carol's directory password")]
    [InlineData("*", "x")]
    public async Task A_wrong_empty_or_injected_directory_sign_in_is_refused(string user, string password)
    {
        using var c = new MeetingServerClient(_server.Url, _server.Ca);
        var e = await Assert.ThrowsAsync<MeetingServerException>(() => c.LoginAsync(user, password));
        Assert.Equal("unauthenticated", e.Error);
        Assert.Null(c.Token);
    }

    [Fact]
    public async Task A_local_account_of_the_same_name_is_asked_first()
    {
        await _server.AddUserAsync("dave", "dave-local-password");
        using var c = new MeetingServerClient(_server.Url, _server.Ca);
        Assert.Equal("unauthenticated", (await Assert.ThrowsAsync<MeetingServerException>(() => c.LoginAsync("dave", "dave-pw-1234"))).Error);
        Assert.Equal("person:dave", await c.LoginAsync("dave", "dave-local-password"));
    }
}
