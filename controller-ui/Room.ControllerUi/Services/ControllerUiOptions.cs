using System.Text.RegularExpressions;

namespace Room.ControllerUi.Services;

/// <summary>The panel's configuration, bound from the "ControllerUi" section.</summary>
public sealed class ControllerUiOptions
{
    public const string Section = "ControllerUi";

    /// <summary>D-Bus address of roomd's bus; null means ROOM_BUS_ADDRESS, else the system bus.</summary>
    public string? BusAddress { get; set; }

    /// <summary>Language the panel starts in: "de" (default) or "en".</summary>
    public string Language { get; set; } = "de";

    /// <summary>Opened settings lock again after this many seconds without a touch (at least 10).</summary>
    public int SettingsTimeoutSeconds { get; set; } = 120;

    public BrandOptions Brand { get; set; } = new();

    /// <summary>
    /// Local users (names or uids) whose programs may connect to the panel: the kiosk's. Empty: only the panel's own
    /// user. Everyone else, and every other machine, is refused at the connection.
    /// </summary>
    public List<string> AllowedUsers { get; set; } = [];
}

/// <summary>White-label settings: the operator's name, logo and colours.</summary>
public sealed partial class BrandOptions
{
    public string Name { get; set; } = "Room";

    /// <summary>Path of an SVG or PNG file on disk; served at /brand/logo. Empty: a monogram is shown.</summary>
    public string? LogoPath { get; set; }

    /// <summary>Main colour as #rgb or #rrggbb.</summary>
    public string PrimaryColor { get; set; } = "#1f5fbf";

    /// <summary>The colour of text on the main colour, as #rgb or #rrggbb.</summary>
    public string OnPrimaryColor { get; set; } = "#ffffff";

    /// <summary>The colour, or the fallback when it is not a plain hex colour (nothing else reaches the CSS).</summary>
    public static string SafeColor(string? value, string fallback) =>
        value is not null && HexColor().IsMatch(value) ? value : fallback;

    [GeneratedRegex("^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")]
    private static partial Regex HexColor();
}
