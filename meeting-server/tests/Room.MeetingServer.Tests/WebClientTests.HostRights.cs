using Microsoft.Playwright;
using Room.MeetingClient;
using Room.MeetingServer.Tests.Support;

namespace Room.MeetingServer.Tests;

/// <summary>Host rights given during a call: the browser follows its role and shows the lobby without rejoining.</summary>
public sealed partial class WebClientTests
{
    [Fact]
    public async Task A_person_made_host_during_the_call_sees_the_lobby_and_admits_from_it_without_rejoining()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(150));
        var ct = timeout.Token;
        string room = ServerFixture.NewName("rr"), person = ServerFixture.NewName("pr"), stranger = ServerFixture.NewName("sr");
        const string password = "web-password-6";
        await fx.Server.AddUserAsync(person, password);
        var (sCreds, s) = await fx.PersonAsync(stranger);
        var (creds, client, _) = await fx.EnrolDeviceAsync(room);
        using var d1 = sCreds; using var d2 = s; using var d3 = creds; using var d4 = client;
        var meeting = await client.CreateMeetingAsync("Haushaltsausschuss", ["person:" + person]);
        using var host = new MeetingMember(client, creds, meeting.Id, meeting.CipherSuite);
        Assert.True(await host.JoinExternalAsync(createIfMissing: true, ct));

        var page = await OpenAsync("en-GB");
        await SignInAsync(page, person, password);
        await page.Locator($"#meetings-list li[data-meeting='{meeting.Id}'] button.join").ClickAsync();
        await WaitUntilAsync(async () => (await ClientStatsAsync(page)).GetProperty("phase").GetString() is "in-call" or "failed", async () => ConsoleOf(page), ct);
        Assert.True((await ClientStatsAsync(page)).GetProperty("phase").GetString() == "in-call", $"{await ClientStatsAsync(page)}\n{ConsoleOf(page)}");

        // A participant: someone knocks, and the page offers no lobby.
        Assert.Equal("waiting", await s.KnockAsync(meeting.Id, ct));
        await Assertions.Expect(page.Locator("#guests-panel")).ToBeHiddenAsync();
        string code = (await ClientStatsAsync(page)).GetProperty("securityCode").GetString()!;

        // The room hosting the meeting makes the person a host: the lobby shows in the same call, and admits.
        await client.InviteAsync(meeting.Id, "person:" + person, host: true, ct);
        await Assertions.Expect(page.Locator("#guests-panel")).ToBeVisibleAsync();
        var waiting = page.Locator($"#lobby li[data-identity='person:{stranger}']");
        await Assertions.Expect(waiting).ToContainTextAsync(stranger);
        await CheckAxeAsync(page, "call of a person made host, with the lobby (en)");
        await waiting.Locator("button.admit").ClickAsync();
        await Assertions.Expect(page.Locator("#lobby li")).ToHaveCountAsync(0);
        Assert.Equal("admitted", await s.KnockAsync(meeting.Id, ct));
        // Not joined again: the same call in the same MLS epoch.
        var stats = await ClientStatsAsync(page);
        Assert.Equal(("in-call", code), (stats.GetProperty("phase").GetString(), stats.GetProperty("securityCode").GetString()));
        await page.Locator("#leave").ClickAsync();
        await page.Context.CloseAsync();
    }
}
