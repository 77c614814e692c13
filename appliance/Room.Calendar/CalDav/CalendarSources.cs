using System.Xml.Linq;

namespace Room.Calendar.CalDav;

/// <summary>A place the agenda comes from.</summary>
public interface ICalendarSource
{
    /// <summary>Identifies the source in the offline cache (its address; never credentials).</summary>
    string Key { get; }

    /// <summary>Brings <paramref name="previous"/> up to date; throws <see cref="CalendarSyncException"/> when it cannot.</summary>
    Task<SyncOutcome> SyncAsync(SourceState previous, CancellationToken cancellationToken);
}

/// <summary>
/// A CalDAV calendar collection (RFC 4791). Incremental with sync-collection (RFC 6578) when the server offers a
/// sync token; otherwise the collection tag (getctag) says whether anything changed and the ETags say what.
/// </summary>
/// <param name="useSyncCollection">False to use only the collection tag and ETags (servers without RFC 6578).</param>
public sealed class CalDavSource(Uri collection, string? credentialsFile, DavHttp http, int multigetBatch = 500, bool useSyncCollection = true) : ICalendarSource
{
    private static readonly XNamespace D = DavXml.Dav;
    private static readonly XNamespace C = DavXml.CalDav;
    private static readonly XNamespace CS = DavXml.CalendarServer;

    public string Key => collection.AbsoluteUri;

    public async Task<SyncOutcome> SyncAsync(SourceState previous, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(previous);
        if (useSyncCollection)
        {
            if (previous.SyncToken is { Length: > 0 } token)
            {
                var changes = await SyncCollectionAsync(token, cancellationToken).ConfigureAwait(false);
                if (changes is not null)
                {
                    return await ApplyAsync(previous, changes.Value.Responses, changes.Value.Token, previous.CTag, SyncMode.Incremental, replaceAll: false, cancellationToken).ConfigureAwait(false);
                }

                // The token is no longer valid (RFC 6578 3.2): start again.
            }

            // Asked directly rather than after a PROPFIND for the collection's sync-token: on a server such as
            // Radicale every collection property costs a walk over all its items. A server without sync-collection
            // refuses the report, and the collection tag and ETags are used instead.
            var all = await SyncCollectionAsync("", cancellationToken).ConfigureAwait(false);
            if (all is not null)
            {
                return await ApplyAsync(previous, all.Value.Responses, all.Value.Token, null, SyncMode.Full, replaceAll: true, cancellationToken).ConfigureAwait(false);
            }
        }

        var collectionProps = await PropfindAsync("0", new XElement(D + "prop", new XElement(D + "getctag"), new XElement(CS + "getctag"), new XElement(D + "resourcetype")), cancellationToken).ConfigureAwait(false);
        var self = collectionProps.Responses.Count > 0 ? collectionProps.Responses[0] : throw new CalendarSyncException($"{DavHttp.Where(collection)} said nothing about the calendar.");
        if (self.CTag is { Length: > 0 } ctag && ctag == previous.CTag && previous.SyncToken is null)
        {
            return new SyncOutcome(previous, SyncMode.Unchanged, 0, 0, []);
        }

        var listing = await PropfindAsync("1", new XElement(D + "prop", new XElement(D + "getetag"), new XElement(D + "resourcetype")), cancellationToken).ConfigureAwait(false);
        var members = listing.Responses.Where(r => r.Status is >= 200 and < 300 && r.ETag is { Length: > 0 } && !SameResource(r.Href, collection.AbsolutePath)).ToList();
        return await ApplyAsync(previous, members, null, self.CTag, previous.Resources.Count == 0 ? SyncMode.Full : SyncMode.ETagCompare, replaceAll: true, cancellationToken).ConfigureAwait(false);
    }

