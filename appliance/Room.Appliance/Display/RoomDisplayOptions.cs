using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Room.Media.Display;

namespace Room.Appliance.Display;

/// <summary>The room's display (section "Display" of room.json): which DRM card roomd drives and how the meeting is laid out.</summary>
public sealed class RoomDisplayOptions
{
    public const string Section = "Display";

    /// <summary>The DRM card to drive ("/dev/dri/card0"); empty: this room has no display roomd drives.</summary>
    [RegularExpression("^(/dev/[A-Za-z0-9/_.-]+)?$", ErrorMessage = "Display:Device must be a device path such as /dev/dri/card0, or empty for no room display.")]
    public string Device { get; set; } = "";

    /// <summary>The connector ("HDMI-A-1", "Virtual-1"); empty: the first with a screen connected.</summary>
    [RegularExpression("^[A-Za-z0-9-]*$", ErrorMessage = "Display:Connector must be a connector name such as HDMI-A-1.")]
    public string Connector { get; set; } = "";

    /// <summary>How the meeting is laid out: ActiveSpeaker, Gallery or ContentAndPeople.</summary>
    [EnumDataType(typeof(DisplayLayout), ErrorMessage = "Display:Layout must be ActiveSpeaker, Gallery or ContentAndPeople.")]
    public DisplayLayout Layout { get; set; } = DisplayLayout.Gallery;

    /// <summary>Frames composed per second at most (a new far-end picture is shown at the next one).</summary>
    [Range(1, 60)]
    public int MaxFramesPerSecond { get; set; } = 30;

    /// <summary>Seconds between attempts to open the display again when it is missing or failed.</summary>
    [Range(1, 3600)]
    public int RetrySeconds { get; set; } = 5;
}

public static class RoomDisplayRegistration
{
    /// <summary>The room display: options from <paramref name="section"/> (checked at start) and the service that drives it.</summary>
    public static IServiceCollection AddRoomDisplay(this IServiceCollection services, IConfiguration section)
    {
        services.AddOptions<RoomDisplayOptions>().Bind(section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<RoomDisplay>();
        services.AddHostedService(sp => sp.GetRequiredService<RoomDisplay>());
        return services;
    }
}
