using System.Net;
using System.Security;
using System.Text;
using Room.Calendar.CalDav;

namespace Room.Calendar.Tests;

/// <summary>
/// What Radicale never does (CalDavSyncTests run against Radicale): a server that sends a changed member without its
/// calendar data, and one without sync-collection. A scripted server behind the HTTP handler; nothing else is faked.
/// </summary>
public sealed class CalDavFallbackTests
{
    private static readonly Uri s_calendar = new("http://127.0.0.1:1/cal/");

    private sealed class ScriptedServer(Func<HttpRequestMessage, string, (HttpStatusCode, string)> answer) : HttpMessageHandler
    {
        public List<string> Requests { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken);
            var kind = request.Method.Method + " " + (body.Contains("sync-collection", StringComparison.Ordinal) ? "sync-collection"
                : body.Contains("calendar-multiget", StringComparison.Ordinal) ? "calendar-multiget" : request.Headers.GetValues("Depth").Single());
            Requests.Add(kind);
            var (status, text) = answer(request, kind);
            return new HttpResponseMessage(status) { Content = new StringContent(text, Encoding.UTF8, "application/xml") };
        }
    }

    private static string Response(string href, string etag, string? data = null) =>
        $"<d:response><d:href>{href}</d:href><d:propstat><d:prop><d:getetag>{etag}</d:getetag>"
        + (data is null ? "" : $"<c:calendar-data>{SecurityElement.Escape(data)}</c:calendar-data>")
        + "</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>";

    private static string Multistatus(string inner, string? token = null) =>
        $"<?xml version=\"1.0\"?><d:multistatus xmlns:d=\"DAV:\" xmlns:c=\"urn:ietf:params:xml:ns:caldav\" xmlns:cs=\"http://calendarserver.org/ns/\">{inner}"
        + (token is null ? "" : $"<d:sync-token>{token}</d:sync-token>") + "</d:multistatus>";

    [Fact]
    public async Task Members_sent_without_their_data_are_fetched_with_multiget()
    {
        var server = new ScriptedServer((_, kind) => kind switch
        {
            "REPORT sync-collection" => (HttpStatusCode.MultiStatus, Multistatus(
                Response("/cal/a.ics", "\"1\"", IcsSamples.Series("a")) + Response("/cal/b.ics", "\"2\""), token: "t1")),
            "REPORT calendar-multiget" => (HttpStatusCode.MultiStatus, Multistatus(Response("/cal/b.ics", "\"2\"", IcsSamples.Series("b")))),
            _ => (HttpStatusCode.BadRequest, ""),
        });
        using var http = new DavHttp(TimeSpan.FromSeconds(5), 1 << 20, server);
        var source = new CalDavSource(s_calendar, null, http);

        var outcome = await source.SyncAsync(SourceState.Empty(source.Key), default);

        Assert.Equal(["REPORT sync-collection", "REPORT calendar-multiget"], server.Requests);
        Assert.Equal((SyncMode.Full, 2, "t1"), (outcome.Mode, outcome.Changed, outcome.State.SyncToken));
        Assert.Contains("UID:a", outcome.State.Resources["/cal/a.ics"].Ics, StringComparison.Ordinal);
        Assert.Contains("UID:b", outcome.State.Resources["/cal/b.ics"].Ics, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(HttpStatusCode.Forbidden)]
    [InlineData(HttpStatusCode.NotImplemented)]
    [InlineData(HttpStatusCode.MethodNotAllowed)]
    public async Task A_server_without_sync_collection_is_synced_by_collection_tag_and_etags(HttpStatusCode refusal)
    {
        var server = new ScriptedServer((_, kind) => kind switch
        {
            "REPORT sync-collection" => (refusal, ""),
            "PROPFIND 0" => (HttpStatusCode.MultiStatus, Multistatus("<d:response><d:href>/cal/</d:href><d:propstat><d:prop><cs:getctag>c1</cs:getctag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>")),
            "PROPFIND 1" => (HttpStatusCode.MultiStatus, Multistatus(Response("/cal/a.ics", "\"1\""))),
            "REPORT calendar-multiget" => (HttpStatusCode.MultiStatus, Multistatus(Response("/cal/a.ics", "\"1\"", IcsSamples.Series("a")))),
            _ => (HttpStatusCode.BadRequest, ""),
        });
        using var http = new DavHttp(TimeSpan.FromSeconds(5), 1 << 20, server);
        var source = new CalDavSource(s_calendar, null, http);

        var outcome = await source.SyncAsync(SourceState.Empty(source.Key), default);

        Assert.Equal(["REPORT sync-collection", "PROPFIND 0", "PROPFIND 1", "REPORT calendar-multiget"], server.Requests);
        Assert.Equal((SyncMode.Full, "c1", null), (outcome.Mode, outcome.State.CTag, outcome.State.SyncToken));
        Assert.Single(outcome.State.Resources);
    }

    [Fact]
    public async Task Refused_credentials_on_the_first_report_are_still_reported_as_such()
    {
        var server = new ScriptedServer((_, _) => (HttpStatusCode.Unauthorized, ""));
        using var http = new DavHttp(TimeSpan.FromSeconds(5), 1 << 20, server);
        var source = new CalDavSource(s_calendar, null, http);

        var ex = await Assert.ThrowsAsync<CalendarSyncException>(() => source.SyncAsync(SourceState.Empty(source.Key), default));

        Assert.Contains("credentials", ex.Message, StringComparison.Ordinal);
        Assert.Equal(["REPORT sync-collection"], server.Requests);
    }
}
