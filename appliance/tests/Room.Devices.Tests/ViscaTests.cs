using Microsoft.Extensions.Time.Testing;
using System.Net;
using Room.Devices.Visca;

namespace Room.Devices.Tests;

public class ViscaProtocolTests
{
    [Fact]
    public void Datagram_round_trips_header_fields()
    {
        var buf = new byte[32];
        var n = ViscaProtocol.Write(buf, ViscaPayloadType.Command, 0x01020304, [0x81, 0x01, 0x06, 0x04, 0xFF]);
        Assert.Equal(13, n);
        Assert.True(ViscaProtocol.TryParseDatagram(buf.AsSpan(0, n), out var type, out var seq, out var payload));
        Assert.Equal(ViscaPayloadType.Command, type);
        Assert.Equal(0x01020304u, seq);
        Assert.Equal([0x81, 0x01, 0x06, 0x04, 0xFF], payload.ToArray());
    }

    [Theory]
    [InlineData("")]
    [InlineData("0111000300000001")] // header only
    [InlineData("01110005000000019041FF")] // length says 5, has 3
    [InlineData("01110002000000019041FF")] // length says 2, has 3
    [InlineData("0111000000000001")]
    [InlineData("011100FF0000000190")]
    public void Malformed_datagrams_are_rejected(string hex) =>
        Assert.False(ViscaProtocol.TryParseDatagram(Convert.FromHexString(hex), out _, out _, out _));

    [Theory]
    [InlineData("9041FF", ViscaReplyKind.Ack)]
    [InlineData("9051FF", ViscaReplyKind.Completion)]
    [InlineData("905002FF", ViscaReplyKind.Completion)]
    [InlineData("906141FF", ViscaReplyKind.Error)]
    public void Replies_are_classified(string hex, ViscaReplyKind kind)
    {
        Assert.True(ViscaProtocol.TryParseReply(Convert.FromHexString(hex), out var r));
        Assert.Equal(kind, r.Kind);
    }

    [Theory]
    [InlineData("")]
    [InlineData("90FF")]
    [InlineData("9041")] // no terminator
    [InlineData("8041FF")] // address 0
    [InlineData("1041FF")] // not a reply address
    [InlineData("904100FF")] // ACK with data
    [InlineData("9060FF")] // error without code
    [InlineData("9070FF")] // unknown reply type
    [InlineData("90FF50FF")] // embedded terminator
    public void Malformed_replies_are_rejected(string hex) =>
        Assert.False(ViscaProtocol.TryParseReply(Convert.FromHexString(hex), out _));

    [Fact]
    public void Nibbles_reject_bytes_above_0x0f()
    {
        Assert.True(ViscaProtocol.TryReadNibbles([0x0F, 0x06, 0x07, 0x00], 4, out var v));
        Assert.Equal(-2448, ViscaProtocol.ToSigned16(v));
        Assert.False(ViscaProtocol.TryReadNibbles([0x1F, 0x06, 0x07, 0x00], 4, out _));
        Assert.False(ViscaProtocol.TryReadNibbles([0x01, 0x02], 4, out _));
    }
}

public class ViscaCameraTests
{
    private static ViscaCamera Camera(SimulatedViscaServer server, int retries = 2, int timeoutMs = 300) => new(new ViscaCameraOptions
    {
        Id = "visca:test",
        Endpoint = server.Endpoint,
        ReplyTimeout = TimeSpan.FromMilliseconds(timeoutMs),
        CompletionTimeout = TimeSpan.FromSeconds(2),
        Retries = retries,
    });

    [Fact]
    public async Task Absolute_move_reaches_the_camera_in_position_units_and_reads_back_in_degrees()
    {
        await using var server = new SimulatedViscaServer();
        using var cam = Camera(server);
        await cam.MoveToAsync(new PtzPosition(-100, 20, 0.5));
        Assert.Equal(-1440, server.PanUnits);
        Assert.Equal(288, server.TiltUnits);
        Assert.Equal(0x2000, server.ZoomUnits);
        var p = await cam.GetPositionAsync();
        Assert.Equal(-100, p.Pan, 3);
        Assert.Equal(20, p.Tilt, 3);
        Assert.Equal(0.5, p.Zoom, 3);
        Assert.Equal(DeviceHealth.Ok, cam.Describe().Health);
    }

    [Fact]
    public async Task Moves_outside_limits_are_clamped()
    {
        await using var server = new SimulatedViscaServer();
        using var cam = Camera(server);
        await cam.MoveToAsync(new PtzPosition(500, -90, 3));
        var p = await cam.GetPositionAsync();
        Assert.Equal(170, p.Pan, 1);
        Assert.Equal(-30, p.Tilt, 1);
        Assert.Equal(1, p.Zoom, 3);
    }

    [Fact]
    public async Task Drive_moves_in_the_asked_direction_and_stop_holds()
    {
        await using var server = new SimulatedViscaServer();
        using var cam = Camera(server);
        await cam.DriveAsync(1, -0.5, 1);
        Assert.True(server.PanUnits > 0);
        Assert.True(server.TiltUnits < 0);
        Assert.True(server.ZoomUnits > 0);
        var before = await cam.GetPositionAsync();
        await cam.StopAsync();
        Assert.Equal(before, await cam.GetPositionAsync());
    }

    [Fact]
    public async Task Presets_store_and_recall_positions()
    {
        await using var server = new SimulatedViscaServer();
        using var cam = Camera(server);
        await cam.MoveToAsync(new PtzPosition(30, 10, 0.25));
        await cam.StorePresetAsync(5);
        await cam.MoveToAsync(new PtzPosition(0, 0, 0));
        await cam.RecallPresetAsync(5);
        var p = await cam.GetPositionAsync();
        Assert.Equal(30, p.Pan, 1);
        Assert.Equal(0.25, p.Zoom, 3);
    }

