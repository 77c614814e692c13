using Room.Calendar.CalDav;

namespace Room.Calendar.Tests;

public sealed class DavXmlTests
{
    private const long Max = 1024 * 1024;

    [Fact]
    public void A_multistatus_gives_hrefs_etags_data_deletions_and_the_sync_token()
    {
        var ms = DavXml.Parse("""
            <?xml version="1.0"?>
            <d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
              <d:response><d:href>/cal/a.ics</d:href>
                <d:propstat><d:prop><d:getetag>"1"</d:getetag><c:calendar-data>BEGIN:VCALENDAR</c:calendar-data></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>
                <d:propstat><d:prop><d:displayname/></d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat>
              </d:response>
              <d:response><d:href>/cal/gone.ics</d:href><d:status>HTTP/1.1 404 Not Found</d:status></d:response>
              <d:sync-token>http://radicale.org/ns/sync/abc</d:sync-token>
            </d:multistatus>
            """, Max);

        Assert.Equal("http://radicale.org/ns/sync/abc", ms.SyncToken);
        Assert.Equal(2, ms.Responses.Count);
        Assert.Equal(("/cal/a.ics", 200, "\"1\"", "BEGIN:VCALENDAR"), (ms.Responses[0].Href, ms.Responses[0].Status, ms.Responses[0].ETag, ms.Responses[0].CalendarData));
        Assert.Equal(("/cal/gone.ics", 404), (ms.Responses[1].Href, ms.Responses[1].Status));
    }

    [Fact]
    public void Properties_of_a_failed_propstat_are_not_taken()
    {
        var ms = DavXml.Parse("""
            <d:multistatus xmlns:d="DAV:"><d:response><d:href>/c/x</d:href>
            <d:propstat><d:prop><d:getetag>"forged"</d:getetag></d:prop><d:status>HTTP/1.1 403 Forbidden</d:status></d:propstat>
            </d:response></d:multistatus>
            """, Max);
        Assert.Null(Assert.Single(ms.Responses).ETag);
    }

    public static TheoryData<string, string> Hostile => new()
    {
        { "billion laughs (DTD)", """<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><d:multistatus xmlns:d="DAV:"><d:response><d:href>&lol2;</d:href></d:response></d:multistatus>""" },
        { "external entity", """<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><d:multistatus xmlns:d="DAV:"><d:response><d:href>&xxe;</d:href></d:response></d:multistatus>""" },
        { "not XML", "HTTP/1.1 200 OK\r\n\r\n<html>" },
        { "truncated", """<d:multistatus xmlns:d="DAV:"><d:response><d:href>/a</d:href>""" },
        { "no multistatus", """<d:error xmlns:d="DAV:"><d:valid-sync-token/></d:error>""" },
        { "response without href", """<d:multistatus xmlns:d="DAV:"><d:response><d:status>HTTP/1.1 200 OK</d:status></d:response></d:multistatus>""" },
        { "deeply nested", """<d:multistatus xmlns:d="DAV:"><d:response><d:href>/a</d:href>""" + string.Concat(Enumerable.Repeat("<d:x>", 100)) + string.Concat(Enumerable.Repeat("</d:x>", 100)) + "</d:response></d:multistatus>" },
        { "element inside a text property", """<d:multistatus xmlns:d="DAV:"><d:response><d:href><d:href>/a</d:href></d:href></d:response></d:multistatus>""" },
    };

    [Theory]
    [MemberData(nameof(Hostile))]
    public void Hostile_or_malformed_server_XML_is_refused(string what, string xml)
    {
        var ex = Assert.Throws<DavProtocolException>(() => DavXml.Parse(xml, Max));
        Assert.False(string.IsNullOrWhiteSpace(ex.Message), what);
    }

    [Fact]
    public void An_answer_over_the_size_limit_is_refused()
    {
        var xml = """<d:multistatus xmlns:d="DAV:">""" + string.Concat(Enumerable.Repeat("""<d:response><d:href>/a</d:href></d:response>""", 1000)) + "</d:multistatus>";
        Assert.Throws<DavProtocolException>(() => DavXml.Parse(xml, 10_000));
        Assert.Throws<DavProtocolException>(() => DavXml.Parse(xml, Max, maxResponses: 10));
    }
}
