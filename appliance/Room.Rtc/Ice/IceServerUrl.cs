using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Room.Rtc.Ice;

/// <summary>How we reach a TURN server (RFC 8656 3.1): UDP, TCP, or TLS over TCP. The relayed address is UDP in every case.</summary>
public enum TurnTransport { Udp, Tcp, Tls }

/// <summary>The kind of server an <see cref="IceServerUrl"/> names.</summary>
public enum IceServerScheme { Stun, Turn }

/// <summary>
/// A STUN or TURN server address as configured: <c>stun:host[:port]</c> (RFC 7064), <c>turn:host[:port][?transport=udp|tcp]</c>
/// and <c>turns:host[:port][?transport=tcp]</c> (RFC 7065). The host is a DNS name, an IPv4 address or an IPv6 address in
/// brackets; the port defaults to 3478 (5349 for turns). <c>stuns:</c>, user information and any other query are refused.
/// </summary>
public sealed record IceServerUrl(IceServerScheme Scheme, string Host, int Port, TurnTransport Transport)
{
    public const int DefaultPort = 3478, DefaultTlsPort = 5349;
    private const int MaxLength = 512;

    /// <summary>Parses <paramref name="text"/>; false with a one-line reason (no part of the input beyond the scheme echoed) if it is not usable.</summary>
    public static bool TryParse(string? text, out IceServerUrl? url, out string error)
    {
        url = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "empty";
            return false;
        }

        if (text.Length > MaxLength)
        {
            error = $"longer than {MaxLength} characters";
            return false;
        }

