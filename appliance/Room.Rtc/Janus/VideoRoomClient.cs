using System.Collections.Concurrent;
using System.Text.Json.Nodes;

namespace Room.Rtc.Janus;

public sealed record JanusPublisher(long Id, string? Display);

/// <summary>
/// The Janus VideoRoom plugin as a participant sees it: join as publisher, publish (offer/answer), subscribe to
/// feeds through one multistream subscription and renegotiate it as publishers come and go.
/// </summary>
public sealed class VideoRoomClient : IDisposable
{
    public const string Plugin = "janus.plugin.videoroom";
    private readonly ConcurrentDictionary<long, JanusPublisher> _publishers = new();
    private readonly CancellationTokenSource _stop = new();

    private VideoRoomClient(JanusClient janus, JanusHandle handle, long room)
    {
        Janus = janus;
        Handle = handle;
        Room = room;
    }

    public JanusClient Janus { get; }
    public JanusHandle Handle { get; }
    public long Room { get; }
    public long PublisherId { get; private set; }

    /// <summary>The private_id Janus gave this publisher; subscriptions name it (rooms with require_pvtid insist).</summary>
    public long? PrivateId { get; private set; }

    /// <summary>The room's PIN, if it has one (subscriptions need it too).</summary>
    public string? Pin { get; private init; }

    /// <summary>This participant's token on the room's allowed list, if it has one.</summary>
    public string? RoomToken { get; private init; }

    /// <summary>Other publishers currently in the room.</summary>
    public IReadOnlyCollection<JanusPublisher> Publishers => _publishers.Values.ToList();

    public event Action<JanusPublisher>? PublisherJoined;
    public event Action<long>? PublisherLeft;

    public static Task<VideoRoomClient> JoinAsync(JanusClient janus, long room, string display, CancellationToken cancellationToken) =>
        JoinAsync(janus, room, display, null, null, cancellationToken);

    /// <summary>Joins as publisher; a room with a PIN and an allowed-token list needs <paramref name="pin"/> and <paramref name="roomToken"/>.</summary>
    public static Task<VideoRoomClient> JoinAsync(JanusClient janus, long room, string display, string? pin, string? roomToken, CancellationToken cancellationToken) =>
        JoinAsync(janus, room, display, pin, roomToken, null, cancellationToken);

    /// <summary>
    /// Joins as publisher under <paramref name="publisherId"/> when given (a meeting server hands it out and kicks the
    /// participant by it); subscriptions then carry this publisher's private_id, so a kick ends them as well.
    /// </summary>
    public static async Task<VideoRoomClient> JoinAsync(JanusClient janus, long room, string display, string? pin, string? roomToken, long? publisherId,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(janus);
        var handle = await janus.AttachAsync(Plugin, cancellationToken).ConfigureAwait(false);
        var client = new VideoRoomClient(janus, handle, room) { Pin = pin, RoomToken = roomToken };
        var body = new JsonObject { ["request"] = "join", ["ptype"] = "publisher", ["room"] = room, ["display"] = display };
        if (pin is not null) body["pin"] = pin;
        if (roomToken is not null) body["token"] = roomToken;
        if (publisherId is { } id) body["id"] = id;
        var joined = await handle.MessageAsync(body, null, null, cancellationToken).ConfigureAwait(false);
        if ((string?)joined.Data?["videoroom"] != "joined")
            throw new RtcFormatException(RtcError.Unsupported, "join failed: " + joined.Raw.ToJsonString());
        client.PublisherId = joined.Data!["id"]!.GetValue<long>();
        client.PrivateId = joined.Data["private_id"] is JsonValue pv && pv.TryGetValue(out long pvt) ? pvt : null;
        client.Track(joined.Data);
        _ = Task.Run(client.EventLoop, CancellationToken.None);
        return client;
    }

    private void Track(JsonObject? data)
    {
        if (data is null) return;
        if (data["publishers"] is JsonArray list)
        {
            foreach (var p in list.OfType<JsonObject>())
            {
                long id = p["id"]?.GetValue<long>() ?? 0;
                if (id == 0 || id == PublisherId) continue;
                var publisher = new JanusPublisher(id, (string?)p["display"]);
                if (_publishers.TryAdd(id, publisher)) PublisherJoined?.Invoke(publisher);
            }
        }
        foreach (var key in new[] { "leaving", "unpublished" })
        {
            if (data[key] is JsonValue v && v.TryGetValue(out long gone) && _publishers.TryRemove(gone, out _)) PublisherLeft?.Invoke(gone);
        }
    }

