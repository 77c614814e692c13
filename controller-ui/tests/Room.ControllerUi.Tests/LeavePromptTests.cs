using Microsoft.Playwright;
using Room.Bus;
using Tmds.DBus.Protocol;

namespace Room.ControllerUi.Tests;

/// <summary>
/// The real panel in Chromium against a stand-in roomd (<see cref="FakeRoomd"/>, the real bus contract): roomd asks
/// whether to leave only when people other than the room are still in a call it joined by itself, which the real
/// roomd's simulated call (the room's own media looped back) never has. When to ask is proven against roomd's
/// scheduler in Room.Calendar.Tests (AutoJoinSchedulerTests); here: the question, its answers and the keyboard.
/// </summary>
public sealed class LeavePromptFixture : IAsyncLifetime, IDisposable
{
    private ChildProcess? _panel;
    private PanelBrowser? _chromium;

    public TestBus Bus { get; } = new();

    public FakeRoomd Roomd { get; private set; } = null!;

    public PanelBrowser Chromium => _chromium!;

    public string Url { get; private set; } = "";

    /// <summary>The answers the panel sent (Calendar.AnswerLeavePrompt), in order.</summary>
    public List<bool> Answers { get; } = [];

    public FakeInterface Calendar => Roomd.Interfaces[BusNames.Calendar];

    public async Task InitializeAsync()
    {
        Roomd = await FakeRoomd.StartAsync(Bus.Address, "Ratssaal");
        Roomd.Meeting.Set("State", MeetingStates.InCall);
        Roomd.Meeting.Set("Uri", "test-loopback://meet.nordwind.example/bau");
        Calendar.Set("SyncState", "ok");
        Calendar.Set("LastSync", DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        Calendar.Set("LeavePrompt", Struct.Create("", ""));
        Calendar.OnCall = (member, args) =>
        {
            if (member != "AnswerLeavePrompt")
            {
                throw new RoomBusException(BusErrors.NotSupported, member + " is not faked.");
            }

            lock (Answers)
            {
                Answers.Add((bool)args[0]);
            }

            Calendar.Set("LeavePrompt", Struct.Create("", ""));
            return null;
        };

        Url = $"http://127.0.0.1:{Repo.FreePort()}/";
        _panel = await PanelProcess.StartAsync(Url, ["--bus", Bus.Address, "--Logging:LogLevel:Default", "Warning"]);
        _chromium = await PanelBrowser.LaunchAsync();
    }

    public async Task DisposeAsync()
    {
        if (_chromium is not null)
        {
            await _chromium.DisposeAsync();
        }

        if (Roomd is not null)
        {
            await Roomd.DisposeAsync();
        }

        Dispose();
    }

    public void Dispose()
    {
        _panel?.Dispose();
        Bus.Dispose();
    }

    /// <summary>roomd asks about the entry <paramref name="id"/>; <paramref name="privateEntry"/> puts it in today's agenda as private.</summary>
    public void Ask(string id, string title, bool privateEntry = false)
    {
        var start = DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeSeconds();
        var end = DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds();
        Calendar.Set("Today", new Array<Struct<string, string, long, long, bool, bool, string, string, bool>>(
            [Struct.Create(id, title, start, end, false, privateEntry, "room", "test-loopback://meet.nordwind.example/bau", true)]));
        Calendar.Set("LeavePrompt", Struct.Create(id, title));
    }
}

[CollectionDefinition(Name)]
public sealed class LeavePromptGroup : ICollectionFixture<LeavePromptFixture>
{
    public const string Name = "leave question on the panel";
}

[Collection(LeavePromptGroup.Name)]
public sealed class LeavePromptTests(LeavePromptFixture fx)
{
    [Fact]
    public async Task The_question_shows_over_the_call_and_stay_and_leave_reach_roomd_by_touch_and_keyboard()
    {
        var page = await fx.Chromium.OpenAsync(fx.Url);
        try
        {
            await Assertions.Expect(page.GetByTestId("call-screen")).ToBeVisibleAsync();
            await Assertions.Expect(page.GetByTestId("leave-prompt")).ToHaveCountAsync(0);

            fx.Ask("bau@20261026T090000Z", "Bauausschuss");

            var prompt = page.GetByTestId("leave-prompt");
            await Assertions.Expect(prompt).ToBeVisibleAsync();
            await Assertions.Expect(prompt).ToContainTextAsync("Die Besprechung ist zu Ende");
            await Assertions.Expect(prompt).ToContainTextAsync("„Bauausschuss“ ist vorbei, aber es sind noch andere im Gespräch.");
            // The harmless answer has the focus, so a keyboard user is in the question at once.
            await page.WaitForFunctionAsync("() => document.activeElement && document.activeElement.dataset.testid === 'prompt-stay'");
            await PanelFixture.ScreenshotAsync(page, "call-leave-prompt");
            await PanelFixture.AssertAccessibleAsync(page, "the leave question");

            await page.GetByTestId("prompt-stay").TapAsync();

            await Assertions.Expect(prompt).ToHaveCountAsync(0);
            lock (fx.Answers)
            {
                Assert.Equal([false], fx.Answers);
            }

            // Asked again (in English, about a private meeting): Tab to "Leave", Enter.
            await page.GetByTestId("lang-en").TapAsync();
            fx.Ask("private@20261026T090000Z", "Private meeting", privateEntry: true);
            await Assertions.Expect(prompt).ToContainTextAsync("“Private meeting” has ended, but others are still in the call.");
            await page.WaitForFunctionAsync("() => document.activeElement && document.activeElement.dataset.testid === 'prompt-stay'");
            await PanelFixture.AssertAccessibleAsync(page, "the leave question, English");
            await page.Keyboard.PressAsync("Tab");
            await page.WaitForFunctionAsync("() => document.activeElement && document.activeElement.dataset.testid === 'prompt-leave'");
            await page.Keyboard.PressAsync("Enter");

            await Assertions.Expect(prompt).ToHaveCountAsync(0);
            lock (fx.Answers)
            {
                Assert.Equal([false, true], fx.Answers);
            }

            // In German, a private meeting's question names no title either.
            await page.GetByTestId("lang-de").TapAsync();
            fx.Ask("private@20261026T090000Z", "Private meeting", privateEntry: true);
            await Assertions.Expect(prompt).ToContainTextAsync("„Privater Termin“ ist vorbei");
            await page.GetByTestId("prompt-leave").TapAsync();
            await Assertions.Expect(prompt).ToHaveCountAsync(0);
        }
        finally
        {
            await page.CloseAsync();
        }
    }
}
