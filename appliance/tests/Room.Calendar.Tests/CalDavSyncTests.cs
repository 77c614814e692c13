using Room.Calendar.CalDav;
using Room.Testing;

namespace Room.Calendar.Tests;

/// <summary>The CalDAV client against a real Radicale started by the test.</summary>
public sealed class CalDavSyncTests : IAsyncLifetime, IDisposable
{
    private RadicaleServer _radicale = null!;
    private readonly DavHttp _http = new(TimeSpan.FromSeconds(20), 16 * 1024 * 1024);

    public async Task InitializeAsync() => _radicale = await RadicaleServer.StartAsync();

    public async Task DisposeAsync() => await _radicale.DisposeAsync();

    public void Dispose() => _http.Dispose();

    private CalDavSource Source(bool syncCollection = true, string? credentials = null) =>
        new(_radicale.Calendar, credentials ?? _radicale.CredentialsFile, _http, multigetBatch: 2, useSyncCollection: syncCollection);

    [Fact]
    public async Task A_first_sync_fetches_everything_and_the_next_only_the_changes_by_sync_token()
    {
        await _radicale.PutAsync("series.ics", IcsSamples.Series());
        await _radicale.PutAsync("private.ics", IcsSamples.Private());
        await _radicale.PutAsync("allday.ics", IcsSamples.AllDay());
        var source = Source();

        var first = await source.SyncAsync(SourceState.Empty(source.Key), default);
        Assert.Equal(SyncMode.Full, first.Mode);
        Assert.Equal(3, first.State.Resources.Count);
        Assert.NotNull(first.State.SyncToken);
        Assert.Contains("UID:series-1", first.State.Resources.Single(r => r.Key.EndsWith("/series.ics", StringComparison.Ordinal)).Value.Ics, StringComparison.Ordinal);

        var unchanged = await source.SyncAsync(first.State, default);
        Assert.Equal((SyncMode.Incremental, 0, 0), (unchanged.Mode, unchanged.Changed, unchanged.Removed));

        await _radicale.PutAsync("series.ics", IcsSamples.Series(title: "Bauausschuss neu"));
        await _radicale.DeleteAsync("allday.ics");
        await _radicale.PutAsync("new.ics", IcsSamples.AllDay("allday-2"));
        var second = await source.SyncAsync(first.State, default);

        Assert.Equal((SyncMode.Incremental, 2, 1), (second.Mode, second.Changed, second.Removed));
        Assert.Equal(3, second.State.Resources.Count);
        Assert.Contains("Bauausschuss neu", second.State.Resources.Single(r => r.Key.EndsWith("/series.ics", StringComparison.Ordinal)).Value.Ics, StringComparison.Ordinal);
        Assert.DoesNotContain(second.State.Resources.Keys, k => k.EndsWith("/allday.ics", StringComparison.Ordinal));
        // The private event's resource is reused, not fetched again.
        Assert.Same(first.State.Resources.Single(r => r.Key.EndsWith("/private.ics", StringComparison.Ordinal)).Value,
            second.State.Resources.Single(r => r.Key.EndsWith("/private.ics", StringComparison.Ordinal)).Value);
    }

    [Fact]
    public async Task Back_to_back_requests_to_a_server_that_closes_every_connection_all_get_answers()
    {
        // Radicale answers with HTTP/1.0 and closes each connection after one answer. A client that reuses such a
        // connection sends now and then into one that is closing, and that request ends without an answer; with a
        // connection per request (and no retry anywhere) every one of these must be answered.
        const string Propfind = "<?xml version=\"1.0\" encoding=\"utf-8\"?><d:propfind xmlns:d=\"DAV:\"><d:prop><d:getetag/></d:prop></d:propfind>";
        var statuses = new List<int>();
        for (var i = 0; i < 150; i++)
        {
            var reply = await _http.SendAsync(new HttpMethod("PROPFIND"), _radicale.Calendar, _radicale.CredentialsFile, Propfind, new Dictionary<string, string> { ["Depth"] = "0" }, default);
            statuses.Add(reply.Status);
        }

        Assert.All(statuses, s => Assert.Equal(207, s));
    }

    [Fact]
    public async Task Without_sync_collection_the_collection_tag_and_etags_find_the_changes()
    {
        await _radicale.PutAsync("a.ics", IcsSamples.Series("a"));
        await _radicale.PutAsync("b.ics", IcsSamples.Series("b"));
        var source = Source(syncCollection: false);

        var first = await source.SyncAsync(SourceState.Empty(source.Key), default);
        Assert.Equal((SyncMode.Full, 2), (first.Mode, first.State.Resources.Count));
        Assert.NotNull(first.State.CTag);
        Assert.Null(first.State.SyncToken);

        var same = await source.SyncAsync(first.State, default);
        Assert.Equal(SyncMode.Unchanged, same.Mode);

        await _radicale.PutAsync("b.ics", IcsSamples.Series("b", "Changed"));
        await _radicale.DeleteAsync("a.ics");
        var changed = await source.SyncAsync(first.State, default);
        Assert.Equal((SyncMode.ETagCompare, 1, 1), (changed.Mode, changed.Changed, changed.Removed));
        Assert.Contains("Changed", Assert.Single(changed.State.Resources).Value.Ics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_invalid_sync_token_falls_back_to_a_full_sync()
    {
        await _radicale.PutAsync("a.ics", IcsSamples.Series("a"));
        var source = Source();
        var stale = SourceState.Empty(source.Key) with { SyncToken = "http://radicale.org/ns/sync/0000000000000000000000000000000000000000000000000000000000000000" };

        var outcome = await source.SyncAsync(stale, default);

        Assert.Equal(SyncMode.Full, outcome.Mode);
        Assert.Single(outcome.State.Resources);
    }

    [Fact]
    public async Task Refused_credentials_fail_the_sync_without_revealing_them()
    {
        var wrong = Path.Combine(_radicale.Directory, "wrong");
        await File.WriteAllTextAsync(wrong, "room\nnot-the-password\n");

        var ex = await Assert.ThrowsAsync<CalendarSyncException>(() => Source(credentials: wrong).SyncAsync(SourceState.Empty("k"), default));

        Assert.Contains("credentials", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-password", ex.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(RadicaleServer.Password, ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_server_fails_the_sync_with_a_reason()
    {
        await _radicale.StopAsync();
        var ex = await Assert.ThrowsAsync<CalendarSyncException>(() => Source().SyncAsync(SourceState.Empty("k"), default));
        Assert.Contains("cannot be reached", ex.Message, StringComparison.Ordinal);
    }
}
