using System.Net;
using System.Text.Json;
using Microsoft.Playwright;
using Room.MeetingClient;
using Room.MeetingServer.Tests.Support;

namespace Room.MeetingServer.Tests;

/// <summary>A meeting's link (https://SERVER/meetings/ID) opened in a browser: sign-in if needed, that meeting's join page, the call.</summary>
public sealed partial class WebClientTests
{
    [Fact]
    public async Task A_meeting_link_opened_in_a_browser_asks_for_sign_in_then_shows_that_meetings_join_page_and_joins_it()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(150));
        var ct = timeout.Token;
        string room = ServerFixture.NewName("rl"), person = ServerFixture.NewName("pl"), stranger = ServerFixture.NewName("sl");
        const string password = "link-password-1";
        await fx.Server.AddUserAsync(person, password);
        await fx.Server.AddUserAsync(stranger, password);
        var (creds, client, _) = await fx.EnrolDeviceAsync(room);
        using var d1 = creds;
        using var d2 = client;
        var meeting = await client.CreateMeetingAsync("Bauausschuss", ["person:" + person]);
        using var host = new MeetingMember(client, creds, meeting.Id, meeting.CipherSuite);
        Assert.True(await host.JoinExternalAsync(createIfMissing: true, ct));

        // The link as rooms and invitations carry it: the server sends the browser to the client with the meeting.
        var page = await OpenAsync("en-US", $"meetings/{meeting.Id}");
        Assert.EndsWith($"/client/#meeting={meeting.Id}", page.Url, StringComparison.Ordinal);
        await page.Locator("#view-signin:not([hidden])").WaitForAsync();
        await Assertions.Expect(page.Locator("#signin-link-hint")).ToHaveTextAsync("Sign in to join the meeting.");
        await CheckAxeAsync(page, "sign-in for a meeting link (en)");

        await page.Locator("#signin-name").FillAsync(person);
        await page.Locator("#signin-password").FillAsync(password);
        await page.Locator("#signin-password").PressAsync("Enter");
        await page.Locator("#view-link:not([hidden])").WaitForAsync();
        await Assertions.Expect(page.Locator("#link-title")).ToHaveTextAsync("Bauausschuss");
        await Assertions.Expect(page.Locator("#link-meta")).ToContainTextAsync("in progress");
        await Assertions.Expect(page.Locator("#link-join")).ToHaveTextAsync("Join: Bauausschuss");
        await CheckAxeAsync(page, "meeting link (en)");
        await page.Locator("#lang").SelectOptionAsync("de");
        await Assertions.Expect(page.Locator("#link-join")).ToHaveTextAsync("Teilnehmen: Bauausschuss");
        await CheckAxeAsync(page, "meeting link (de)");
        await ScreenshotAsync(page, "web-client-meeting-link-de");

        // Join from there: the browser is in the meeting's MLS group with the room, one security code.
        await page.Locator("#link-join").ClickAsync();
        await page.Locator("#view-call:not([hidden])").WaitForAsync();
        await WaitUntilAsync(async () => (await ClientStatsAsync(page)).GetProperty("epoch").GetInt32() >= 1 || (await ClientStatsAsync(page)).GetProperty("error").GetString() is { Length: > 0 },
            async () => ConsoleOf(page) + "\n" + (await ClientStatsAsync(page)), ct);
        var stats = await ClientStatsAsync(page);
        Assert.True(stats.GetProperty("error").GetString() is "", stats.ToString() + "\n" + ConsoleOf(page));
        await host.SyncAsync(ct);
        Assert.Contains("person:" + person, host.Roster);
        await Assertions.Expect(page.Locator("#security-code")).ToHaveAttributeAsync("data-code", host.SecurityCode);
        await page.Locator("#leave").ClickAsync();

        // Someone not invited learns nothing of the meeting: the page says so and offers no join.
        var other = await OpenAsync("en-US", $"meetings/{meeting.Id}");
        await other.Locator("#signin-name").FillAsync(stranger);
        await other.Locator("#signin-password").FillAsync(password);
        await other.Locator("#signin-password").PressAsync("Enter");
        await other.Locator("#view-link:not([hidden])").WaitForAsync();
        await Assertions.Expect(other.Locator("#link-status")).ToHaveTextAsync("You are not invited to this meeting, or it does not exist.");
        await Assertions.Expect(other.Locator("#link-title")).ToHaveTextAsync("Meeting not found");
        Assert.True(await other.Locator("#link-join").IsHiddenAsync());
        await other.Locator("#link-all").ClickAsync();
        await other.Locator("#view-meetings:not([hidden])").WaitForAsync();
        Assert.DoesNotContain("#meeting=", other.Url, StringComparison.Ordinal);

        // Signed in already (same tab): a link goes straight to the meeting's page, no sign-in.
        await other.GotoAsync(new Uri(fx.Server.Url, $"meetings/{meeting.Id}").ToString());
        await other.Locator("#view-link:not([hidden])").WaitForAsync();
        Assert.True(await other.Locator("#view-signin").IsHiddenAsync());

        // A malformed link: a clear 404, no redirect.
        foreach (string bad in new[] { "meetings/NOT-AN-ID", $"meetings/{new string('a', 65)}", "meetings/a%2Fb" })
        {
            var (status, body) = await RawAsync(HttpMethod.Get, bad, null);
            Assert.True(status == HttpStatusCode.NotFound, $"{bad}: {status} {body}");
            Assert.Equal("malformed", JsonDocument.Parse(body).RootElement.GetProperty("error").GetString());
        }
    }
}
