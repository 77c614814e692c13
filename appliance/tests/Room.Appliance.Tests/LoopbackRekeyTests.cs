using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Room.Appliance.Camera;
using Room.Appliance.Framing;
using Room.Appliance.Media;
using Room.Appliance.Meeting;
using Room.Bus;
using Room.Bus.Client;
using Room.Devices.Simulated;
using Room.Testing;
using Xunit.Abstractions;

namespace Room.Appliance.Tests;

/// <summary>The loopback call rekeys: new MLS epoch on both members, new SFrame keys, new security code, a keyframe.</summary>
public sealed partial class LoopbackRekeyTests(ITestOutputHelper output)
{
    private static async Task<LoopbackTransport.Session> JoinAsync(TimeProvider time, TimeSpan rekeyInterval) =>
        (LoopbackTransport.Session)await new LoopbackTransport(time) { JoinDelay = TimeSpan.Zero, RekeyInterval = rekeyInterval }
            .ConnectAsync(new Uri("test-loopback://meet.example.org/m/1"), "Ratssaal", false, CancellationToken.None);

    [Fact]
    public async Task A_rekey_moves_both_members_to_a_new_epoch_and_a_new_code_they_agree_on()
    {
        await using var session = await JoinAsync(TimeProvider.System, TimeSpan.Zero);
        var before = session.SecurityCode;
        var changed = 0;
        session.Changed += (_, _) => changed++;

        session.Rekey();

        Assert.Equal(2ul, session.Epoch);
        Assert.Equal(2ul, session.PeerEpoch);
        Assert.NotEqual(before, session.SecurityCode);
        Assert.Equal(session.PeerSecurityCode, session.SecurityCode);
        Assert.Equal(1, session.Rekeys);
        Assert.Equal(1, changed);
    }

    private static ulong Kid(byte[] sframe) => Room.Crypto.SFrame.SFrameHeader.Decode(sframe, out _).KeyId;

    [Fact]
    public async Task Media_keys_follow_the_rekey_after_the_send_delay_and_the_last_epochs_frames_still_open()
    {
        var time = new FakeTimeProvider();
        await using var session = await JoinAsync(time, TimeSpan.Zero);
        var keys = session.Keys!;
        var keyframeAsked = 0;
        keys.Send.KeyframeNeeded += (_, _) => keyframeAsked++;
        byte[] frame = [1, 2, 3, 4, 5, 6, 7, 8];
        var old = new byte[64];
        var oldLength = keys.Send.Encrypt(default, frame, old);

        session.Rekey();

        // While the peer may still be processing the commit, the room sends with the old key.
        var during = new byte[64];
        keys.Send.Encrypt(default, frame, during);
        Assert.Equal(Kid(old), Kid(during)); // same KID: same epoch
        Assert.Equal(0, keyframeAsked);

        time.Advance(LoopbackTransport.Session.SendSwitchDelay);
        var fresh = new byte[64];
        var freshLength = keys.Send.Encrypt(default, frame, fresh);
        Assert.NotEqual(Kid(old), Kid(fresh)); // the SFrame header's KID carries the new epoch
        Assert.Equal(1, keyframeAsked);
        Assert.True(keys.Send.KeyframeRequired);
        var plain = new byte[64];
        Assert.Equal(frame, plain.AsSpan(0, keys.Receive.Decrypt(default, fresh.AsSpan(0, freshLength), plain)).ToArray());
        Assert.Equal(frame, plain.AsSpan(0, keys.Receive.Decrypt(default, old.AsSpan(0, oldLength), plain)).ToArray());
    }

    [Fact]
    public async Task The_room_rekeys_on_its_interval_and_stops_when_the_call_ends()
    {
        var time = new FakeTimeProvider();
        var session = await JoinAsync(time, TimeSpan.FromMinutes(10));
        time.Advance(TimeSpan.FromMinutes(9));
        Assert.Equal(0, session.Rekeys);
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, session.Rekeys);
        time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(2, session.Rekeys);
        Assert.Equal(3ul, session.PeerEpoch);

