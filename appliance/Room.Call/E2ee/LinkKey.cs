using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Room.Call.E2ee;

/// <summary>
/// <b>Interim keying for bare-Janus meetings</b> (no meeting-server, no MLS delivery service yet): a 32-byte meeting
/// secret carried in the meeting link's fragment, <c>janus://host:8188/1234#k=&lt;base64url&gt;</c>. Fragments never
/// reach a server, so the SFU sees ciphertext only; everyone holding the link can read the media. Derivations
/// (HKDF-SHA256, all labelled):
/// <list type="bullet">
/// <item><c>root = HKDF-Extract(salt = "Room link key v1", ikm = secret)</c></item>
/// <item>SFrame base key of the sender with KID k: <c>HKDF-Expand(root, "Room link SFrame base key" || k as uint64 big-endian, 32)</c>,
/// then RFC 9605's own key/salt derivation for AES_128_GCM_SHA256_128</item>
/// <item>security code: <c>HKDF-Expand(root, "Room link security code", 60)</c>, 12 groups of 5 digits (each 5-byte chunk
/// big-endian mod 100000), the format of the MLS security code</item>
/// </list>
/// The intended keying is MLS through the meeting-server (SFrame keys from the exporter); this class is not that.
/// Browser participants derive the same in JavaScript (<c>web/room-link-e2ee.js</c>).
/// </summary>
public sealed class LinkKey : ISFrameKeySource, IDisposable
{
    public const int SecretSize = 32;
    public const string FragmentParameter = "k";
    private static readonly byte[] Salt = Encoding.ASCII.GetBytes("Room link key v1");
    private static readonly byte[] BaseKeyLabel = Encoding.ASCII.GetBytes("Room link SFrame base key");
    private static readonly byte[] CodeLabel = Encoding.ASCII.GetBytes("Room link security code");
    private readonly byte[] _root = new byte[32];

    private LinkKey(ReadOnlySpan<byte> secret)
    {
        HKDF.Extract(HashAlgorithmName.SHA256, secret, Salt, _root);
        SecurityCode = ComputeSecurityCode();
    }

    /// <summary>12 groups of 5 digits that every holder of the link computes alike.</summary>
    public string SecurityCode { get; }

    /// <summary>From the 32-byte secret.</summary>
    public static LinkKey FromSecret(ReadOnlySpan<byte> secret)
    {
        if (secret.Length != SecretSize) throw new FormatException($"the meeting key must be {SecretSize} bytes");
        return new LinkKey(secret);
    }

    /// <summary>A fresh random secret as it goes in a link (<c>k=</c> value).</summary>
    public static string NewSecretText() => Base64Url(RandomNumberGenerator.GetBytes(SecretSize));

    /// <summary>
    /// The key in a link's fragment (<c>#k=...</c>, other <c>&amp;</c>-separated parameters ignored); null when the
    /// fragment has none. A <c>k</c> that is not base64url of 32 bytes is a <see cref="FormatException"/>.
    /// </summary>
    public static LinkKey? FromFragment(string? fragment)
    {
        if (string.IsNullOrEmpty(fragment)) return null;
        var text = fragment.StartsWith('#') ? fragment[1..] : fragment;
        string? value = null;
        foreach (var part in text.Split('&'))
        {
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0 && part.AsSpan(0, eq).SequenceEqual(FragmentParameter))
            {
                if (value is not null) throw new FormatException("the meeting link carries more than one key");
                value = part[(eq + 1)..];
            }
        }

        if (value is null) return null;
        var secret = DecodeBase64Url(value) ?? throw new FormatException("the meeting key is not base64url");
        try
        {
            return FromSecret(secret);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
        }
    }

    /// <summary>The SFrame base key of the sender with KID <paramref name="keyId"/> (32 bytes).</summary>
    public int BaseKey(ulong keyId, Span<byte> baseKey)
    {
        if (baseKey.Length < 32) return 0;
        Span<byte> info = stackalloc byte[BaseKeyLabel.Length + 8];
        BaseKeyLabel.CopyTo(info);
        BinaryPrimitives.WriteUInt64BigEndian(info[BaseKeyLabel.Length..], keyId);
        HKDF.Expand(HashAlgorithmName.SHA256, _root, baseKey[..32], info);
        return 32;
    }

    /// <summary>An encryptor for this room's stream with KID <paramref name="keyId"/>.</summary>
    public SFrameEncryptor CreateEncryptor(FrameKind kind, ulong keyId)
    {
        Span<byte> key = stackalloc byte[32];
        BaseKey(keyId, key);
        var e = new SFrameEncryptor(kind, keyId, key);
        CryptographicOperations.ZeroMemory(key);
        return e;
    }

    /// <summary>A decryptor that accepts every sender keyed from this link.</summary>
    public SFrameDecryptor CreateDecryptor(FrameKind kind) => new(kind, this);

    /// <summary>
    /// A random KID for one of our streams: 48 bits (exact in JavaScript numbers too), at least 8 (never an in-line
    /// KID), unlikely to meet another participant's.
    /// </summary>
    public static ulong NewKeyId() => (ulong)RandomNumberGenerator.GetInt32(1 << 16) << 32 | (uint)RandomNumberGenerator.GetInt32(int.MaxValue) | 8;

    private string ComputeSecurityCode()
    {
        Span<byte> bytes = stackalloc byte[60];
        HKDF.Expand(HashAlgorithmName.SHA256, _root, bytes, CodeLabel);
        var parts = new string[12];
        for (int g = 0; g < 12; g++)
        {
            ulong v = 0;
            for (int i = 0; i < 5; i++) v = (v << 8) | bytes[g * 5 + i];
            parts[g] = (v % 100000).ToString("D5", CultureInfo.InvariantCulture);
        }

        return string.Join(' ', parts);
    }

    internal static string Base64Url(ReadOnlySpan<byte> bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    internal static byte[]? DecodeBase64Url(string text)
    {
        if (text.Length > 64) return null;
        foreach (char c in text)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '=')) return null;
        }

        var b64 = text.TrimEnd('=').Replace('-', '+').Replace('_', '/');
        b64 += (b64.Length % 4) switch { 2 => "==", 3 => "=", 0 => "", _ => "!" };
        try
        {
            return Convert.FromBase64String(b64);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    public void Dispose() => CryptographicOperations.ZeroMemory(_root);
}
