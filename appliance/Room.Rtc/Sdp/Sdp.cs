using System.Globalization;
using System.Text;

namespace Room.Rtc.Sdp;

/// <summary>An SDP attribute line "a=name[:value]".</summary>
public sealed record SdpLine(string Name, string? Value)
{
    public override string ToString() => Value is null ? $"a={Name}" : $"a={Name}:{Value}";
}

/// <summary>One m= section (RFC 8866 5.14) with the attributes WebRTC uses (RFC 8829/8843).</summary>
public sealed class MediaDescription
{
    public MediaDescription(string kind, int port, string protocol, IEnumerable<string> formats)
    {
        Kind = kind;
        Port = port;
        Protocol = protocol;
        Formats = [.. formats];
    }

    /// <summary>audio, video or application.</summary>
    public string Kind { get; set; }
    public int Port { get; set; }
    public string Protocol { get; set; }
    public List<string> Formats { get; }
    public string? Connection { get; set; }
    public List<SdpLine> Attributes { get; } = [];

    public string? Get(string name) => Attributes.FirstOrDefault(a => a.Name == name)?.Value;
    public bool Has(string name) => Attributes.Any(a => a.Name == name);
    public IEnumerable<string> All(string name) => Attributes.Where(a => a.Name == name).Select(a => a.Value ?? "");

    public void Set(string name, string? value = null)
    {
        Attributes.RemoveAll(a => a.Name == name);
        Attributes.Add(new SdpLine(name, value));
    }

    public void Add(string name, string? value = null) => Attributes.Add(new SdpLine(name, value));

    public string? Mid => Get("mid");

    /// <summary>sendrecv, sendonly, recvonly or inactive (sendrecv if none is given).</summary>
    public string Direction
    {
        get => Attributes.LastOrDefault(a => a.Value is null && a.Name is "sendrecv" or "sendonly" or "recvonly" or "inactive")?.Name ?? "sendrecv";
        set
        {
            Attributes.RemoveAll(a => a.Value is null && a.Name is "sendrecv" or "sendonly" or "recvonly" or "inactive");
            Attributes.Add(new SdpLine(value, null));
        }
    }

    public bool IsRejected => Port == 0 && !Has("bundle-only");

    /// <summary>Payload type to "name/clock[/channels]" from a=rtpmap.</summary>
    public IReadOnlyDictionary<int, string> RtpMaps()
    {
        var map = new Dictionary<int, string>();
        foreach (var v in All("rtpmap"))
        {
            int sp = v.IndexOf(' ', StringComparison.Ordinal);
            if (sp > 0 && int.TryParse(v.AsSpan(0, sp), NumberStyles.None, CultureInfo.InvariantCulture, out int pt)) map[pt] = v[(sp + 1)..];
        }
        return map;
    }

    /// <summary>First payload type whose codec name matches (case-insensitive), or -1.</summary>
    public int PayloadTypeFor(string codec, int clockRate = 0)
    {
        foreach (var f in Formats)
        {
            if (!int.TryParse(f, NumberStyles.None, CultureInfo.InvariantCulture, out int pt)) continue;
            if (RtpMaps().TryGetValue(pt, out var name))
            {
                var parts = name.Split('/');
                if (parts[0].Equals(codec, StringComparison.OrdinalIgnoreCase)
                    && (clockRate == 0 || (parts.Length > 1 && parts[1] == clockRate.ToString(CultureInfo.InvariantCulture))))
                    return pt;
            }
        }
        return -1;
    }

    public string? Fmtp(int payloadType) =>
        All("fmtp").FirstOrDefault(v => v.StartsWith(payloadType.ToString(CultureInfo.InvariantCulture) + " ", StringComparison.Ordinal))
            ?.Split(' ', 2)[1];

    /// <summary>RTX payload type associated with <paramref name="payloadType"/> (a=fmtp:X apt=Y), or -1.</summary>
    public int RtxFor(int payloadType)
    {
        foreach (var v in All("fmtp"))
        {
            var parts = v.Split(' ', 2);
            if (parts.Length == 2 && parts[1].Trim() == "apt=" + payloadType.ToString(CultureInfo.InvariantCulture)
                && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int rtx))
                return rtx;
        }
        return -1;
    }

    /// <summary>SSRCs declared with a=ssrc (first occurrence order), and a=ssrc-group:FID pairs.</summary>
    public IReadOnlyList<uint> Ssrcs() =>
        All("ssrc").Select(v => v.Split(' ')[0]).Distinct()
            .Select(s => uint.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out uint x) ? x : 0).Where(x => x != 0).ToList();

    /// <summary>Extension id for a header extension URI (a=extmap), or -1.</summary>
    public int ExtensionId(string uri)
    {
        foreach (var v in All("extmap"))
        {
            var parts = v.Split(' ');
            if (parts.Length >= 2 && parts[1] == uri)
            {
                var id = parts[0].Split('/')[0];
                if (int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out int x)) return x;
            }
        }
        return -1;
    }

    /// <summary>Simulcast rids (a=rid:X send) in order.</summary>
    public IReadOnlyList<string> SendRids() => All("rid").Select(v => v.Split(' ')).Where(p => p.Length >= 2 && p[1] == "send").Select(p => p[0]).ToList();
}