    private async Task<SyncOutcome> ApplyAsync(SourceState previous, IReadOnlyList<DavResponse> listed, string? token, string? ctag, SyncMode mode, bool replaceAll, CancellationToken cancellationToken)
    {
        var resources = new Dictionary<string, CalendarResource>(replaceAll ? [] : previous.Resources, StringComparer.Ordinal);
        var toFetch = new List<string>();
        var removed = 0;
        var received = 0;
        foreach (var r in listed)
        {
            var href = Normalize(r.Href);
            if (SameResource(href, collection.AbsolutePath))
            {
                continue;
            }

            if (r.Status == 404)
            {
                removed += resources.Remove(href) ? 1 : 0;
                continue;
            }

            if (previous.Resources.TryGetValue(href, out var known) && r.ETag is { Length: > 0 } etag && known.ETag == etag)
            {
                resources[href] = known;
            }
            else if (r.CalendarData is { } inline && r.ETag is { Length: > 0 } inlineTag)
            {
                // Sent with the change list (sync-collection with calendar-data): no second round trip.
                resources[href] = new CalendarResource(inlineTag, inline);
                received++;
            }
            else
            {
                toFetch.Add(href);
            }
        }

        if (replaceAll)
        {
            var fetching = toFetch.ToHashSet(StringComparer.Ordinal);
            removed = previous.Resources.Keys.Count(k => !resources.ContainsKey(k) && !fetching.Contains(k));
        }

        var refused = new List<string>();
        for (var i = 0; i < toFetch.Count; i += multigetBatch)
        {
            var batch = toFetch.Skip(i).Take(multigetBatch).ToHashSet(StringComparer.Ordinal);
            var body = new XElement(C + "calendar-multiget",
                new XAttribute(XNamespace.Xmlns + "d", D), new XAttribute(XNamespace.Xmlns + "c", C),
                new XElement(D + "prop", new XElement(D + "getetag"), new XElement(C + "calendar-data")),
                batch.Select(h => new XElement(D + "href", h)));
            var reply = await http.SendAsync(new HttpMethod("REPORT"), collection, credentialsFile, Xml(body), new Dictionary<string, string> { ["Depth"] = "1" }, cancellationToken).ConfigureAwait(false);
            var ms = ReadMultistatus(reply, "calendar-multiget");
            var got = new HashSet<string>(StringComparer.Ordinal);
            foreach (var r in ms.Responses)
            {
                var href = Normalize(r.Href);
                if (!batch.Contains(href))
                {
                    continue;
                }

                got.Add(href);
                if (r.Status == 404)
                {
                    removed += resources.Remove(href) ? 1 : 0;
                }
                else if (r.CalendarData is { } data && r.ETag is { Length: > 0 } etag)
                {
                    resources[href] = new CalendarResource(etag, data);
                }
                else
                {
                    refused.Add($"{href}: no calendar data");
                }
            }

            foreach (var missing in batch.Where(h => !got.Contains(h)))
            {
                refused.Add($"{missing}: not returned by the server");
            }
        }

        return new SyncOutcome(new SourceState(previous.Key, token, ctag, resources), mode, received + toFetch.Count - refused.Count, removed, refused);
    }

    /// <summary>The changes since <paramref name="token"/> ("" for all), or null if the server refuses the token.</summary>
    private async Task<(IReadOnlyList<DavResponse> Responses, string Token)?> SyncCollectionAsync(string token, CancellationToken cancellationToken)
    {
        var body = new XElement(D + "sync-collection",
            new XAttribute(XNamespace.Xmlns + "d", D), new XAttribute(XNamespace.Xmlns + "c", C),
            new XElement(D + "sync-token", token),
            new XElement(D + "sync-level", "1"),
            // The data of every changed member comes with the list (RFC 6578 3.2 allows any property): one round
            // trip per sync. Members a server sends without it are fetched with calendar-multiget.
            new XElement(D + "prop", new XElement(D + "getetag"), new XElement(C + "calendar-data")));
        var reply = await http.SendAsync(new HttpMethod("REPORT"), collection, credentialsFile, Xml(body), new Dictionary<string, string> { ["Depth"] = "0" }, cancellationToken).ConfigureAwait(false);
        // A refused token (403 valid-sync-token, 409, 412, 400), or for the first sync a server without the report.
        if (reply.Status is 403 or 409 or 412 or 400 || (token.Length == 0 && reply.Status is 405 or 415 or 501))
        {
            return null;
        }

        var ms = ReadMultistatus(reply, "sync-collection");
        if (string.IsNullOrEmpty(ms.SyncToken))
        {
            if (token.Length == 0)
            {
                return null;
            }

            throw new CalendarSyncException($"{DavHttp.Where(collection)} answered sync-collection without a sync token.");
        }

        return (ms.Responses, ms.SyncToken);
    }

