using System.Buffers.Binary;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Room.MeetingClient;

/// <summary>
/// The branding of the tenant (municipality) a box is enrolled with, as its meeting server hands it out
/// (<c>GET api/branding</c>, <c>GET api/branding/logo</c>): name, header and accent colours (<c>#rrggbb</c>) and a PNG or
/// JPEG logo. Fetched at enrolment and kept in the key folder (<c>branding.json</c>, <c>branding-logo</c>), each file
/// written whole (a new file renamed into place), so a reader never sees half of one. What the server sends is checked
/// again here: a box shows nothing it has not checked. <see cref="Tag"/> is the server's entity tag of that branding:
/// every answer to the box names the current one (<see cref="MeetingServerClient.BrandingTag"/>), and
/// <see cref="RefreshAsync"/> fetches the branding again when it is not the kept one's.
/// </summary>
public sealed partial record TenantBranding(string Tenant, string? DisplayName, string PrimaryColor, string AccentColor, string? LogoType, string? Tag = null)
{
    public const string File = "branding.json";
    public const string LogoFile = "branding-logo";
    public const int MaxLogoBytes = 256 * 1024;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    [GeneratedRegex("^#[0-9a-f]{6}$")]
    private static partial Regex ColorPattern();

    private sealed record Answer(string? Tenant, string? DisplayName, string? PrimaryColor, string? AccentColor, bool Logo);

    /// <summary>Asks the server (with this box's client) for its tenant's branding and logo; malformed answers are refused.</summary>
    public static async Task<(TenantBranding Branding, byte[]? Logo)> FetchAsync(MeetingServerClient client, CancellationToken ct = default)
    {
        var a = await client.SendAsync<Answer>(HttpMethod.Get, "api/branding", null, ct).ConfigureAwait(false);
        if (a.Tenant is null || a.Tenant.Length > 32 || a.PrimaryColor is null || !ColorPattern().IsMatch(a.PrimaryColor) || a.AccentColor is null
            || !ColorPattern().IsMatch(a.AccentColor) || a.DisplayName is { Length: 0 or > 64 } || (a.DisplayName?.Any(char.IsControl) ?? false))
        {
            throw new MeetingServerException("malformed", "the server's branding is malformed", 0, null);
        }

        string? tag = client.BrandingTag;
        byte[]? logo = null;
        string? type = null;
        if (a.Logo)
        {
            logo = await client.GetBytesAsync("api/branding/logo", MaxLogoBytes, ct).ConfigureAwait(false);
            type = ImageType(logo) ?? throw new MeetingServerException("malformed", "the server's logo is no PNG or JPEG image", 0, null);
        }

        return (new TenantBranding(a.Tenant, a.DisplayName, a.PrimaryColor, a.AccentColor, type, tag), logo);
    }

    /// <summary>
    /// Fetches the branding again and keeps it in <paramref name="folder"/> when the server's current tag (from the
    /// client's last answer) is not the kept branding's; true when it did. A box that keeps no branding (enrolled
    /// without) is left so. Nothing changes on a refusal.
    /// </summary>
    public static async Task<bool> RefreshAsync(MeetingServerClient client, string folder, CancellationToken ct = default)
    {
        if (client.BrandingTag is not { } current || Load(folder) is not { } kept || kept.Tag == current)
        {
            return false;
        }

        var (branding, logo) = await FetchAsync(client, ct).ConfigureAwait(false);
        branding.Save(folder, logo);
        return true;
    }

    /// <summary>"image/png" or "image/jpeg" by the bytes, else null.</summary>
    public static string? ImageType(ReadOnlySpan<byte> b) =>
        b.Length >= 24 && b[..8].SequenceEqual((ReadOnlySpan<byte>)[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) && b.Slice(12, 4).SequenceEqual("IHDR"u8)
            && BinaryPrimitives.ReadUInt32BigEndian(b.Slice(16, 4)) is > 0 and <= 4096 ? "image/png"
        : b.Length >= 4 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF ? "image/jpeg"
        : null;

    /// <summary>Writes the branding (and logo, or removes an old one) into <paramref name="folder"/>, each file whole.</summary>
    public void Save(string folder, byte[]? logo)
    {
        string logoPath = Path.Combine(folder, LogoFile);
        if (logo is null)
        {
            System.IO.File.Delete(logoPath);
        }
        else
        {
            WriteWhole(logoPath, logo);
        }

        WriteWhole(Path.Combine(folder, File), JsonSerializer.SerializeToUtf8Bytes(this, Json));
    }

    /// <summary>The stored branding, or null when there is none or it is unreadable.</summary>
    public static TenantBranding? Load(string folder)
    {
        try
        {
            var b = JsonSerializer.Deserialize<TenantBranding>(System.IO.File.ReadAllBytes(Path.Combine(folder, File)), Json);
            return b is not null && ColorPattern().IsMatch(b.PrimaryColor ?? "") && ColorPattern().IsMatch(b.AccentColor ?? "") ? b : null;
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static void WriteWhole(string path, byte[] data)
    {
        string tmp = path + ".new";
        System.IO.File.WriteAllBytes(tmp, data);
        System.IO.File.Move(tmp, path, overwrite: true);
    }
}
