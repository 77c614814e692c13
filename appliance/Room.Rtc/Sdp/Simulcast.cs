using System.Globalization;

namespace Room.Rtc.Sdp;

/// <summary>
/// One <c>a=rid</c> line (RFC 8851): an RTP stream identifier, its direction, and optional payload types and
/// restrictions (<c>max-width</c>, <c>max-height</c>, <c>max-fps</c>, <c>max-br</c>, ...).
/// </summary>
public sealed record RidDescription(string Id, string Direction, IReadOnlyList<int> PayloadTypes, IReadOnlyDictionary<string, string> Restrictions)
{
    /// <summary>Longest rid accepted: what fits one RFC 8285 one-byte header extension element.</summary>
    public const int MaxIdLength = 16;

    /// <summary>Parses the value of an <c>a=rid</c> attribute (after "rid:").</summary>
    public static RtcError TryParse(string? value, out RidDescription? rid)
    {
        rid = null;
        if (string.IsNullOrWhiteSpace(value) || value.Length > 1024) return RtcError.BadSyntax;
        var parts = value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length is < 2 or > 3) return RtcError.BadSyntax;
        if (!IsValidId(parts[0])) return RtcError.BadSyntax;
        if (parts[1] is not ("send" or "recv")) return RtcError.BadSyntax;
        var pts = new List<int>();
        var restrictions = new Dictionary<string, string>(StringComparer.Ordinal);
        if (parts.Length == 3)
        {
            foreach (var item in parts[2].Split(';'))
            {
                if (item.Length == 0) return RtcError.BadSyntax;
                int eq = item.IndexOf('=', StringComparison.Ordinal);
                string key = eq < 0 ? item : item[..eq];
                string val = eq < 0 ? "" : item[(eq + 1)..];
                if (key.Length == 0) return RtcError.BadSyntax;
                if (key == "pt")
                {
                    foreach (var p in val.Split(','))
                    {
                        if (!int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int pt) || pt > 127) return RtcError.BadSyntax;
                        pts.Add(pt);
                    }
                }
                else
                {
                    if (key is "max-width" or "max-height" or "max-fps" or "max-br" or "max-pps" or "max-bpp" or "max-fs"
                        && !double.TryParse(val, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out _))
                        return RtcError.BadSyntax;
                    if (!restrictions.TryAdd(key, val)) return RtcError.BadSyntax;
                }
            }
        }
        rid = new RidDescription(parts[0], parts[1], pts, restrictions);
        return RtcError.None;
    }

    /// <summary>RFC 8851 rid-id: alphanumerics, '-' and '_' (and, here, at most <see cref="MaxIdLength"/> of them).</summary>
    public static bool IsValidId(string? id) =>
        !string.IsNullOrEmpty(id) && id.Length <= MaxIdLength && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    public override string ToString()
    {
        var sb = new System.Text.StringBuilder(Id).Append(' ').Append(Direction);
        var items = new List<string>();
        if (PayloadTypes.Count > 0) items.Add("pt=" + string.Join(',', PayloadTypes.Select(p => p.ToString(CultureInfo.InvariantCulture))));
        items.AddRange(Restrictions.Select(kv => kv.Value.Length == 0 ? kv.Key : kv.Key + "=" + kv.Value));
        if (items.Count > 0) sb.Append(' ').Append(string.Join(';', items));
        return sb.ToString();
    }
}

/// <summary>One stream in an <c>a=simulcast</c> list: its rid, and whether it starts paused ("~").</summary>
public readonly record struct SimulcastRid(string Rid, bool Paused);

