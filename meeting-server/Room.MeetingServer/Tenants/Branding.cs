using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Room.MeetingServer.Tenants;

/// <summary>
/// What a tenant looks like: its name, its colours (the web client's header and buttons, both under white text) and a
/// logo. Every value from outside is checked here; a refusal says why.
/// </summary>
public static partial class Branding
{
    public const string DefaultSlug = "default";
    public const string DefaultPrimary = "#14202b";
    public const string DefaultAccent = "#0b5cad";
    public const int MaxDisplayName = 64;
    public const int MaxLogoBytes = 256 * 1024;
    public const int MaxLogoSide = 2048;

    [GeneratedRegex("^[a-z][a-z0-9-]{1,31}$")]
    private static partial Regex SlugPattern();

    [GeneratedRegex("^#[0-9a-f]{6}$")]
    private static partial Regex ColorPattern();

    /// <summary>A tenant's short name in paths (<c>/t/SLUG/</c>): 2-32 of a-z 0-9 -, starting with a letter; "default" is the default tenant's.</summary>
    public static string CheckSlug(string? slug) =>
        slug is not null && SlugPattern().IsMatch(slug) && slug != DefaultSlug && slug != "operator"
            ? slug
            : throw new RefusedException(Refusal.Malformed, "a tenant's short name is 2-32 of a-z 0-9 - starting with a letter (not 'default' or 'operator')");

    /// <summary>
    /// The entity tag of a tenant's branding as clients get it (name, colours, logo): a new one on every change, so a
    /// room that keeps the branding learns from any answer (<c>Room-Branding</c>) that it should fetch it again.
    /// </summary>
    public static string Tag(string? displayName, string primary, string accent, byte[]? logo, string? logoType)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        h.AppendData(Encoding.UTF8.GetBytes(string.Join('\n', displayName ?? "\u0000", primary, accent, logoType ?? "")));
        h.AppendData(logo ?? []);
        return "\"" + Convert.ToHexStringLower(h.GetHashAndReset().AsSpan(0, 12)) + "\"";
    }

    public static bool IsSlug(string? slug) => slug is not null && SlugPattern().IsMatch(slug);

    public static string CheckDisplayName(string? name)
    {
        string n = (name ?? "").Trim();
        return n.Length is 0 or > MaxDisplayName || n.Any(char.IsControl)
            ? throw new RefusedException(Refusal.Malformed, $"a tenant's name is 1-{MaxDisplayName} characters, no control characters")
            : n;
    }

    /// <summary>
    /// A colour as <c>#rrggbb</c> (lower case) on which white text keeps a contrast of at least 4.5:1 (WCAG AA): the
    /// client writes white on both colours, so a lighter colour would make it unreadable and is refused.
    /// </summary>
    public static string CheckColor(string? color, string what)
    {
        string c = (color ?? "").Trim().ToLowerInvariant();
        if (!ColorPattern().IsMatch(c))
        {
            throw new RefusedException(Refusal.Malformed, $"{what} is a colour as #rrggbb");
        }

        double ratio = ContrastWithWhite(c);
        return ratio >= 4.5 ? c : throw new RefusedException(Refusal.Malformed,
            $"{what} {c} is too light for white text (contrast {ratio.ToString("0.00", CultureInfo.InvariantCulture)}:1, at least 4.5:1 needed)");
    }

    public static double ContrastWithWhite(string hex)
    {
        static double Channel(int v)
        {
            double s = v / 255.0;
            return s <= 0.03928 ? s / 12.92 : Math.Pow((s + 0.055) / 1.055, 2.4);
        }

        int rgb = int.Parse(hex.AsSpan(1), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        double l = (0.2126 * Channel((rgb >> 16) & 255)) + (0.7152 * Channel((rgb >> 8) & 255)) + (0.0722 * Channel(rgb & 255));
        return 1.05 / (l + 0.05);
    }

    /// <summary>
    /// The logo's content type if it is a PNG or JPEG image (by its bytes, which must agree with the declared type), at most
    /// <see cref="MaxLogoBytes"/> and <see cref="MaxLogoSide"/> pixels a side. SVG (which can carry script) and anything else are refused.
    /// </summary>
    public static string CheckLogo(ReadOnlySpan<byte> data, string? declaredType)
    {
        string declared = (declaredType ?? "").Split(';')[0].Trim().ToLowerInvariant();
        if (data.Length == 0)
        {
            throw new RefusedException(Refusal.Malformed, "the logo is empty");
        }

        if (data.Length > MaxLogoBytes)
        {
            throw new RefusedException(Refusal.Malformed, $"the logo is larger than {MaxLogoBytes / 1024} KiB");
        }

        string? actual = null;
        int width = 0, height = 0;
        ReadOnlySpan<byte> png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
        if (data.Length >= 33 && data[..8].SequenceEqual(png) && data.Slice(12, 4).SequenceEqual("IHDR"u8))
        {
            actual = "image/png";
            width = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(data.Slice(16, 4)), int.MaxValue);
            height = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(data.Slice(20, 4)), int.MaxValue);
        }
        else if (data.Length >= 4 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        {
            actual = "image/jpeg";
            (width, height) = JpegSize(data);
        }

        if (actual is null)
        {
            throw new RefusedException(Refusal.Malformed, "the logo is not a PNG or JPEG image");
        }

        if (declared != actual)
        {
            throw new RefusedException(Refusal.Malformed, $"the logo is {actual} but was sent as '{declared}'");
        }

        if (width is <= 0 or > MaxLogoSide || height is <= 0 or > MaxLogoSide)
        {
            throw new RefusedException(Refusal.Malformed, $"the logo must be 1-{MaxLogoSide} pixels a side (it says {width}x{height})");
        }

        return actual;
    }

    /// <summary>Width and height from a JPEG's first start-of-frame marker; (0, 0) when there is none.</summary>
    private static (int Width, int Height) JpegSize(ReadOnlySpan<byte> d)
    {
        int i = 2;
        while (i + 4 <= d.Length)
        {
            if (d[i] != 0xFF)
            {
                return (0, 0);
            }

            byte marker = d[i + 1];
            if (marker == 0xFF)
            {
                i++;
                continue;
            }

            int len = BinaryPrimitives.ReadUInt16BigEndian(d.Slice(i + 2, 2));
            if (len < 2)
            {
                return (0, 0);
            }

            if (marker is >= 0xC0 and <= 0xCF and not 0xC4 and not 0xC8 and not 0xCC)
            {
                return i + 9 <= d.Length ? (BinaryPrimitives.ReadUInt16BigEndian(d.Slice(i + 7, 2)), BinaryPrimitives.ReadUInt16BigEndian(d.Slice(i + 5, 2))) : (0, 0);
            }

            i += 2 + len;
        }

        return (0, 0);
    }
}
