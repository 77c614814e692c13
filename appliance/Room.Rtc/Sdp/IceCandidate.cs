using System.Globalization;
using System.Net;
using System.Text;

namespace Room.Rtc.Sdp;

public enum CandidateType { Host, ServerReflexive, PeerReflexive, Relay }

/// <summary>An ICE candidate (RFC 8839 5.1) as carried in a=candidate or trickled.</summary>
public sealed record IceCandidate(string Foundation, int Component, string Transport, uint Priority, IPAddress Address, int Port,
    CandidateType Type, IPAddress? RelatedAddress = null, int RelatedPort = 0)
{
    public IPEndPoint EndPoint => new(Address, Port);

    /// <summary>RFC 8445 5.1.2.1: (2^24)*type pref + (2^8)*local pref + (256 - component).</summary>
    public static uint ComputePriority(CandidateType type, int localPreference, int component)
    {
        int typePreference = type switch
        {
            CandidateType.Host => 126,
            CandidateType.PeerReflexive => 110,
            CandidateType.ServerReflexive => 100,
            _ => 0,
        };
        return (uint)((typePreference << 24) | ((localPreference & 0xFFFF) << 8) | (256 - component));
    }

    /// <summary>Parses "candidate:..." (with or without the "a=" and "candidate:" prefixes).</summary>
    public static RtcError TryParse(string text, out IceCandidate? candidate)
    {
        candidate = null;
        if (text is null || text.Length > 1024) return RtcError.TooLarge;
        var t = text.Trim();
        if (t.StartsWith("a=", StringComparison.Ordinal)) t = t[2..];
        if (t.StartsWith("candidate:", StringComparison.Ordinal)) t = t["candidate:".Length..];
        var p = t.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (p.Length < 8 || p[6] != "typ") return RtcError.BadSyntax;
        if (!int.TryParse(p[1], NumberStyles.None, CultureInfo.InvariantCulture, out int component) || component is < 1 or > 256) return RtcError.BadSyntax;
        if (!uint.TryParse(p[3], NumberStyles.None, CultureInfo.InvariantCulture, out uint priority)) return RtcError.BadSyntax;
        if (!IPAddress.TryParse(p[4], out var address)) return RtcError.Unsupported; // mDNS names (.local) are not resolved
        if (!int.TryParse(p[5], NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > 65535) return RtcError.BadSyntax;
        CandidateType type;
        switch (p[7])
        {
            case "host": type = CandidateType.Host; break;
            case "srflx": type = CandidateType.ServerReflexive; break;
            case "prflx": type = CandidateType.PeerReflexive; break;
            case "relay": type = CandidateType.Relay; break;
            default: return RtcError.BadSyntax;
        }
        IPAddress? raddr = null;
        int rport = 0;
        for (int i = 8; i + 1 < p.Length; i += 2)
        {
            if (p[i] == "raddr" && !IPAddress.TryParse(p[i + 1], out raddr)) return RtcError.BadSyntax;
            if (p[i] == "rport" && !int.TryParse(p[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out rport)) return RtcError.BadSyntax;
        }
        candidate = new IceCandidate(p[0], component, p[2].ToLowerInvariant(), priority, address, port, type, raddr, rport);
        return RtcError.None;
    }

    /// <summary>"candidate:..." without the "a=".</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"candidate:{Foundation} {Component} {Transport} {Priority} {Address} {Port} typ ");
        sb.Append(Type switch
        {
            CandidateType.Host => "host",
            CandidateType.ServerReflexive => "srflx",
            CandidateType.PeerReflexive => "prflx",
            _ => "relay",
        });
        if (RelatedAddress is not null) sb.Append(CultureInfo.InvariantCulture, $" raddr {RelatedAddress} rport {RelatedPort}");
        return sb.ToString();
    }
}