    private async Task<DavMultistatus> PropfindAsync(string depth, XElement prop, CancellationToken cancellationToken)
    {
        var body = new XElement(D + "propfind", new XAttribute(XNamespace.Xmlns + "d", D), new XAttribute(XNamespace.Xmlns + "cs", CS), prop);
        var reply = await http.SendAsync(new HttpMethod("PROPFIND"), collection, credentialsFile, Xml(body), new Dictionary<string, string> { ["Depth"] = depth }, cancellationToken).ConfigureAwait(false);
        return ReadMultistatus(reply, "PROPFIND");
    }

    private DavMultistatus ReadMultistatus(DavReply reply, string what)
    {
        if (reply.Status != 207)
        {
            throw new CalendarSyncException(reply.Status switch
            {
                401 or 403 => $"{DavHttp.Where(collection)} refused the room's credentials ({reply.Status}) for {what}.",
                404 => $"{DavHttp.Where(collection)} has no calendar at the configured address (404).",
                _ => $"{DavHttp.Where(collection)} answered {what} with HTTP {reply.Status}.",
            });
        }

        try
        {
            return DavXml.Parse(reply.Body, http.MaxBytes);
        }
        catch (DavProtocolException ex)
        {
            throw new CalendarSyncException($"{DavHttp.Where(collection)}: {ex.Message}", ex);
        }
    }

    private string Normalize(string href)
    {
        if (!Uri.TryCreate(collection, href, out var u) || u.Authority != collection.Authority)
        {
            throw new CalendarSyncException($"{DavHttp.Where(collection)} named a resource outside the calendar.");
        }

        return u.AbsolutePath;
    }

    private static bool SameResource(string href, string collectionPath) =>
        href.TrimEnd('/') == collectionPath.TrimEnd('/');

    private static string Xml(XElement e) => "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n" + e.ToString(SaveOptions.DisableFormatting);
}

/// <summary>A published iCalendar feed (a plain ICS address), fetched whole when its ETag changes.</summary>
public sealed class IcsFeedSource(Uri url, string? credentialsFile, DavHttp http) : ICalendarSource
{
    public string Key => url.AbsoluteUri;

    public async Task<SyncOutcome> SyncAsync(SourceState previous, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(previous);
        var headers = new Dictionary<string, string>();
        if (previous.CTag is { Length: > 0 } etag && previous.Resources.Count > 0)
        {
            headers["If-None-Match"] = etag;
        }

        var reply = await http.SendAsync(HttpMethod.Get, url, credentialsFile, null, headers, cancellationToken).ConfigureAwait(false);
        if (reply.Status == 304)
        {
            return new SyncOutcome(previous, SyncMode.Unchanged, 0, 0, []);
        }

        if (!reply.Ok)
        {
            throw new CalendarSyncException($"{DavHttp.Where(url)} answered the calendar feed with HTTP {reply.Status}.");
        }

        var resources = new Dictionary<string, CalendarResource>(StringComparer.Ordinal) { [url.AbsolutePath] = new(reply.ETag ?? "", reply.Body) };
        return new SyncOutcome(new SourceState(previous.Key, null, reply.ETag, resources), SyncMode.Full, 1, 0, []);
    }
}