/// <summary>
/// A session description (RFC 8866) as WebRTC uses it: unified plan, BUNDLE, rtcp-mux. Parsing is bounded and reports
/// a typed error for malformed input; <see cref="ToString"/> writes it back with CRLF line ends.
/// </summary>
public sealed class SessionDescription
{
    public const int MaxLength = 256 * 1024;
    public const int MaxLines = 10000;
    public const int MaxMediaSections = 256;

    public string Origin { get; set; } = "- 0 2 IN IP4 127.0.0.1";
    public string SessionName { get; set; } = "-";
    public string? Connection { get; set; }
    public List<SdpLine> Attributes { get; } = [];
    public List<MediaDescription> Media { get; } = [];

    public string? Get(string name) => Attributes.FirstOrDefault(a => a.Name == name)?.Value;

    /// <summary>Mids in the BUNDLE group (a=group:BUNDLE ...).</summary>
    public IReadOnlyList<string> BundleMids()
    {
        var g = Attributes.FirstOrDefault(a => a.Name == "group" && a.Value?.StartsWith("BUNDLE", StringComparison.Ordinal) == true);
        return g?.Value?.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).ToList() ?? [];
    }

    /// <summary>Session-level value, else the first media section's (ice-ufrag, ice-pwd, fingerprint, setup).</summary>
    public string? SessionOrFirstMedia(string name) => Get(name) ?? Media.Select(m => m.Get(name)).FirstOrDefault(v => v is not null);

    public static RtcError TryParse(string text, out SessionDescription? description)
    {
        description = null;
        if (text is null) return RtcError.BadSyntax;
        if (text.Length > MaxLength) return RtcError.TooLarge;
        var sd = new SessionDescription();
        MediaDescription? current = null;
        int lines = 0;
        bool sawVersion = false;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0) continue;
            if (++lines > MaxLines) return RtcError.TooLarge;
            if (line.Length < 2 || line[1] != '=' || !char.IsAsciiLetterLower(line[0])) return RtcError.BadSyntax;
            var value = line[2..];
            switch (line[0])
            {
                case 'v':
                    if (value != "0" || sawVersion) return RtcError.BadVersion;
                    sawVersion = true;
                    break;
                case 'o':
                    if (value.Split(' ').Length != 6) return RtcError.BadSyntax;
                    sd.Origin = value;
                    break;
                case 's':
                    sd.SessionName = value;
                    break;
                case 'c':
                    if (!value.StartsWith("IN ", StringComparison.Ordinal)) return RtcError.BadSyntax;
                    if (current is null) sd.Connection = value;
                    else current.Connection = value;
                    break;
                case 'm':
                {
                    if (!sawVersion) return RtcError.BadSyntax;
                    if (sd.Media.Count >= MaxMediaSections) return RtcError.TooLarge;
                    var parts = value.Split(' ');
                    if (parts.Length < 4) return RtcError.BadSyntax;
                    var portText = parts[1].Split('/')[0];
                    if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > 65535) return RtcError.BadSyntax;
                    if (parts[0].Length == 0 || parts[2].Length == 0) return RtcError.BadSyntax;
                    current = new MediaDescription(parts[0], port, parts[2], parts.Skip(3));
                    sd.Media.Add(current);
                    break;
                }
                case 'a':
                {
                    int colon = value.IndexOf(':', StringComparison.Ordinal);
                    var attribute = colon < 0 ? new SdpLine(value, null) : new SdpLine(value[..colon], value[(colon + 1)..]);
                    if (attribute.Name.Length == 0) return RtcError.BadSyntax;
                    if (current is null) sd.Attributes.Add(attribute);
                    else current.Attributes.Add(attribute);
                    break;
                }
                default:
                    // t=, b=, k=, r=, z=, i=, u=, e=, p= are carried by nobody we talk to; accepted and ignored.
                    break;
            }
        }
        if (!sawVersion) return RtcError.BadSyntax;
        description = sd;
        return RtcError.None;
    }

    public static SessionDescription Parse(string text)
    {
        var error = TryParse(text, out var sd);
        return error == RtcError.None ? sd! : throw new RtcFormatException(error, "malformed SDP: " + error);
    }

    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append("v=0\r\n");
        sb.Append("o=").Append(Origin).Append("\r\n");
        sb.Append("s=").Append(SessionName).Append("\r\n");
        if (Connection is not null) sb.Append("c=").Append(Connection).Append("\r\n");
        sb.Append("t=0 0\r\n");
        foreach (var a in Attributes) sb.Append(a).Append("\r\n");
        foreach (var m in Media)
        {
            sb.Append("m=").Append(m.Kind).Append(' ').Append(m.Port.ToString(CultureInfo.InvariantCulture)).Append(' ')
              .Append(m.Protocol).Append(' ').Append(string.Join(' ', m.Formats)).Append("\r\n");
            if (m.Connection is not null) sb.Append("c=").Append(m.Connection).Append("\r\n");
            foreach (var a in m.Attributes) sb.Append(a).Append("\r\n");
        }
        return sb.ToString();
    }
}
