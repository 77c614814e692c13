using System.Globalization;
using System.Text.RegularExpressions;
using Room.Bus;
using Room.Bus.Client;
using Room.HwTests.Lab;
using Room.Media.Display;

namespace Room.HwTests.Checks;

/// <summary>
/// roomd's room display in a call (issue 15): roomd, restarted with Display:Device on the first DRM card, shows the
/// idle screen, then the loopback call's layout. The suite composes the same scene with Room.Media's compositor and
/// lists the pixels roomd must have flipped (`@@HWTEST-SCANOUT-ROOMD`): the far end's tile and its roster name, and
/// the end-to-end badge; the host compares them with its QMP screendump (host.display.roomd-call).
/// </summary>
public sealed partial class RoomdChecks
{
    public const string RoomdScanoutMarker = "@@HWTEST-SCANOUT-ROOMD";

    /// <summary>How long the call stays on screen after its pixels are listed: the host screendumps within it.</summary>
    private static readonly TimeSpan s_hold = TimeSpan.FromSeconds(30);

    [GeneratedRegex(@" (\d+)x(\d+)@")]
    private static partial Regex ModePattern();

    private async Task<string> RoomdDisplayAsync(CancellationToken ct)
    {
        if (!_up || _address is null || _roomd is null)
        {
            throw new SkipException("roomd did not come up (see roomd.dbus)");
        }

        var card = Directory.Exists("/dev/dri") ? Directory.GetFiles("/dev/dri", "card*").Order(StringComparer.Ordinal).FirstOrDefault() : null;
        if (card is null)
        {
            return inLab ? throw new InvalidOperationException("no /dev/dri/card*: virtio-gpu did not load") : throw new SkipException("no DRM card on this box");
        }

        // The suite's own frame (display.kms.scanout) has been on screen since; roomd takes the card over.
        scanout?.Release();
        _roomd.Kill();
        await _roomd.WaitForExitAsync(ct).ConfigureAwait(false);
        StartRoomd("--Display:Device", card, "--Display:RetrySeconds", "2");
        using var client = await RoomBusClient.ConnectAsync(_address, ct).ConfigureAwait(false);
        await Expect.Eventually(client.IsRoomdPresentAsync, x => x, TimeSpan.FromSeconds(90), "roomd back on the bus with the display", ct).ConfigureAwait(false);
        RoomStatus idle;
        try
        {
            idle = await Expect.Eventually(client.GetStatusAsync, s => s.Media.Display.StartsWith("on:", StringComparison.Ordinal), TimeSpan.FromSeconds(60), "roomd's display on", ct).ConfigureAwait(false);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}: Media.Display is '{(await client.GetStatusAsync().ConfigureAwait(false)).Media.Display}'" + RoomdLog(), e);
        }

        var mode = ModePattern().Match(idle.Media.Display);
        Expect.True(mode.Success, $"no mode in Media.Display '{idle.Media.Display}'");
        var width = int.Parse(mode.Groups[1].Value, CultureInfo.InvariantCulture);
        var height = int.Parse(mode.Groups[2].Value, CultureInfo.InvariantCulture);

        await client.JoinAsync("test-loopback://hwtest.lab/display").ConfigureAwait(false);
        try
        {
            var call = await Expect.Eventually(client.GetStatusAsync, s => s.Meeting.State == MeetingStates.InCall && s.Media.Active, TimeSpan.FromSeconds(90), "roomd in the call with media", ct).ConfigureAwait(false);
            Expect.True(call.Media.Encryption.Length > 0, "the loopback call reports no end-to-end encryption");
            Expect.True(call.Media.Display.StartsWith("on:", StringComparison.Ordinal), $"the display left during the call: {call.Media.Display}");
            var farEnd = call.Meeting.Participants.Skip(1).FirstOrDefault()?.Name ?? throw new InvalidOperationException("the call has no far end");
            // Without a video codec in the guest (no FFmpeg in the lab's initramfs) the call runs with sound only: the
            // far end's tile shows its initial, and no self-view. With video, only what does not depend on the camera's
            // picture is compared: the name label and the badge.
            var video = call.Media.Camera.Length > 0 && !call.Media.VideoEncoder.StartsWith("none", StringComparison.Ordinal);
            var points = Expected(width, height, farEnd, video);
            ScanoutChecks.Print(RoomdScanoutMarker, width, height, points);
            await Task.Delay(s_hold, ct).ConfigureAwait(false);
            var after = await client.GetStatusAsync().ConfigureAwait(false);
            Expect.True(after.Meeting.State == MeetingStates.InCall && after.Media.Display.StartsWith("on:", StringComparison.Ordinal),
                $"after {s_hold.TotalSeconds} s: meeting {after.Meeting.State}, display '{after.Media.Display}'");
            return $"roomd drove {after.Media.Display[4..]}: idle screen, then the loopback call ({(video ? "with video" : "sound only: " + call.Media.VideoEncoder)}); " +
                $"{points.Count} pixels listed for the host ({string.Join(", ", points.Select(p => p.What))})";
        }
        finally
        {
            await client.LeaveAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The pixels roomd's frame must have: composed here from the same scene with the same compositor.</summary>
    private static List<(int X, int Y, uint Rgb, string What)> Expected(int width, int height, string farEnd, bool video)
    {
        var stride = width * 4;
        var screen = new byte[stride * height];
        var compositor = new RoomCompositor();
        // With video the picture is unknown here, but where things go is not: a stand-in picture plans the same layout.
        var stand = video ? TestCard.Solid(64, 36, TestCard.Blue) : default;
        Room.Media.Display.Participant[] people = [new(farEnd, stand)];
        compositor.Compose(screen, width, height, stride, new RoomScene
        {
            Layout = DisplayLayout.Gallery,
            People = people,
            SelfView = stand,
            MirrorSelfView = true,
            Encryption = EncryptionState.EndToEnd,
        });
        var tile = compositor.Tiles[0].Area;
        var (h, _) = RoomCompositor.Label(tile.Height);
        var label = new Rect(tile.X, tile.Bottom - (2 * h), tile.Width / 2, 2 * h);
        var points = new List<(int X, int Y, uint Rgb, string What)>
        {
            ScanoutChecks.Find(screen, stride, compositor.BadgeArea, RoomCompositor.SecureColour & 0xFFFFFF, "badge-e2e"),
            ScanoutChecks.Find(screen, stride, compositor.BadgeArea, RoomCompositor.TextColour & 0xFFFFFF, "badge-text"),
            ScanoutChecks.Find(screen, stride, label, RoomCompositor.LabelBackground & 0xFFFFFF, "name-label"),
        };

        // A letter of the name: white text on the label's black.
        var text = ScanoutChecks.Find(screen, stride, label, RoomCompositor.TextColour & 0xFFFFFF, "name-text");
        points.Add(text);
        if (!video)
        {
            points.Add((tile.X + (tile.Width / 8), tile.Y + (tile.Height / 3), RoomCompositor.TileBackground & 0xFFFFFF, "far-end-tile"));
            var middle = new Rect(tile.X + (tile.Width / 4), tile.Y + (tile.Height / 4), tile.Width / 2, tile.Height / 2);
            points.Add(ScanoutChecks.Find(screen, stride, middle, RoomCompositor.TextColour & 0xFFFFFF, "far-end-initial"));
        }

        return points;
    }
}
