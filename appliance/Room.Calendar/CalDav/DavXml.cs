using System.Xml;

namespace Room.Calendar.CalDav;

/// <summary>One &lt;response&gt; of a WebDAV multistatus: the resource, whether it exists, and the properties found.</summary>
public sealed record DavResponse(string Href, int Status, string? ETag, string? CalendarData, string? CTag, string? SyncToken, bool IsCalendar);

/// <summary>A parsed multistatus body.</summary>
public sealed record DavMultistatus(IReadOnlyList<DavResponse> Responses, string? SyncToken);

/// <summary>Server XML that is refused: malformed, with a DTD, or over a limit.</summary>
public sealed class DavProtocolException : Exception
{
    public DavProtocolException(string message)
        : base(message)
    {
    }

    public DavProtocolException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public DavProtocolException()
    {
    }
}

/// <summary>
/// Reads WebDAV/CalDAV multistatus responses (RFC 4918, 4791, 6578) defensively: no DTDs (so no entity expansion),
/// no external resolution, a cap on the document's size and element depth and the number of responses.
/// </summary>
public static class DavXml
{
    public const string Dav = "DAV:";
    public const string CalDav = "urn:ietf:params:xml:ns:caldav";
    public const string CalendarServer = "http://calendarserver.org/ns/";

    public static DavMultistatus Parse(string xml, long maxChars, int maxResponses = 100_000)
    {
        ArgumentNullException.ThrowIfNull(xml);
        if (xml.Length > maxChars)
        {
            throw new DavProtocolException($"The server's answer is larger than {maxChars} characters.");
        }

        var settings = new XmlReaderSettings
        {
            DtdProcessing = DtdProcessing.Prohibit,
            XmlResolver = null,
            MaxCharactersInDocument = maxChars,
            MaxCharactersFromEntities = 0,
            IgnoreComments = true,
            IgnoreProcessingInstructions = true,
            IgnoreWhitespace = true,
        };
        var responses = new List<DavResponse>();
        string? topToken = null;
        try
        {
            using var text = new StringReader(xml);
            using var reader = XmlReader.Create(text, settings);
            if (!reader.ReadToFollowing("multistatus", Dav))
            {
                throw new DavProtocolException("The server's answer is no WebDAV multistatus.");
            }

            var rootDepth = reader.Depth;
            var more = reader.Read();
            while (more)
            {
                if (reader.Depth > rootDepth + 12)
                {
                    throw new DavProtocolException("The server's answer is nested too deeply.");
                }

                if (reader.NodeType != XmlNodeType.Element || reader.Depth != rootDepth + 1)
                {
                    more = reader.Read();
                    continue;
                }

                if (reader.LocalName == "response" && reader.NamespaceURI == Dav)
                {
                    if (responses.Count >= maxResponses)
                    {
                        throw new DavProtocolException($"The server's answer lists more than {maxResponses} resources.");
                    }

                    responses.Add(ReadResponse(reader.ReadSubtree()));
                    more = reader.Read();
                }
                else if (reader.LocalName == "sync-token" && reader.NamespaceURI == Dav)
                {
                    topToken = reader.ReadElementContentAsString().Trim();
                    more = !reader.EOF;
                }
                else
                {
                    reader.Skip();
                    more = !reader.EOF;
                }
            }
        }
        catch (XmlException ex)
        {
            throw new DavProtocolException($"The server's answer is not well-formed XML: {ex.Message}", ex);
        }

        return new DavMultistatus(responses, topToken);
    }

    private static DavResponse ReadResponse(XmlReader r)
    {
        string? href = null;
        var responseStatus = 0;
        string? etag = null, data = null, ctag = null, token = null;
        var isCalendar = false;
        var propStatus = 0;
        // Properties are collected per propstat and kept only from a 2xx propstat.
        string? pEtag = null, pData = null, pCtag = null, pToken = null;
        var pCalendar = false;
        using (r)
        {
            r.Read();
            var more = r.Read();
            while (more)
            {
                var consumed = false;
                if (r.NodeType == XmlNodeType.EndElement && r.LocalName == "propstat" && r.NamespaceURI == Dav)
                {
                    if (propStatus is >= 200 and < 300)
                    {
                        etag ??= pEtag;
                        data ??= pData;
                        ctag ??= pCtag;
                        token ??= pToken;
                        isCalendar |= pCalendar;
                    }

                    pEtag = pData = pCtag = pToken = null;
                    pCalendar = false;
                    propStatus = 0;
                    more = r.Read();
                    continue;
                }

                if (r.NodeType != XmlNodeType.Element)
                {
                    more = r.Read();
                    continue;
                }

                var depth = r.Depth;
                if (depth > 12)
                {
                    throw new DavProtocolException("The server's answer is nested too deeply.");
                }

                switch (r.LocalName, r.NamespaceURI)
                {
                    case ("href", Dav) when href is null:
                        href = r.ReadElementContentAsString().Trim();
                        consumed = true;
                        break;
                    case ("status", Dav):
                        var code = ParseStatus(r.ReadElementContentAsString());
                        consumed = true;
                        if (depth == 1)
                        {
                            responseStatus = code;
                        }
                        else
                        {
                            propStatus = code;
                        }

                        break;
                    case ("getetag", Dav):
                        pEtag = r.ReadElementContentAsString().Trim();
                        consumed = true;
                        break;
                    case ("calendar-data", CalDav):
                        pData = r.ReadElementContentAsString();
                        consumed = true;
                        break;
                    case ("getctag", CalendarServer):
                        pCtag = r.ReadElementContentAsString().Trim();
                        consumed = true;
                        break;
                    case ("sync-token", Dav):
                        pToken = r.ReadElementContentAsString().Trim();
                        consumed = true;
                        break;
                    case ("calendar", CalDav):
                        pCalendar = true;
                        break;
                    default:
                        break;
                }

                more = consumed ? !r.EOF : r.Read();
            }
        }

        if (string.IsNullOrEmpty(href))
        {
            throw new DavProtocolException("A response in the server's answer has no href.");
        }

        return new DavResponse(href, responseStatus == 0 ? 200 : responseStatus, etag, data, ctag, token, isCalendar);
    }

    /// <summary>"HTTP/1.1 404 Not Found" -> 404; 0 when unreadable.</summary>
    private static int ParseStatus(string line)
    {
        var parts = line.Trim().Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
        return parts.Length >= 2 && int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var s) && s is >= 100 and < 600 ? s : 0;
    }
}