/// <summary>
/// An <c>a=simulcast</c> line (RFC 8853): the simulcast streams sent and received, each a list of alternatives
/// (separated by ',' on the line; streams by ';').
/// </summary>
public sealed record SimulcastDescription(IReadOnlyList<IReadOnlyList<SimulcastRid>> Send, IReadOnlyList<IReadOnlyList<SimulcastRid>> Receive)
{
    /// <summary>Parses the value of an <c>a=simulcast</c> attribute (after "simulcast:").</summary>
    public static RtcError TryParse(string? value, out SimulcastDescription? simulcast)
    {
        simulcast = null;
        if (string.IsNullOrWhiteSpace(value) || value.Length > 1024) return RtcError.BadSyntax;
        var parts = value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length is not (2 or 4)) return RtcError.BadSyntax;
        List<IReadOnlyList<SimulcastRid>> send = [], receive = [];
        for (int i = 0; i < parts.Length; i += 2)
        {
            var list = ParseList(parts[i + 1]);
            if (list is null) return RtcError.BadSyntax;
            if (parts[i] == "send" && send.Count == 0) send = list;
            else if (parts[i] == "recv" && receive.Count == 0) receive = list;
            else return RtcError.BadSyntax; // unknown or repeated direction
        }
        simulcast = new SimulcastDescription(send, receive);
        return RtcError.None;
    }

    private static List<IReadOnlyList<SimulcastRid>>? ParseList(string text)
    {
        var streams = new List<IReadOnlyList<SimulcastRid>>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var stream in text.Split(';'))
        {
            var alternatives = new List<SimulcastRid>();
            foreach (var alt in stream.Split(','))
            {
                bool paused = alt.StartsWith('~');
                string rid = paused ? alt[1..] : alt;
                if (!RidDescription.IsValidId(rid) || !seen.Add(rid)) return null;
                alternatives.Add(new SimulcastRid(rid, paused));
            }
            streams.Add(alternatives);
        }
        return streams.Count is > 0 and <= 16 ? streams : null;
    }

    public override string ToString()
    {
        static string List(IReadOnlyList<IReadOnlyList<SimulcastRid>> l) =>
            string.Join(';', l.Select(s => string.Join(',', s.Select(a => (a.Paused ? "~" : "") + a.Rid))));
        var parts = new List<string>();
        if (Send.Count > 0) parts.Add("send " + List(Send));
        if (Receive.Count > 0) parts.Add("recv " + List(Receive));
        return string.Join(' ', parts);
    }
}

/// <summary>Reading a media section's simulcast description.</summary>
public static class SimulcastSdp
{
    /// <summary>The section's <c>a=rid</c> lines; malformed ones are an error (returned, nothing partial).</summary>
    public static RtcError TryGetRids(this MediaDescription media, out IReadOnlyList<RidDescription> rids)
    {
        ArgumentNullException.ThrowIfNull(media);
        var list = new List<RidDescription>();
        rids = list;
        foreach (var value in media.All("rid"))
        {
            var error = RidDescription.TryParse(value, out var rid);
            if (error != RtcError.None) { rids = []; return error; }
            if (list.Any(r => r.Id == rid!.Id)) { rids = []; return RtcError.BadSyntax; }
            list.Add(rid!);
            if (list.Count > 16) { rids = []; return RtcError.BadSyntax; }
        }
        return RtcError.None;
    }

    /// <summary>
    /// The section's <c>a=simulcast</c> line checked against its <c>a=rid</c> lines (every rid it names is declared
    /// with the matching direction, RFC 8853 section 5.3); null when the section does not simulcast.
    /// </summary>
    public static RtcError TryGetSimulcast(this MediaDescription media, out SimulcastDescription? simulcast)
    {
        ArgumentNullException.ThrowIfNull(media);
        simulcast = null;
        var line = media.Get("simulcast");
        if (line is null) return RtcError.None;
        var error = SimulcastDescription.TryParse(line, out var parsed);
        if (error != RtcError.None) return error;
        error = media.TryGetRids(out var rids);
        if (error != RtcError.None) return error;
        foreach (var (streams, direction) in new[] { (parsed!.Send, "send"), (parsed.Receive, "recv") })
            foreach (var alt in streams.SelectMany(s => s))
                if (!rids.Any(r => r.Id == alt.Rid && r.Direction == direction)) return RtcError.BadSyntax;
        simulcast = parsed;
        return RtcError.None;
    }
}
