using Microsoft.Playwright;
using Room.Bus;
using Tmds.DBus.Protocol;

namespace Room.ControllerUi.Tests;

/// <summary>
/// The real panel in Chromium against a stand-in roomd (<see cref="FakeRoomd"/>, the real bus contract) that hosts a
/// meeting with people waiting in its lobby: the panel shows them (a guest with the host who invited it) and sends
/// Admit and Deny to roomd by touch and keyboard. roomd's own lobby against a real meeting server is proven in
/// meeting-server's RoomdGuestTests.
/// </summary>
public sealed class LobbyPanelFixture : IAsyncLifetime, IDisposable
{
    private ChildProcess? _panel;
    private PanelBrowser? _chromium;

    public TestBus Bus { get; } = new();

    public FakeRoomd Roomd { get; private set; } = null!;

    public PanelBrowser Chromium => _chromium!;

    public string Url { get; private set; } = "";

    /// <summary>What the panel asked roomd, in order: ("Admit"|"Deny", id).</summary>
    public List<(string Method, string Id)> Calls { get; } = [];

    private readonly List<(string Id, string Name, string Kind, string InvitedBy)> _lobby = [];

    public async Task InitializeAsync()
    {
        Roomd = await FakeRoomd.StartAsync(Bus.Address, "Ratssaal");
        Roomd.Meeting.Set("State", MeetingStates.InCall);
        Roomd.Meeting.Set("Uri", "meeting://meet.nordwind.example:8443/abc123");
        Roomd.Meeting.Set("Lobby", new Array<Struct<string, string, string, string>>());
        Roomd.Meeting.OnCall = (member, args) =>
        {
            if (member is not ("Admit" or "Deny"))
            {
                throw new RoomBusException(BusErrors.NotSupported, member + " is not faked.");
            }

            string id = (string)args[0];
            lock (Calls)
            {
                Calls.Add((member, id));
                if (_lobby.RemoveAll(w => w.Id == id) == 0)
                {
                    throw new RoomBusException(BusErrors.InvalidArgument, $"'{id}' is not waiting in the lobby.");
                }

                PublishLobby();
            }

            return null;
        };

        Url = $"http://127.0.0.1:{Repo.FreePort()}/";
        _panel = await PanelProcess.StartAsync(Url, ["--bus", Bus.Address, "--Logging:LogLevel:Default", "Warning"]);
        _chromium = await PanelBrowser.LaunchAsync();
    }

    /// <summary>roomd's lobby now holds these (id, name, kind, invited by).</summary>
    public void Waiting(params (string Id, string Name, string Kind, string InvitedBy)[] waiting)
    {
        lock (Calls)
        {
            _lobby.Clear();
            _lobby.AddRange(waiting);
            PublishLobby();
        }
    }

    private void PublishLobby() =>
        Roomd.Meeting.Set("Lobby", new Array<Struct<string, string, string, string>>(_lobby.Select(w => Struct.Create(w.Id, w.Name, w.Kind, w.InvitedBy))));

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
}

[CollectionDefinition(Name)]
public sealed class LobbyPanelGroup : ICollectionFixture<LobbyPanelFixture>
{
    public const string Name = "lobby on the panel";
}

[Collection(LobbyPanelGroup.Name)]
public sealed class LobbyPanelTests(LobbyPanelFixture fx)
{
    [Fact]
    public async Task Waiting_guests_show_with_their_host_and_Admit_and_Deny_reach_roomd_by_touch_and_keyboard()
    {
        var page = await fx.Chromium.OpenAsync(fx.Url);
        try
        {
            await Assertions.Expect(page.GetByTestId("call-screen")).ToBeVisibleAsync();
            await Assertions.Expect(page.GetByTestId("lobby")).ToHaveCountAsync(0);

            fx.Waiting(("guest:g1", "Erika Mustermann", "guest", "alice"), ("person:bob", "bob", "person", ""));
            var lobby = page.GetByTestId("lobby");
            await Assertions.Expect(lobby).ToBeVisibleAsync();
            await Assertions.Expect(lobby).ToContainTextAsync("Wartebereich (2)");
            var erika = lobby.Locator("[data-id='guest:g1']");
            await Assertions.Expect(erika).ToContainTextAsync("Erika Mustermann (Gast, eingeladen von alice)");
            await Assertions.Expect(lobby.Locator("[data-id='person:bob']")).ToContainTextAsync("bob");
            await Assertions.Expect(lobby.Locator("[data-id='person:bob']")).Not.ToContainTextAsync("Gast");
            await PanelFixture.ScreenshotAsync(page, "call-lobby");
            await PanelFixture.AssertAccessibleAsync(page, "the call with a lobby");

            // Admit the guest by touch: roomd is asked, and the entry goes when roomd's lobby no longer holds it.
            await erika.GetByTestId("admit").TapAsync();
            await Assertions.Expect(erika).ToHaveCountAsync(0);
            lock (fx.Calls)
            {
                Assert.Equal([("Admit", "guest:g1")], fx.Calls);
            }

            // In English, deny the other by keyboard (its Deny button named for the person).
            await page.GetByTestId("lang-en").TapAsync();
            await Assertions.Expect(lobby).ToContainTextAsync("Lobby (1)");
            var deny = lobby.Locator("[data-id='person:bob']").GetByTestId("deny");
            await Assertions.Expect(deny).ToHaveAttributeAsync("aria-label", "Deny bob");
            await deny.FocusAsync();
            await page.Keyboard.PressAsync("Enter");
            await Assertions.Expect(lobby).ToHaveCountAsync(0);
            lock (fx.Calls)
            {
                Assert.Equal([("Admit", "guest:g1"), ("Deny", "person:bob")], fx.Calls);
            }

            await page.GetByTestId("lang-de").TapAsync();
        }
        finally
        {
            await page.CloseAsync();
        }
    }
}
