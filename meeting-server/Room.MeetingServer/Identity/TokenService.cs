using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Room.MeetingServer.Identity;

/// <summary>
/// Bearer tokens for people after sign-in: base64url(JSON {sub, adm, exp}) "." base64url(HMAC-SHA256), keyed by a
/// random key in the data directory (mode 0600). Devices do not need them: they present their certificate (mutual TLS).
/// </summary>
public sealed class TokenService
{
    private readonly byte[] _key;
    private readonly TimeProvider _time;
    private readonly TimeSpan _lifetime;

    private sealed record Payload(string Sub, bool Adm, long Exp);

    public TokenService(IOptions<MeetingServerOptions> options, TimeProvider time)
        : this(options.Value.DataDirectory, TimeSpan.FromSeconds(options.Value.TokenLifetimeSeconds), time)
    {
    }

    /// <summary>Tokens signed with the key in <paramref name="keyDirectory"/> (token.key, made on first use, owner-only).</summary>
    public TokenService(string keyDirectory, TimeSpan lifetime, TimeProvider time)
    {
        _time = time;
        _lifetime = lifetime;
        string path = Path.Combine(keyDirectory, "token.key");
        Directory.CreateDirectory(keyDirectory);
        if (!File.Exists(path))
        {
            using var f = new FileStream(path, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite });
            f.Write(RandomNumberGenerator.GetBytes(32));
        }

        _key = File.ReadAllBytes(path);
    }

    public string Issue(string identity, bool admin, TimeSpan? lifetime = null)
    {
        long exp = _time.GetUtcNow().ToUnixTimeSeconds() + (long)(lifetime ?? _lifetime).TotalSeconds;
        byte[] payload = JsonSerializer.SerializeToUtf8Bytes(new Payload(identity, admin, exp));
        return OrganisationCa.Base64Url(payload) + "." + OrganisationCa.Base64Url(HMACSHA256.HashData(_key, payload));
    }

    /// <summary>The token's identity and admin flag, or null if it is malformed, forged or expired.</summary>
    public (string Identity, bool Admin)? Check(string token)
    {
        int dot = token.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || token.Length > 4096)
        {
            return null;
        }

        byte[]? payload = FromBase64Url(token[..dot]), mac = FromBase64Url(token[(dot + 1)..]);
        if (payload is null || mac is null || !CryptographicOperations.FixedTimeEquals(HMACSHA256.HashData(_key, payload), mac))
        {
            return null;
        }

        try
        {
            var p = JsonSerializer.Deserialize<Payload>(payload);
            return p is null || p.Exp <= _time.GetUtcNow().ToUnixTimeSeconds() || !(Identities.IsValid(p.Sub) || Identities.IsGuest(p.Sub)) ? null : (p.Sub, p.Adm);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static byte[]? FromBase64Url(string s)
    {
        string b = s.Replace('-', '+').Replace('_', '/');
        b = b.PadRight(b.Length + ((4 - (b.Length % 4)) % 4), '=');
        try
        {
            return Convert.FromBase64String(b);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    internal static string Encode(string s) => OrganisationCa.Base64Url(Encoding.UTF8.GetBytes(s));
}
