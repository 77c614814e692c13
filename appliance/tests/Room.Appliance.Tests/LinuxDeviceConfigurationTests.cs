using System.Net;
using Microsoft.Extensions.Configuration;
using Room.Devices.Linux;

namespace Room.Appliance.Tests;

/// <summary>The Linux provider's options as roomd reads them from room.json (`Devices:Linux:*`).</summary>
public sealed class LinuxDeviceConfigurationTests
{
    private static LinuxDeviceOptions Bind(string json)
    {
        using var stream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json));
        var configuration = new ConfigurationBuilder().AddJsonStream(stream).Build();
        return configuration.GetSection("Devices:Linux").Get<LinuxDeviceOptions>() ?? new LinuxDeviceOptions();
    }

    [Fact]
    public void Gpio_pins_visca_cameras_and_audio_overrides_bind_from_room_json()
    {
        var o = Bind("""
            { "Devices": { "Linux": {
                "Gpio": { "Chip": 1, "MuteButtonPin": 17, "MutedLedPin": 22, "InCallLedPin": 23, "OccupancyPin": 5,
                          "ButtonDebounce": "00:00:00.040" },
                "ViscaCameras": [ { "Id": "visca:front", "Name": "Front", "Endpoint": "192.0.2.10:52381" } ],
                "AudioChannels": { "Array": 8 },
                "IgnoredAudioCards": [ "vc4hdmi" ],
                "CecForConnector": { "HDMI-A-1": "cec0" }
            } } }
            """);

        Assert.NotNull(o.Gpio);
        Assert.Equal(1, o.Gpio.Chip);
        Assert.Equal(17, o.Gpio.MuteButtonPin);
        Assert.Equal(22, o.Gpio.MutedLedPin);
        Assert.Equal(23, o.Gpio.InCallLedPin);
        Assert.Equal(5, o.Gpio.OccupancyPin);
        Assert.Equal(TimeSpan.FromMilliseconds(40), o.Gpio.ButtonDebounce);
        var visca = Assert.Single(o.ViscaCameras);
        Assert.Equal("visca:front", visca.Id);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("192.0.2.10"), 52381), visca.Endpoint);
        Assert.Equal(8, o.AudioChannels["Array"]);
        Assert.Contains("vc4hdmi", o.IgnoredAudioCards);
        Assert.Equal("cec0", o.CecForConnector["HDMI-A-1"]);
    }

    [Fact]
    public void A_visca_address_without_port_gets_the_visca_port()
    {
        var o = Bind("""{ "Devices": { "Linux": { "ViscaCameras": [ { "Id": "visca:rear", "Endpoint": "192.0.2.11" } ] } } }""");
        Assert.Equal(new IPEndPoint(IPAddress.Parse("192.0.2.11"), 52381), Assert.Single(o.ViscaCameras).Endpoint);
    }

    [Fact]
    public void A_malformed_visca_address_binds_to_no_endpoint_so_the_camera_is_named_not_silently_dropped()
    {
        var o = Bind("""{ "Devices": { "Linux": { "ViscaCameras": [ { "Id": "visca:rear", "Endpoint": "camera.local:abc" } ] } } }""");
        var camera = Assert.Single(o.ViscaCameras);
        Assert.Equal("visca:rear", camera.Id);
        Assert.Null(camera.Endpoint);
    }
}