        int colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            error = "no scheme (stun:, turn: or turns:)";
            return false;
        }

        string scheme = text[..colon].ToLowerInvariant();
        (IceServerScheme kind, bool tls) = scheme switch
        {
            "stun" => (IceServerScheme.Stun, false),
            "turn" => (IceServerScheme.Turn, false),
            "turns" => (IceServerScheme.Turn, true),
            _ => ((IceServerScheme)(-1), false),
        };
        if ((int)kind < 0)
        {
            error = scheme == "stuns" ? "stuns: (STUN over TLS) is not supported; use stun: or turns:" : $"unknown scheme '{Printable(scheme)}' (stun:, turn: or turns:)";
            return false;
        }

        string rest = text[(colon + 1)..];
        if (rest.StartsWith("//", StringComparison.Ordinal))
        {
            error = "no '//' after the scheme (RFC 7064/7065: stun:host:port)";
            return false;
        }

        string? query = null;
        int q = rest.IndexOf('?', StringComparison.Ordinal);
        if (q >= 0)
        {
            query = rest[(q + 1)..];
            rest = rest[..q];
        }

        if (rest.Contains('@', StringComparison.Ordinal))
        {
            error = "user information in the URL is not allowed; give the username and credential file separately";
            return false;
        }

        if (!TrySplitHostPort(rest, out string host, out int port, out error)) return false;
        if (port == 0) port = tls ? DefaultTlsPort : DefaultPort;

        var transport = tls ? TurnTransport.Tls : TurnTransport.Udp;
        if (query is not null)
        {
            if (kind == IceServerScheme.Stun)
            {
                error = "stun: URLs take no query";
                return false;
            }

            const string key = "transport=";
            if (!query.StartsWith(key, StringComparison.OrdinalIgnoreCase))
            {
                error = "the only query allowed is ?transport=udp or ?transport=tcp";
                return false;
            }

            switch (query[key.Length..].ToLowerInvariant())
            {
                case "udp" when !tls:
                    transport = TurnTransport.Udp;
                    break;
                case "tcp":
                    transport = tls ? TurnTransport.Tls : TurnTransport.Tcp;
                    break;
                case "udp":
                    error = "turns: runs over TCP (DTLS to the TURN server is not supported)";
                    return false;
                default:
                    error = "transport must be udp or tcp";
                    return false;
            }
        }

        url = new IceServerUrl(kind, host, port, transport);
        error = "";
        return true;
    }

    /// <summary>Throwing form of <see cref="TryParse"/>.</summary>
    public static IceServerUrl Parse(string text) =>
        TryParse(text, out var url, out string error) ? url! : throw new RtcFormatException(RtcError.BadSyntax, "bad STUN/TURN URL: " + error);

    private static bool TrySplitHostPort(string s, out string host, out int port, out string error)
    {
        host = "";
        port = 0;
        string portText = "";
        if (s.StartsWith('['))
        {
            int close = s.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                error = "unclosed '[' in an IPv6 address";
                return false;
            }

            host = s[1..close];
            if (!IPAddress.TryParse(host, out var v6) || v6.AddressFamily != AddressFamily.InterNetworkV6)
            {
                error = "not an IPv6 address inside [ ]";
                return false;
            }

            string after = s[(close + 1)..];
            if (after.Length > 0)
            {
                if (after[0] != ':')
                {
                    error = "unexpected text after the IPv6 address";
                    return false;
                }

                portText = after[1..];
                if (portText.Length == 0)
                {
                    error = "empty port";
                    return false;
                }
            }
        }
        else
        {
            int c = s.IndexOf(':', StringComparison.Ordinal);
            if (c >= 0)
            {
                if (s.IndexOf(':', c + 1) >= 0)
                {
                    error = "an IPv6 address must be written in [ ]";
                    return false;
                }

                portText = s[(c + 1)..];
                host = s[..c];
                if (portText.Length == 0)
                {
                    error = "empty port";
                    return false;
                }
            }
            else
            {
                host = s;
            }

            if (!IsHostName(host))
            {
                error = host.Length == 0 ? "no host" : "the host is not a valid DNS name or IPv4 address";
                return false;
            }
        }

        if (portText.Length > 0 && (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
        {
            error = "the port must be a number from 1 to 65535";
            return false;
        }

        error = "";
        return true;
    }

    private static bool IsHostName(string host)
    {
        if (host.Length is 0 or > 253) return false;
        foreach (var label in host.Split('.'))
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-') return false;
            foreach (char ch in label)
            {
                if (!(char.IsAsciiLetterOrDigit(ch) || ch == '-')) return false;
            }
        }

        return true;
    }

    private static string Printable(string s) => s.Length > 16 || s.Any(c => !char.IsAsciiLetterOrDigit(c)) ? "…" : s;

    public override string ToString()
    {
        string host = Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host;
        return (Scheme, Transport) switch
        {
            (IceServerScheme.Stun, _) => $"stun:{host}:{Port}",
            (_, TurnTransport.Tls) => $"turns:{host}:{Port}",
            (_, TurnTransport.Tcp) => $"turn:{host}:{Port}?transport=tcp",
            _ => $"turn:{host}:{Port}?transport=udp",
        };
    }
}

/// <summary>
/// One TURN server to gather a relayed candidate from: where it is, how to reach it, the long-term credentials and, for
/// TLS, the name its certificate must carry and the roots it must chain to (null: the system's trust store).
/// </summary>
public sealed record TurnRelayServer(IPEndPoint EndPoint, TurnTransport Transport, string Username, string Password)
{
    /// <summary>The name the server's certificate is checked against (TLS); the SNI sent. Defaults to the endpoint's address.</summary>
    public string? ServerName { get; init; }

    /// <summary>Trust anchors for the server's certificate (TLS); null trusts the system store.</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2Collection? TrustedRoots { get; init; }

    /// <summary>The local address to reach the server from (default: any address of its family).</summary>
    public IPAddress? LocalAddress { get; init; }

    /// <summary>How people see it (no credentials): "turns:turn.example:5349".</summary>
    public string Label { get; init; } = "";

    /// <summary>Keeps the password out of logs and exception messages.</summary>
    public override string ToString() => $"{(Label.Length > 0 ? Label : EndPoint.ToString())} ({Transport})";
}