    [Fact]
    public async Task Recalling_an_empty_preset_is_refused_without_hurting_health()
    {
        await using var server = new SimulatedViscaServer();
        using var cam = Camera(server);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await cam.RecallPresetAsync(9));
        Assert.Equal(DeviceHealth.Ok, cam.Describe().Health);
    }

    [Fact]
    public async Task Lost_datagrams_are_retried_with_the_same_sequence_number()
    {
        await using var server = new SimulatedViscaServer();
        using var cam = Camera(server, retries: 3, timeoutMs: 150);
        Assert.True(await cam.ProbeAsync());
        var executed = server.Executed;
        server.DropNext(2);
        await cam.MoveToAsync(new PtzPosition(10, 0, 0));
        Assert.Equal(144, server.PanUnits);
        Assert.Equal(executed + 2, server.Executed); // pan/tilt once, zoom once: the retransmissions executed nothing extra
        Assert.True(server.Received >= server.Executed + 2);
    }

    [Fact]
    public async Task Silent_camera_fails_health_and_throws_device_unavailable()
    {
        await using var server = new SimulatedViscaServer { Fault = ViscaServerFault.Silent };
        using var cam = Camera(server, retries: 1, timeoutMs: 80);
        await Assert.ThrowsAsync<DeviceUnavailableException>(async () => await cam.GetPositionAsync());
        Assert.Equal(DeviceHealth.Failed, cam.Describe().Health);
        Assert.False(await cam.ProbeAsync());
    }

    [Fact]
    public async Task Camera_answering_garbage_is_degraded()
    {
        await using var server = new SimulatedViscaServer { Fault = ViscaServerFault.Garbage };
        var clock = new FakeTimeProvider();
        var timeout = TimeSpan.FromMilliseconds(300);
        using var cam = new ViscaCamera(new ViscaCameraOptions { Id = "visca:test", Endpoint = server.Endpoint, ReplyTimeout = timeout, Retries = 0 }, clock);
        var position = cam.GetPositionAsync();

        // The server answers each request with one garbage datagram. The client then waits out its timeout (a good
        // reply may still follow stray datagrams): the clock moves past it only once the garbage was read, so a loaded
        // machine cannot turn the garbage into a plain timeout.
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!position.IsCompleted)
        {
            if (cam.Client.GarbageReceived > cam.Client.WaitsTimedOut)
            {
                clock.Advance(timeout);
            }

            await Task.Delay(5, bound.Token);
        }

        await Assert.ThrowsAsync<DeviceUnavailableException>(async () => await position);
        Assert.True(cam.Client.GarbageReceived >= 1);
        var info = cam.Describe();
        Assert.Equal(DeviceHealth.Degraded, info.Health);
        Assert.Contains("garbage", info.HealthDetail);
    }

    [Fact]
    public async Task Well_framed_reply_with_bad_position_data_is_degraded()
    {
        await using var server = new SimulatedViscaServer { Fault = ViscaServerFault.BadInquiryData };
        using var cam = Camera(server);
        await Assert.ThrowsAsync<DeviceUnavailableException>(async () => await cam.GetPositionAsync());
        Assert.Equal(DeviceHealth.Degraded, cam.Describe().Health);
        Assert.False(await cam.ProbeAsync());
    }

    [Fact]
    public async Task Camera_recovers_after_a_silent_period()
    {
        await using var server = new SimulatedViscaServer { Fault = ViscaServerFault.Silent };
        using var cam = Camera(server, retries: 1, timeoutMs: 300);
        Assert.False(await cam.ProbeAsync());
        server.Fault = ViscaServerFault.None;
        Assert.True(await cam.ProbeAsync());
        Assert.Equal(DeviceHealth.Ok, cam.Describe().Health);
        Assert.True(server.Resets >= 1);
    }

    [Fact]
    public async Task Nobody_listening_is_a_failure_not_a_crash()
    {
        int port;
        await using (var s = new SimulatedViscaServer())
        {
            port = s.Endpoint.Port;
        }

        using var cam = new ViscaCamera(new ViscaCameraOptions
        {
            Id = "visca:gone",
            Endpoint = new IPEndPoint(IPAddress.Loopback, port),
            ReplyTimeout = TimeSpan.FromMilliseconds(80),
            Retries = 1,
        });
        Assert.False(await cam.ProbeAsync());
        Assert.Equal(DeviceHealth.Failed, cam.Describe().Health);
        Assert.Empty(cam.Formats);
        await Assert.ThrowsAsync<NotSupportedException>(async () => await cam.OpenCaptureAsync(default));
    }

    [Theory]
    [InlineData("192.0.2.10:52381", "192.0.2.10", 52381)]
    [InlineData(" 192.0.2.10 ", "192.0.2.10", 52381)]
    [InlineData("[2001:db8::1]:1259", "2001:db8::1", 1259)]
    public void Endpoint_text_parses_with_the_visca_port_by_default(string text, string address, int port) =>
        Assert.Equal(new IPEndPoint(IPAddress.Parse(address), port), ViscaEndpointConverter.Parse(text));

    [Theory]
    [InlineData("")]
    [InlineData("camera.local")]
    [InlineData("192.0.2.10:")]
    [InlineData("192.0.2.10:0")]
    [InlineData("192.0.2.10:70000")]
    [InlineData("\u0000\u00ff")]
    public void Malformed_endpoint_text_is_a_format_error(string text) =>
        Assert.Throws<FormatException>(() => ViscaEndpointConverter.Parse(text));
}
