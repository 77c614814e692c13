using System.Text.RegularExpressions;

namespace Room.Calendar.Model;

/// <summary>
/// Finds the meeting address in the texts of a calendar entry (URL, LOCATION, X- properties, DESCRIPTION, in that
/// order). A meeting-server (meeting:// or https://SERVER/meetings/...) or test-loopback:// address wins (the room can join it); otherwise the first address of a known
/// provider (Teams, Zoom, Webex, Jitsi, SIP) so that it is shown as such; otherwise the first web address.
/// </summary>
public static partial class MeetingLinks
{
    private const int MaxScannedChars = 64 * 1024;
    private const int MaxUriLength = 2048;
    private const int MaxCandidates = 64;

    public static MeetingLink None { get; } = new(MeetingProvider.None, "");

    /// <param name="texts">The entry's texts, most authoritative first.</param>
    /// <param name="meetingServer">The configured meeting-server's base address (https://host[:port]), or null.</param>
    public static MeetingLink Find(IEnumerable<string?> texts, Uri? meetingServer)
    {
        ArgumentNullException.ThrowIfNull(texts);
        MeetingLink? known = null;
        MeetingLink? other = null;
        var seen = 0;
        foreach (var text in texts)
        {
            if (string.IsNullOrEmpty(text))
            {
                continue;
            }

            var scanned = text.Length > MaxScannedChars ? text[..MaxScannedChars] : text;
            foreach (Match m in UriPattern().Matches(scanned))
            {
                if (++seen > MaxCandidates)
                {
                    return known ?? other ?? None;
                }

                var link = Classify(m.Value.TrimEnd('.', ',', ';', ':', '!', '?', '>'), meetingServer);
                if (link is null)
                {
                    continue;
                }

                if (link.Joinable)
                {
                    return link;
                }

                if (link.Provider != MeetingProvider.Other)
                {
                    known ??= link;
                }
                else
                {
                    other ??= link;
                }
            }
        }

        return known ?? other ?? None;
    }

    /// <summary>What kind of address <paramref name="text"/> is, or null if it is no usable address.</summary>
    public static MeetingLink? Classify(string text, Uri? meetingServer)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > MaxUriLength || !Uri.TryCreate(text, UriKind.Absolute, out var uri))
        {
            return null;
        }

        var scheme = uri.Scheme;
        if (scheme is "sip" or "sips")
        {
            return new MeetingLink(MeetingProvider.Sip, text);
        }

        if (!string.IsNullOrEmpty(uri.UserInfo) || string.IsNullOrEmpty(uri.Host))
        {
            // Credentials in an address are never carried along.
            return null;
        }

        if (scheme is "meeting" or "test-loopback")
        {
            // meeting://server:8443/ID is a meeting-server meeting; test-loopback:// roomd's test call (tests and demos).
            return uri.AbsolutePath.Trim('/').Length > 0 ? new MeetingLink(scheme == "meeting" ? MeetingProvider.MeetingServer : MeetingProvider.Room, text) : null;
        }

        if (scheme is not ("https" or "http"))
        {
            return null;
        }

        var host = uri.IdnHost.ToLowerInvariant();
        if (meetingServer is not null && scheme == "https" && meetingServer.Scheme == "https"
            && string.Equals(host, meetingServer.IdnHost, StringComparison.OrdinalIgnoreCase)
            && uri.Port == meetingServer.Port
            && uri.AbsolutePath.StartsWith("/meetings/", StringComparison.Ordinal)
            && uri.AbsolutePath.Length > "/meetings/".Length)
        {
            return new MeetingLink(MeetingProvider.MeetingServer, text);
        }

        var provider = host switch
        {
            "teams.microsoft.com" or "teams.live.com" or "teams.microsoft.us" => MeetingProvider.Teams,
            "zoom.us" or "zoomgov.com" => MeetingProvider.Zoom,
            _ when host.EndsWith(".zoom.us", StringComparison.Ordinal) || host.EndsWith(".zoomgov.com", StringComparison.Ordinal) => MeetingProvider.Zoom,
            "webex.com" => MeetingProvider.Webex,
            _ when host.EndsWith(".webex.com", StringComparison.Ordinal) => MeetingProvider.Webex,
            "meet.jit.si" or "8x8.vc" => MeetingProvider.Jitsi,
            _ when host.StartsWith("jitsi.", StringComparison.Ordinal) || host.Contains(".jitsi.", StringComparison.Ordinal) => MeetingProvider.Jitsi,
            _ => MeetingProvider.Other,
        };
        return new MeetingLink(provider, text);
    }

    [GeneratedRegex(@"(?:\b(?:https?|meeting|test-loopback)://[^\s<>""'\\\[\]{}|^`]+)|(?:\bsips?:[^\s<>""'\\@:;,/]+@[A-Za-z0-9.\-\[\]:]+)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 500)]
    private static partial Regex UriPattern();
}