        await session.DisposeAsync();
        time.Advance(TimeSpan.FromMinutes(30));
        Assert.Equal(2, session.Rekeys);
    }

    [Fact]
    public async Task Interval_zero_never_rekeys()
    {
        var time = new FakeTimeProvider();
        await using var session = await JoinAsync(time, TimeSpan.Zero);
        time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(0, session.Rekeys);
        Assert.Equal(1ul, session.Epoch);
    }

    [Fact]
    public async Task Rekeying_after_the_call_ended_is_refused_not_a_crash()
    {
        var session = await JoinAsync(TimeProvider.System, TimeSpan.Zero);
        await session.DisposeAsync();
        Assert.Throws<ObjectDisposedException>(session.Rekey);
    }

    [GeneratedRegex(@"rekeys (\d+) \(epoch (\d+)\), keyframe within 1 frames after (\d+), later after (\d+), awaited (\d), longest wait (\d+) frames")]
    private static partial Regex RekeyLine();

    [GeneratedRegex(@"video (\d+) frames decoded, (\d+) packets rejected by SFrame")]
    private static partial Regex ReceivedLine();

    [Fact]
    public async Task In_a_call_every_rekey_is_followed_by_a_keyframe_and_the_picture_keeps_decoding()
    {
        var dir = Directory.CreateTempSubdirectory("room-rekey-").FullName;
        var devices = new SimulatedDeviceProvider();
        using var framing = new FramingSupport(NullLogger<FramingSupport>.Instance);
        var options = Options.Create(new RoomOptions { StateDirectory = dir });
        var transport = new LoopbackTransport(TimeProvider.System) { JoinDelay = TimeSpan.Zero, RekeyInterval = TimeSpan.FromSeconds(1) };
        await using var meeting = new MeetingService(transport, devices, options, TimeProvider.System, NullLogger<MeetingService>.Instance);
        using var cameras = new CameraService(devices, new PresetStore(options, NullLogger<PresetStore>.Instance), framing, options, NullLogger<CameraService>.Instance);
        using var media = new LoopbackMedia(meeting, cameras, devices, NullLogger<LoopbackMedia>.Instance);
        try
        {
            await media.StartAsync(CancellationToken.None);
            await meeting.JoinAsync("test-loopback://meet.example.org/m/1");

            // Wait (no timing asserted) for three rekeys, then for the picture to go on after the last one.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            Match rekey;
            while (!(rekey = RekeyLine().Match(media.CallStatistics ?? "")).Success || int.Parse(rekey.Groups[1].Value) < 3)
            {
                Assert.True(DateTime.UtcNow < deadline, "three rekeys never happened; report: " + media.CallStatistics);
                await Task.Delay(50);
            }

            var decodedAtRekey = long.Parse(ReceivedLine().Match(media.CallStatistics!).Groups[1].Value);
            Match received;
            while ((received = ReceivedLine().Match(media.CallStatistics ?? "")).Success && long.Parse(received.Groups[1].Value) < decodedAtRekey + 10)
            {
                Assert.True(DateTime.UtcNow < deadline, "the picture stopped decoding after a rekey; report: " + media.CallStatistics);
                await Task.Delay(50);
            }

            var report = media.CallStatistics!;
            output.WriteLine(report);
            rekey = RekeyLine().Match(report);
            int rekeys = int.Parse(rekey.Groups[1].Value), forced = int.Parse(rekey.Groups[3].Value), late = int.Parse(rekey.Groups[4].Value), awaited = int.Parse(rekey.Groups[5].Value);
            Assert.True(late == 0, "a rekey's keyframe came late: " + report);
            Assert.Equal(rekeys, forced + awaited);
            Assert.True(forced >= 2, report);
            Assert.Equal("0", ReceivedLine().Match(report).Groups[2].Value);
            // Joined at epoch 1, one epoch per rekey; a rekey overtaken by the next within the send delay switches once for both.
            Assert.True(ulong.Parse(rekey.Groups[2].Value) >= (ulong)rekeys + 1, report);
        }
        finally
        {
            await media.StopAsync(CancellationToken.None);
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Roomd_announces_each_new_security_code_over_the_bus_and_reports_the_rekeys()
    {
        using var bus = new PrivateBus();
        await using var roomd = await RoomdProcess.StartAsync(bus.Address, Path.Combine(bus.Directory, "state"), "--Room:RekeySeconds", "2");
        using var client = await RoomBusClient.ConnectAsync(bus.Address);
        var codes = new List<string>();
        var gate = new Lock();
        using var watch = await client.WatchAsync((iface, changed) =>
        {
            if (iface == BusNames.Meeting && changed.TryGetValue("SecurityCode", out var code) && code.GetString().Length > 0)
            {
                lock (gate)
                {
                    codes.Add(code.GetString());
                }
            }
        });

        await client.JoinAsync("test-loopback://rathaus.example/ratssaal");
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            lock (gate)
            {
                if (codes.Distinct().Count() >= 3)
                {
                    break;
                }
            }

            Assert.True(DateTime.UtcNow < deadline, "roomd never announced two rekeys; log:\n" + roomd.Log);
            await Task.Delay(100);
        }

        var status = await client.GetStatusAsync();
        Assert.Equal(MeetingStates.InCall, status.Meeting.State);
        lock (gate)
        {
            Assert.Contains(status.Meeting.SecurityCode, codes); // the property read equals a code that was announced
        }

        // The media report counts send-key switches, which follow each rekey after the send delay.
        string report;
        Match rekey;
        while (!(rekey = RekeyLine().Match(report = await client.GetMediaReportAsync())).Success || int.Parse(rekey.Groups[1].Value) < 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "roomd's media never switched keys twice; report:\n" + report);
            await Task.Delay(100);
        }

        output.WriteLine(report);
        Assert.Equal("0", rekey.Groups[4].Value); // none late
        Assert.Equal("0", ReceivedLine().Match(report).Groups[2].Value); // nothing rejected by SFrame across the rekeys
        await client.LeaveAsync();
        Assert.False(roomd.HasExited);
    }
}
