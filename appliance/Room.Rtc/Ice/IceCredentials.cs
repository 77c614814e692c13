using System.Security.Cryptography;
using System.Text;

namespace Room.Rtc.Ice;

/// <summary>
/// Short-term credentials (RFC 8445 5.3): our ufrag and password, renewed on an ICE restart, and the peer's. The
/// "ufrag:" prefix and key are kept as bytes so refusing a request that is not for us allocates nothing.
/// </summary>
internal sealed class IceCredentials
{
    public IceCredentials() => Renew();

    public string LocalUfrag { get; private set; } = "";
    public string LocalPassword { get; private set; } = "";
    public byte[] LocalUsernamePrefix { get; private set; } = [];
    public byte[] LocalKey { get; private set; } = [];
    public string? RemoteUfrag { get; set; }
    public string? RemotePassword { get; set; }

    /// <summary>New local ufrag and password (at start, and on an ICE restart).</summary>
    public void Renew()
    {
        LocalUfrag = Token(8);
        LocalPassword = Token(24);
        LocalUsernamePrefix = Encoding.UTF8.GetBytes(LocalUfrag + ":");
        LocalKey = Encoding.UTF8.GetBytes(LocalPassword);
    }

    private static string Token(int length)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        var bytes = RandomNumberGenerator.GetBytes(length);
        return string.Create(length, bytes, (span, b) => { for (int i = 0; i < span.Length; i++) span[i] = alphabet[b[i] & 63]; });
    }
}