    private async Task EventLoop()
    {
        try
        {
            await foreach (var e in Handle.Events.ReadAllAsync(_stop.Token).ConfigureAwait(false))
                if (e.Kind == "event") Track(e.Data);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Publishes with our offer; returns Janus's answer SDP.</summary>
    public async Task<string> PublishAsync(string offerSdp, CancellationToken cancellationToken)
    {
        var r = await Handle.MessageAsync(new JsonObject { ["request"] = "publish" }, "offer", offerSdp, cancellationToken).ConfigureAwait(false);
        return r.Sdp ?? throw new RtcFormatException(RtcError.Unsupported, "publish not answered: " + r.Raw.ToJsonString());
    }

    /// <summary>
    /// Renegotiates our publication with a new offer (VideoRoom "configure" with a JSEP offer), e.g. after an ICE
    /// restart: the offer carries the new ufrag/pwd, Janus restarts its side; returns Janus's answer SDP.
    /// </summary>
    public async Task<string> RenegotiateAsync(string offerSdp, CancellationToken cancellationToken)
    {
        var r = await Handle.MessageAsync(new JsonObject { ["request"] = "configure" }, "offer", offerSdp, cancellationToken).ConfigureAwait(false);
        return r.Sdp ?? throw new RtcFormatException(RtcError.Unsupported, "configure not answered: " + r.Raw.ToJsonString());
    }

    /// <summary>Opens a subscription to <paramref name="feeds"/>; returns its handle and Janus's offer.</summary>
    public async Task<(JanusHandle Handle, string Offer)> SubscribeAsync(IEnumerable<long> feeds, CancellationToken cancellationToken)
    {
        var handle = await Janus.AttachAsync(Plugin, cancellationToken).ConfigureAwait(false);
        var streams = new JsonArray(feeds.Select(f => (JsonNode)new JsonObject { ["feed"] = f }).ToArray());
        var join = new JsonObject { ["request"] = "join", ["ptype"] = "subscriber", ["room"] = Room, ["streams"] = streams };
        if (Pin is not null) join["pin"] = Pin;
        if (RoomToken is not null) join["token"] = RoomToken;
        if (PrivateId is { } pvt) join["private_id"] = pvt;
        var r = await handle.MessageAsync(join, null, null, cancellationToken).ConfigureAwait(false);
        return (handle, r.Sdp ?? throw new RtcFormatException(RtcError.Unsupported, "subscribe not offered: " + r.Raw.ToJsonString()));
    }

    /// <summary>Answers a subscription offer (first one or a renegotiation).</summary>
    public static async Task StartAsync(JanusHandle subscription, string answerSdp, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        await subscription.MessageAsync(new JsonObject { ["request"] = "start" }, "answer", answerSdp, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Asks Janus to restart ICE on a subscription (VideoRoom "configure" with "restart": true), e.g. after our
    /// side's network changed; returns Janus's new offer. Answer it (<see cref="Sdp.SdpBuilder.CreateReceiveAnswer"/>
    /// with the restarted agent) through <see cref="StartAsync"/>.
    /// </summary>
    public static async Task<string> RestartSubscriptionAsync(JanusHandle subscription, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        var r = await subscription.MessageAsync(new JsonObject { ["request"] = "configure", ["restart"] = true }, null, null, cancellationToken)
            .ConfigureAwait(false);
        return r.Sdp ?? throw new RtcFormatException(RtcError.Unsupported, "restart not offered: " + r.Raw.ToJsonString());
    }

    /// <summary>
    /// Chooses which simulcast layer of the stream at <paramref name="mid"/> the subscription receives (VideoRoom
    /// "configure" with "substream": 0 is the lowest); Janus switches at the layer's next keyframe (it asks for one).
    /// </summary>
    public static async Task ConfigureSubstreamAsync(JanusHandle subscription, string mid, int substream, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        ArgumentNullException.ThrowIfNull(mid);
        ArgumentOutOfRangeException.ThrowIfNegative(substream);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(substream, 2);
        await subscription.MessageAsync(new JsonObject
        {
            ["request"] = "configure",
            ["streams"] = new JsonArray(new JsonObject { ["mid"] = mid, ["substream"] = substream }),
        }, null, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Adds and removes feeds of a subscription; returns Janus's new offer, or null if none was needed.</summary>
    public static async Task<string?> UpdateSubscriptionAsync(JanusHandle subscription, IEnumerable<long> add, IEnumerable<long> remove,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        string? offer = null;
        var adds = add.ToList();
        var removes = remove.ToList();
        if (removes.Count > 0)
        {
            var r = await subscription.MessageAsync(new JsonObject
            {
                ["request"] = "unsubscribe",
                ["streams"] = new JsonArray(removes.Select(f => (JsonNode)new JsonObject { ["feed"] = f }).ToArray()),
            }, null, null, cancellationToken).ConfigureAwait(false);
            offer = r.Sdp ?? offer;
        }
        if (adds.Count > 0)
        {
            var r = await subscription.MessageAsync(new JsonObject
            {
                ["request"] = "subscribe",
                ["streams"] = new JsonArray(adds.Select(f => (JsonNode)new JsonObject { ["feed"] = f }).ToArray()),
            }, null, null, cancellationToken).ConfigureAwait(false);
            offer = r.Sdp ?? offer;
        }
        return offer;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _stop.Dispose();
    }
}
