using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Room.Call;
using Room.Call.E2ee;
using Room.Devices;
using Room.Media.Audio;
using Room.Rtc;
using Room.Rtc.Congestion;
using Room.Rtc.Dtls;
using Room.Rtc.Janus;
using Room.Rtc.Sdp;

namespace Room.Appliance.Meeting;

/// <summary>
/// For tests only: a bare Janus VideoRoom (<c>test-janus-linkkey://host:8188/ROOM#k=KEY</c>): joins the room over Janus's WebSocket API,
/// publishes the room's camera and microphones (VP8 + Opus through Room.Call, over our WebRTC stack), subscribes to
/// every other publisher in one multistream subscription and follows them joining and leaving. Every frame is
/// SFrame-encrypted with keys from the link's meeting secret (interim keying: MLS through the meeting-server is the
/// intended path), so Janus forwards ciphertext only.
/// </summary>
public sealed class JanusTransport(ILoggerFactory loggers, IceServerSet? iceServers = null, Microsoft.Extensions.Options.IOptions<CallOptions>? call = null) : IMeetingTransport
{
    public async Task<IMeetingSession> ConnectAsync(Uri meeting, string roomName, bool microphoneMuted, CancellationToken cancellationToken)
    {
        var (ws, room, key) = MeetingUri.ParseJanus(meeting);
        var keying = new LinkKeying(key);
        try
        {
            var servers = await ResolveAsync(iceServers, cancellationToken).ConfigureAwait(false);
            return await JanusSession.ConnectAsync(new JanusRoomAccess(ws, room), keying, roomName, microphoneMuted, LocalAddresses(), servers, loggers.CreateLogger<JanusSession>(), cancellationToken,
                call: call?.Value).ConfigureAwait(false);
        }
        catch
        {
            await keying.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The configured STUN/TURN servers (Room:IceServers) for one call, or none.</summary>
    internal static async Task<CallIceServers> ResolveAsync(IceServerSet? iceServers, CancellationToken cancellationToken) =>
        iceServers is { Any: true } ? await iceServers.ResolveAsync(cancellationToken).ConfigureAwait(false) : CallIceServers.None;

    /// <summary>Addresses to gather host candidates on: every up interface's IPv4 unicast addresses, loopback last.</summary>
    internal static IReadOnlyList<IPAddress> LocalAddresses()
    {
        var list = NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus is OperationalStatus.Up or OperationalStatus.Unknown && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses.Select(a => a.Address))
            .Where(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
            .Distinct()
            .ToList();
        list.Add(IPAddress.Loopback);
        return list;
    }
}

/// <summary>
/// Where and how to enter a Janus VideoRoom: its WebSocket, the room, and (from a meeting server) the tokens, PIN and
/// the publisher id to join under (the server kicks it by that id).
/// </summary>
/// <see cref="TrustedCa"/> (a meeting server's organisation CA): Janus must be reached over <c>wss://</c> with a certificate
/// from that CA for the host of <see cref="WebSocket"/>.
internal sealed record JanusRoomAccess(Uri WebSocket, long Room, string? SessionToken = null, string? Pin = null, string? RoomToken = null, long? PublisherId = null,
    System.Security.Cryptography.X509Certificates.X509Certificate2? TrustedCa = null);

/// <summary>
/// How a Janus call is keyed and who is in it: the one seam between the link-keyed and the MLS-keyed call (both use
/// Room.Call's <see cref="ISFrameKeySource"/> and <see cref="SFrameEncryptor"/>; the call's media code is the same).
/// </summary>
internal interface ICallKeying : IAsyncDisposable
{
    /// <summary>The encryptor of this room's stream (0 video, 1 audio).</summary>
    SFrameEncryptor CreateEncryptor(FrameKind kind, uint stream);

    /// <summary>Keys of the senders whose frames are accepted.</summary>
    ISFrameKeySource ReceiveKeys { get; }

    string SecurityCode { get; }

    /// <summary>How the media is keyed, for the media report.</summary>
    string Encryption { get; }

    /// <summary>Keys from an MLS group (end-to-end); false for keys anyone with the meeting link can derive.</summary>
    bool EndToEnd { get; }

    /// <summary>The keys' current state for the media report (MLS: epoch and members), or null.</summary>
    string? KeyState => null;

    /// <summary>The other participants as the keying knows them (MLS: from the tree), or null: Janus's publishers.</summary>
    IReadOnlyList<MeetingParticipant>? Others { get; }

    /// <summary>Keys, security code or participants changed (a rekey: the sender makes a keyframe).</summary>
    event EventHandler? Changed;

    /// <summary>The keying ended the call (this room was removed from the meeting).</summary>
    event EventHandler<CallEnd>? Ended;

    Task LeaveAsync(CancellationToken cancellationToken);
}

/// <summary>Interim keying of bare-Janus meetings: the link's secret (<see cref="LinkKey"/>), one random KID pair per session.</summary>
internal sealed class LinkKeying(LinkKey key) : ICallKeying
{
    private readonly ulong _kid = LinkKey.NewKeyId() & ~1UL;

    public SFrameEncryptor CreateEncryptor(FrameKind kind, uint stream) => key.CreateEncryptor(kind, _kid | stream);

    public ISFrameKeySource ReceiveKeys => key;

    public string SecurityCode => key.SecurityCode;

    public string Encryption =>
        "SFrame AES-128-GCM (RFC 9605) per frame, VP8 payload header in clear; interim key from the meeting link (not MLS)";

    public bool EndToEnd => false;

    public IReadOnlyList<MeetingParticipant>? Others => null;

    public event EventHandler? Changed { add { } remove { } }

    public event EventHandler<CallEnd>? Ended { add { } remove { } }

    public Task LeaveAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public ValueTask DisposeAsync()
    {
        key.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>One joined Janus VideoRoom.</summary>
internal sealed class JanusSession : IMeetingSession, ICallMedia
{
    private readonly JanusClient _janus;
    private readonly VideoRoomClient _room;
    private readonly ICallKeying _keying;
    private readonly Uri _server;
    private readonly string _roomName;
    private readonly IReadOnlyList<IPAddress> _addresses;
    private readonly ILogger _logger;
    private readonly CallOptions _call;
    private readonly RtcTransport _publish;
    private readonly PublishedStreams _streams;
    private readonly RtcTransport _subscribe;
    private readonly SFrameEncryptor _videoOut, _audioOut;
    private readonly SFrameDecryptor _videoIn, _audioIn;
    private readonly Channel<(long Feed, bool Joined)> _feedChanges = Channel.CreateUnbounded<(long, bool)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly HashSet<long> _subscribed = [];
    private readonly Lock _gate = new();
    private JanusHandle? _subscription;

    // Janus takes "subscribe" only on a subscriber that has joined; a join that failed (a listed feed gone by the
    // time it was asked for, as after a rejoin) leaves the handle unconfigured, and the next feed joins afresh.
    private bool _subscriptionJoined;
    private bool _subscribeConnected;
    private CallPublisher? _publisher;
    private bool _muted;
    private volatile bool _leaving;
    private Task _follow = Task.CompletedTask, _watch = Task.CompletedTask, _connect = Task.CompletedTask, _watchSubscription = Task.CompletedTask;
    private Rtc.Interop.AddressMonitor? _addressMonitor;
    private Rtc.Ice.IceNetworkWatcher? _publishWatcher, _subscribeWatcher;
    private Task _renegotiate = Task.CompletedTask;

    private JanusSession(JanusClient janus, VideoRoomClient room, ICallKeying keying, Uri server, string roomName, bool muted, IReadOnlyList<IPAddress> addresses, ILogger logger,
        CallOptions call)
    {
        _call = call;
        _janus = janus;
        _room = room;
        _keying = keying;
        _server = server;
        _roomName = roomName;
        _muted = muted;
        _addresses = addresses;
        _logger = logger;
        _streams = PublishedStreams.CreateRandom();
        _publish = new RtcTransport(addresses, controlling: true, logger: logger);
        _subscribe = new RtcTransport(addresses, controlling: false, logger: logger);
        _videoOut = keying.CreateEncryptor(FrameKind.Vp8, 0);
        _audioOut = keying.CreateEncryptor(FrameKind.Audio, 1);
        _videoIn = new SFrameDecryptor(FrameKind.Vp8, keying.ReceiveKeys);
        _audioIn = new SFrameDecryptor(FrameKind.Audio, keying.ReceiveKeys);
        Subscriber = new CallSubscriber(_subscribe, new SubscriberOptions(), _videoIn, _audioIn, logger);
        _publish.Ice.StateChanged += s =>
        {
            if (s == Rtc.Ice.IceState.Connected) TransportChanged?.Invoke(this, EventArgs.Empty);
        };
        keying.Changed += OnKeyingChanged;
        keying.Ended += OnKeyingEnded;
    }

    public event EventHandler? TransportChanged;

    /// <summary>A rekey: the next video frame is a keyframe under the new key (receivers that just joined can start).</summary>
    private void OnKeyingChanged(object? sender, EventArgs e)
    {
        CallPublisher? publisher;
        lock (_gate)
        {
            publisher = _publisher;
        }

        publisher?.RequestKeyframe();
        Changed?.Invoke(this, EventArgs.Empty);
    }

    private void OnKeyingEnded(object? sender, CallEnd end)
    {
        if (!_leaving) Ended?.Invoke(this, end);
    }

    public static async Task<JanusSession> ConnectAsync(JanusRoomAccess access, ICallKeying keying, string roomName, bool muted, IReadOnlyList<IPAddress> addresses,
        CallIceServers iceServers, ILogger logger, CancellationToken ct, JoinTimeline? timeline = null, CallOptions? call = null)
    {
        var server = access.WebSocket;
        long roomId = access.Room;
        JanusClient janus;
        JanusCertificateCheck? check = null;
        if (access.TrustedCa is { } ca)
        {
            if (server.Scheme != "wss")
            {
                throw new MeetingFailedException($"The meeting server handed out its media server as {server.Scheme}://{server.Authority}: this room talks to Janus only over wss:// with a certificate from the organisation CA.");
            }

            check = new JanusCertificateCheck(ca);
        }

        try
        {
            janus = await JanusClient.ConnectAsync(server, access.SessionToken, check is null ? null : check.Validate, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (check?.Refusal is { } refusal && ex is System.Net.WebSockets.WebSocketException or IOException or HttpRequestException)
        {
            throw new MeetingFailedException($"The media server (Janus) at {server.Authority} is not trusted: {refusal}.", ex);
        }
        catch (Exception ex) when (ex is System.Net.WebSockets.WebSocketException or IOException or RtcFormatException or HttpRequestException)
        {
            throw new MeetingFailedException($"The Janus server at {server.Authority} is not reachable: {ex.Message}", ex);
        }

        VideoRoomClient room;
        try
        {
            room = await VideoRoomClient.JoinAsync(janus, roomId, roomName, access.Pin, access.RoomToken, access.PublisherId, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RtcFormatException or IOException)
        {
            await janus.DisposeAsync().ConfigureAwait(false);
            throw new MeetingFailedException($"Janus refused to let the room join VideoRoom {roomId}: {ex.Message}", ex);
        }

        timeline?.Mark(JoinSteps.MediaServer);
        var session = new JanusSession(janus, room, keying, server, roomName, muted, addresses, logger, call ?? new CallOptions()) { RoomId = roomId, _timeline = timeline };
        try
        {
            await session.GatherAsync(iceServers, ct).ConfigureAwait(false);
            // The others' feeds are asked for while our own is being published (both legs connect at once), so that
            // the first picture does not wait for our sending path.
            room.PublisherJoined += session.OnPublisherJoined;
            room.PublisherLeft += session.OnPublisherLeft;
            foreach (var p in room.Publishers) session._feedChanges.Writer.TryWrite((p.Id, true));
            session._follow = Task.Run(session.FollowAsync, CancellationToken.None);
            await session.PublishAsync(ct).ConfigureAwait(false);
            timeline?.Mark(JoinSteps.Sending);
            session._watch = Task.Run(session.WatchAsync, CancellationToken.None);
            session.FollowNetworkChanges();
        }
        catch
        {
            await session.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        logger.LogInformation("Joined Janus VideoRoom {Room} at {Server} as publisher {Id}; {Count} other publishers", roomId, server, room.PublisherId, room.Publishers.Count);
        return session;
    }

    public long RoomId { get; private init; }

    private JoinTimeline? _timeline;

    public CallSubscriber Subscriber { get; }

    public string Transport => $"Janus VideoRoom {RoomId} at {_server} (WebRTC: ICE, DTLS-SRTP; VP8 + Opus); media {Path(_publish.Ice)}";

    /// <summary>How a leg's selected pair reaches Janus, as far as we know it: "direct", "relay over TLS via turns:...", or "not connected".</summary>
    internal static string Path(Rtc.Ice.IceAgent ice) => ice.SelectedPath switch
    {
        null => "not connected",
        { Relay: { } relay } => $"relay over {relay.Transport switch { Rtc.Ice.TurnTransport.Tls => "TLS", Rtc.Ice.TurnTransport.Tcp => "TCP", _ => "UDP" }} via {relay.Label}",
        { Type: CandidateType.ServerReflexive } => "direct (server-reflexive)",
        _ => "direct",
    };

    private static readonly TimeSpan s_gatherTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Server-reflexive candidates from every STUN server and a relayed candidate from every TURN server, on both legs,
    /// all at once; a server that fails or does not answer within 10 s is logged and left out (the others, or the host
    /// candidates, may still carry the call).
    /// </summary>
    private async Task GatherAsync(CallIceServers servers, CancellationToken ct)
    {
        if (servers.Stun.Count == 0 && servers.Turn.Count == 0) return;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(s_gatherTimeout);
        var work = new List<Task>();
        foreach (var (leg, transport) in new[] { ("sending", _publish), ("receiving", _subscribe) })
        {
            foreach (var (label, endPoint) in servers.Stun)
                work.Add(Try(leg, label, () => transport.Ice.GatherServerReflexiveAsync(endPoint, timeout.Token)));
            foreach (var relay in servers.Turn)
                work.Add(Try(leg, relay.Label, () => transport.Ice.AddTurnRelayAsync(relay, timeout.Token)));
        }

        await Task.WhenAll(work).ConfigureAwait(false);
        ct.ThrowIfCancellationRequested();
        _logger.LogInformation("Candidates: sending {Sending}; receiving {Receiving}",
            string.Join(", ", _publish.Ice.LocalCandidates.Select(c => $"{c.Type} {c.EndPoint}")),
            string.Join(", ", _subscribe.Ice.LocalCandidates.Select(c => $"{c.Type} {c.EndPoint}")));

        async Task Try(string leg, string label, Func<Task> gather)
        {
            try
            {
                await gather().ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                _logger.LogWarning("ICE server {Server} gave the {Leg} leg no candidate within {Seconds} s", label, leg, s_gatherTimeout.TotalSeconds);
            }
            catch (Exception ex) when (ex is RtcFormatException or TimeoutException or SocketException or IOException or InvalidOperationException)
            {
                _logger.LogWarning("ICE server {Server} gave the {Leg} leg no candidate: {Message}", label, leg, ex.Message);
            }
        }
    }

    public string Encryption => _keying.Encryption;

    public bool EndToEnd => _keying.EndToEnd;

    public IReadOnlyDictionary<long, string> FeedNames =>
        _room.Publishers.ToDictionary(p => p.Id, p => p.Display ?? $"Participant {p.Id}");

    public string SecurityCode => _keying.SecurityCode;

    // Also when the room is no host yet: it may become one during the call (its Waiting stays empty until then).
    public IMeetingLobby? Lobby => _keying as IMeetingLobby;

    public MediaKeys? Keys => null;

    public ICallMedia? CallMedia => this;

    public event EventHandler? Changed;

    public event EventHandler<CallEnd>? Ended;

    public IReadOnlyList<MeetingParticipant> Participants
    {
        get
        {
            var list = new List<MeetingParticipant> { new(_room.PublisherId.ToString(System.Globalization.CultureInfo.InvariantCulture), _roomName, _muted) };
            if (_keying.Others is { } others)
            {
                list.AddRange(others);
                return list;
            }

            list.AddRange(_room.Publishers.OrderBy(p => p.Id).Select(p =>
                new MeetingParticipant(p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), p.Display ?? $"Participant {p.Id}", false)));
            return list;
        }
    }

    private string RejectionReasons()
    {
        var reasons = new[] { ("video", _videoIn.Rejected, _videoIn.LastError), ("audio", _audioIn.Rejected, _audioIn.LastError) }
            .Where(r => r.Item2 > 0).Select(r => $"{r.Item1}: {r.Item3}").ToList();
        return reasons.Count == 0 ? "" : $" (last {string.Join(", ", reasons)})";
    }

    public string Statistics
    {
        get
        {
            var p = _publisher;
            var lines = new List<string>
            {
                $"call: {Transport}, {Subscriber.Videos.Count + Subscriber.Audios.Count} remote tracks subscribed",
                $"call encryption: {Encryption}{(_keying.KeyState is { } keys ? "; " + keys : "")}",
                $"call sent: video {p?.VideoFramesSent ?? 0} frames ({p?.VideoFramesSkipped ?? 0} skipped for the frame rate, last took {p?.LastCaptureToPacket.TotalMilliseconds ?? 0:F1} ms, " +
                $"{p?.VideoBitrate ?? 0} bit/s target; keyframes {p?.KeyframesSent ?? 0}: {p?.KeyframesRequested ?? 0} asked for by PLI/FIR " +
                $"({p?.KeyframesDeferred ?? 0} of them after the spacing), {p?.KeyframesForced ?? 0} for a new key or subscriber, the rest periodic, the first or for a new picture size), " +
                $"audio {p?.AudioFramesSent ?? 0} frames, " +
                $"{_videoOut.Frames + _audioOut.Frames} frames encrypted, rtp {_publish.RtpPacketsSent}",
                $"call received: video {Subscriber.VideoFramesDecoded} frames decoded from {Subscriber.Videos.Count} streams, " +
                $"audio {Subscriber.AudioFramesDecoded} frames decoded from {Subscriber.Audios.Count} streams, " +
                $"{_videoIn.Rejected + _audioIn.Rejected} frames rejected by SFrame{RejectionReasons()}, rtp {_subscribe.RtpPacketsReceived}, NACKs {Subscriber.NacksSent}, PLIs {Subscriber.PlisSent}",
            };
            if (p is not null) lines.Add(PictureLine(p));
            if (_timeline is { } timeline)
            {
                // The decode time is kept where it happened; it is entered here, on the timeline's own clock.
                long first = Subscriber.Videos.Select(v => v.FirstDecodeTicks).Where(t => t != 0).DefaultIfEmpty().Min();
                if (first != 0) timeline.MarkAgo(JoinSteps.FirstPicture, _subscribe.TimeProvider.GetElapsedTime(first));
                lines.Add($"call join: {timeline} after Join");
            }

            lines.Add($"call ice: sending {_publish.Ice.State} (consent refreshed {_publish.Ice.ConsentRefreshes} times), receiving {_subscribe.Ice.State} (consent refreshed {_subscribe.Ice.ConsentRefreshes} times)");
            lines.Add($"call path: sending {Path(_publish.Ice)}, receiving {Path(_subscribe.Ice)}");
            if (_publish.Congestion is { } cc)
            {
                lock (cc)
                {
                    lines.Add($"call congestion: target {cc.TargetBps} bit/s, acked {cc.AckedBps:F0} bit/s, loss {cc.LastLossFraction:P1}, {cc.LastUsage}; " +
                        $"link capacity {(cc.LinkCapacityBps < 0 ? "unknown" : $"{cc.LinkCapacityBps:F0} bit/s")}, cut {cc.Decreases} times for delay, {cc.LossDecreases} for loss");
                }
            }

            foreach (var v in Subscriber.Videos)
            {
                var j = v.Pipeline.JitterBuffer;
                lines.Add($"call video from feed {v.Stream.Feed}: {v.Packets} packets, {v.Retransmissions} retransmitted, {j.Duplicates} duplicate, {j.LatePackets} late, " +
                    $"{j.MalformedPackets} malformed; frames {j.FramesDelivered} whole, {v.FramesDecoded} decoded, {v.FramesRejected} rejected, {j.FramesExpired} given up " +
                    $"({j.JumpsToKeyframe} for a keyframe ahead), {j.FramesCutOff} cut off before their last packet, {j.FramesSkippedForKeyframe} skipped until a keyframe");
            }

            foreach (var a in Subscriber.Audios)
            {
                var j = a.JitterBuffer;
                lines.Add($"call audio from feed {a.Stream.Feed}: {a.Packets} packets, {j.FramesDecoded} decoded, {j.FramesRecoveredByFec} by FEC, " +
                    $"{j.FramesConcealed} concealed, {j.LatePackets} late, {j.MalformedPackets} malformed, {a.FramesRejected} rejected; " +
                    $"jitter buffer {j.TargetDelay.TotalMilliseconds:F0} ms target, {j.CurrentDelay.TotalMilliseconds:F0} ms now, jitter {j.Jitter.TotalMilliseconds:F1} ms, " +
                    $"{j.FramesDropped} dropped, {j.FramesStretched} stretched, {j.ChangesInSpeech} of those in speech");
            }

            return string.Join('\n', lines);
        }
    }

    public VideoFormat ChooseCapture(IReadOnlyList<VideoFormat> formats) => _call.ChooseCapture(formats);

    /// <summary>The picture sent and its changes with the bandwidth, each with its reason, for the media report.</summary>
    internal static string PictureLine(CallPublisher p)
    {
        var (up, down, last) = p.VideoSizeChanges;
        var (failed, why) = p.VideoSizeFailures;
        var size = p.VideoSize;
        return $"call picture: sending {size.Width}x{size.Height}@{size.FramesPerSecond}; {up + down} changes for the bandwidth ({up} up, {down} down)" +
            (last is { } l ? $", last {l}" : "") + (failed > 0 ? $"; {failed} not taken (last: {why})" : "");
    }

    public CallPublisher StartPublishing(VideoFormat captureFormat, int microphoneChannels, AudioProcessor? processor)
    {
        var publisher = new CallPublisher(_publish, _streams, captureFormat, _call.Publisher(captureFormat), microphoneChannels, _videoOut, _audioOut, processor);
        lock (_gate)
        {
            publisher.MicrophoneMuted = _muted;
            _publisher = publisher;
        }

        publisher.RequestKeyframe();
        return publisher;
    }

    public void SetMicrophoneMuted(bool muted)
    {
        lock (_gate)
        {
            _muted = muted;
            _publisher?.MicrophoneMuted = muted;
        }

        Changed?.Invoke(this, EventArgs.Empty);
    }

    private async Task PublishAsync(CancellationToken ct)
    {
        var offer = _streams.CreateOffer(_publish);
        var answer = SessionDescription.Parse(await _room.PublishAsync(offer.ToString(), ct).ConfigureAwait(false));
        _publish.ApplyRemote(answer);
        int twcc = answer.Media.FirstOrDefault(m => m.Kind == "video")?.ExtensionId(SdpBuilder.TransportCcUri) ?? -1;
        if (twcc > 0)
        {
            _publish.TransportCcExtensionId = twcc;
            _publish.Congestion = _call.CreateCongestionController();
        }

        var role = answer.SessionOrFirstMedia("setup") == "passive" ? DtlsRole.Client : DtlsRole.Server;
        try
        {
            await _publish.ConnectAsync(role, answer.SessionOrFirstMedia("fingerprint") ?? "", ct).ConfigureAwait(false);
        }
        catch (RtcFormatException ex)
        {
            throw new MeetingFailedException($"No media connection to Janus at {_server.Authority}: {ex.Message}", ex);
        }
    }

    private void OnPublisherJoined(JanusPublisher p)
    {
        _feedChanges.Writer.TryWrite((p.Id, true));
        Changed?.Invoke(this, EventArgs.Empty);
    }

    private void OnPublisherLeft(long id)
    {
        _feedChanges.Writer.TryWrite((id, false));
        Changed?.Invoke(this, EventArgs.Empty);
    }

    /// <summary>
    /// One at a time, in order: subscribe to feeds that joined; answer the offers Janus sends by itself when a
    /// subscribed publisher leaves or unpublishes (it drops their streams from the subscription on its own).
    /// </summary>
    private async Task FollowAsync()
    {
        var ct = _stop.Token;
        try
        {
            await foreach (var (feed, joined) in _feedChanges.Reader.ReadAllAsync(ct).ConfigureAwait(false))
            {
                try
                {
                    if (feed == RenegotiateMarker)
                    {
                        while (_offers.TryDequeue(out var offer)) await AnswerAsync(offer, ct).ConfigureAwait(false);
                    }
                    else if (feed == IceRestartMarker)
                    {
                        await RestartSubscriptionIceAsync(ct).ConfigureAwait(false);
                    }
                    else if (joined && _subscribed.Add(feed))
                    {
                        try
                        {
                            await SubscribeAsync([feed], ct).ConfigureAwait(false);
                        }
                        catch
                        {
                            _subscribed.Remove(feed); // not subscribed: if it is published again, it is asked for again
                            throw;
                        }
                    }
                    else if (!joined)
                    {
                        _subscribed.Remove(feed);
                    }
                }
                catch (Exception ex) when (ex is RtcFormatException or IOException or MeetingFailedException or System.Net.WebSockets.WebSocketException)
                {
                    _logger.LogWarning("Subscription not updated ({Feed}): {Message}",
                        feed == RenegotiateMarker ? "offer from Janus" : feed == IceRestartMarker ? "ICE restart" : feed, ex.Message);
                }

                Changed?.Invoke(this, EventArgs.Empty);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private const long RenegotiateMarker = long.MinValue;
    private const long IceRestartMarker = long.MinValue + 1;

    /// <summary>
    /// Keeps both legs on the box's current addresses: when an address goes or comes (DHCP renewal, a cable moved), the
    /// agents rebind and restart ICE (new credentials) and both legs are renegotiated with Janus (a new publish offer;
    /// a subscription "restart"); media goes on without rejoining. If the renegotiation cannot be done (the signalling
    /// connection went with the old address), the call ends rejoinable and the meeting service rejoins.
    /// </summary>
    private void FollowNetworkChanges()
    {
        try
        {
            _addressMonitor = Rtc.Interop.AddressMonitor.Start();
        }
        catch (IOException ex)
        {
            _logger.LogWarning("Network changes are not followed (no rtnetlink: {Message}); a call that loses its address rejoins instead", ex.Message);
            return;
        }

        _publishWatcher = new Rtc.Ice.IceNetworkWatcher(_publish.Ice, _addressMonitor);
        _subscribeWatcher = new Rtc.Ice.IceNetworkWatcher(_subscribe.Ice, _addressMonitor);
        _publishWatcher.Restarted += () =>
        {
            lock (_gate)
            {
                _renegotiate = _renegotiate.ContinueWith(_ => RenegotiatePublicationAsync(), TaskScheduler.Default).Unwrap();
            }
        };
        _subscribeWatcher.Restarted += () => _feedChanges.Writer.TryWrite((IceRestartMarker, false));
    }

    private static readonly TimeSpan s_renegotiationTimeout = TimeSpan.FromSeconds(10);

    private async Task RenegotiatePublicationAsync()
    {
        if (_leaving) return;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        timeout.CancelAfter(s_renegotiationTimeout);
        try
        {
            var offer = _streams.CreateOffer(_publish);
            var answer = SessionDescription.Parse(await _room.RenegotiateAsync(offer.ToString(), timeout.Token).ConfigureAwait(false));
            _publish.ApplyRemote(answer);
            _logger.LogInformation("Network changed: sending leg renegotiated with Janus (ICE restart, candidates {Candidates})",
                string.Join(", ", _publish.Ice.LocalCandidates.Select(c => c.EndPoint)));
        }
        catch (Exception ex) when (ex is RtcFormatException or IOException or OperationCanceledException or System.Net.WebSockets.WebSocketException)
        {
            if (_leaving || _stop.IsCancellationRequested) return;
            string why = ex is OperationCanceledException ? "Janus did not answer" : ex.Message;
            _logger.LogWarning("Network changed and the sending leg could not be renegotiated: {Message}", why);
            Ended?.Invoke(this, new CallEnd($"The network changed and the call to Janus at {_server.Authority} could not follow ({why}).", CanRejoin: true));
        }
    }

    private async Task RestartSubscriptionIceAsync(CancellationToken ct)
    {
        if (_subscription is null) return;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(s_renegotiationTimeout);
        try
        {
            var offer = SessionDescription.Parse(await VideoRoomClient.RestartSubscriptionAsync(_subscription, timeout.Token).ConfigureAwait(false));
            _subscribe.ApplyRemote(offer);
            var answer = SdpBuilder.CreateReceiveAnswer(offer, _subscribe.Ice, _subscribe.Certificate, ["VP8", "opus"]);
            await VideoRoomClient.StartAsync(_subscription, answer.ToString(), timeout.Token).ConfigureAwait(false);
            _logger.LogInformation("Network changed: receiving leg renegotiated with Janus (ICE restart)");
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is RtcFormatException or IOException or OperationCanceledException or System.Net.WebSockets.WebSocketException)
        {
            string why = ex is OperationCanceledException ? "Janus did not answer" : ex.Message;
            _logger.LogWarning("Network changed and the receiving leg could not be renegotiated: {Message}", why);
            if (!_leaving)
                Ended?.Invoke(this, new CallEnd($"The network changed and the call to Janus at {_server.Authority} could not follow ({why}).", CanRejoin: true));
        }
    }
    private readonly System.Collections.Concurrent.ConcurrentQueue<JanusEvent> _offers = new();

    /// <summary>Offers Janus sends on the subscription by itself (not replies to our requests) go to the follow loop.</summary>
    private async Task WatchSubscriptionAsync(JanusHandle subscription)
    {
        try
        {
            await foreach (var e in subscription.Events.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            {
                if (e.JsepType == "offer" && e.Sdp is not null && e.Raw["transaction"] is null)
                {
                    _offers.Enqueue(e);
                    _feedChanges.Writer.TryWrite((RenegotiateMarker, false));
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task SubscribeAsync(IReadOnlyList<long> add, CancellationToken ct)
    {
        JanusEvent reply;
        if (_subscription is null)
        {
            _subscription = await _janus.AttachAsync(VideoRoomClient.Plugin, ct).ConfigureAwait(false);
            _watchSubscription = Task.Run(() => WatchSubscriptionAsync(_subscription), CancellationToken.None);
        }

        if (!_subscriptionJoined)
        {
            var join = new JsonObject { ["request"] = "join", ["ptype"] = "subscriber", ["room"] = RoomId, ["streams"] = Feeds(add) };
            if (_room.Pin is not null) join["pin"] = _room.Pin;
            if (_room.RoomToken is not null) join["token"] = _room.RoomToken;
            // Tied to our publisher: a meeting server's room requires it, and a kick of our publisher ends this subscription too.
            if (_room.PrivateId is { } pvt) join["private_id"] = pvt;
            reply = await _subscription.MessageAsync(join, null, null, ct).ConfigureAwait(false);
        }
        else
        {
            reply = await _subscription.MessageAsync(new JsonObject { ["request"] = "subscribe", ["streams"] = Feeds(add) }, null, null, ct).ConfigureAwait(false);
        }

        if (reply.Sdp is null && reply.Data?["error"] is { } error)
        {
            throw new MeetingFailedException($"Janus: {error}");
        }

        _subscriptionJoined = true;
        if (reply.Sdp is null)
        {
            return; // nothing to renegotiate
        }

        await AnswerAsync(reply, ct).ConfigureAwait(false);
    }

    /// <summary>Answers a subscription offer (first or renegotiated) and follows its streams.</summary>
    private async Task AnswerAsync(JanusEvent offerEvent, CancellationToken ct)
    {
        var offer = SessionDescription.Parse(offerEvent.Sdp!);
        var feedsByMid = new Dictionary<string, long>();
        if (offerEvent.Data?["streams"] is JsonArray streams)
        {
            foreach (var s in streams.OfType<JsonObject>())
            {
                if ((string?)s["mid"] is { } mid && s["feed_id"] is JsonValue f && f.TryGetValue(out long feed)) feedsByMid[mid] = feed;
            }
        }

        var answer = SdpBuilder.CreateReceiveAnswer(offer, _subscribe.Ice, _subscribe.Certificate, ["VP8", "opus"]);

        Subscriber.SetStreams(RemoteTrack.FromOffer(offer, feedsByMid));
        if (!_subscribeConnected) _subscribe.ApplyRemote(offer);
        await VideoRoomClient.StartAsync(_subscription!, answer.ToString(), ct).ConfigureAwait(false);
        if (!_subscribeConnected)
        {
            // ICE and DTLS come up in the background: later feeds are renegotiated meanwhile, nothing waits on it.
            _subscribeConnected = true;
            _connect = ConnectSubscriptionAsync(offer.SessionOrFirstMedia("fingerprint") ?? "", ct);
        }

        _logger.LogInformation("Subscription: {Count} feeds, {Tracks} tracks", _subscribed.Count, Subscriber.Videos.Count + Subscriber.Audios.Count);
    }

    private async Task ConnectSubscriptionAsync(string fingerprint, CancellationToken ct)
    {
        try
        {
            await _subscribe.ConnectAsync(DtlsRole.Client, fingerprint, ct).ConfigureAwait(false);
            _logger.LogInformation("Receiving from Janus (ICE {State}, DTLS-SRTP up)", _subscribe.Ice.State);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
#pragma warning disable CA1031 // ICE, DTLS (BouncyCastle) or SRTP setup: any failure ends the call with its reason.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _logger.LogError("The media connection for receiving from Janus failed: {Message}", ex.Message);
            if (!_leaving) Ended?.Invoke(this, new CallEnd($"The media connection to Janus at {_server.Authority} failed: {ex.Message}", CanRejoin: true));
        }
    }

    private static JsonArray Feeds(IEnumerable<long> feeds) => new(feeds.Select(f => (JsonNode)new JsonObject { ["feed"] = f }).ToArray());

    /// <summary>
    /// Janus going away or either media leg failing ends the call (with the reason, rejoinable: the meeting goes on);
    /// our own leaving does not.
    /// </summary>
    private async Task WatchAsync()
    {
        var mediaFailed = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        _publish.Ice.StateChanged += s =>
        {
            if (s == Rtc.Ice.IceState.Failed) mediaFailed.TrySetResult("sending");
        };
        _subscribe.Ice.StateChanged += s =>
        {
            // Only once it had connected: failing to connect at all is reported by ConnectSubscriptionAsync.
            if (s == Rtc.Ice.IceState.Failed && _subscribe.Keys is not null) mediaFailed.TrySetResult("receiving");
        };
        try
        {
            var first = await Task.WhenAny(_room.Handle.Events.Completion, mediaFailed.Task, Task.Delay(Timeout.Infinite, _stop.Token)).ConfigureAwait(false);
            if (_leaving || _stop.IsCancellationRequested) return;
            string reason;
            if (first == mediaFailed.Task)
            {
                string leg = await mediaFailed.Task.ConfigureAwait(false);
                var ice = leg == "sending" ? _publish.Ice : _subscribe.Ice;
                var (sent, answered, accepted) = ice.Counters;
                reason = $"The media connection to Janus at {_server.Authority} was lost ({leg}: no answer to connectivity checks for 30 s).";
                _logger.LogWarning("{Reason} ICE: {Checks} checks sent, {Answered} requests answered, {Accepted} responses accepted, consent refreshed {Refreshes} times",
                    reason, sent, answered, accepted, ice.ConsentRefreshes);
            }
            else
            {
                reason = $"The connection to the Janus server at {_server.Authority} ended: {(_janus.CloseReason ?? "closed").TrimEnd('.')}.";
                _logger.LogWarning("{Reason}", reason);
            }

            Ended?.Invoke(this, new CallEnd(reason, CanRejoin: true));
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async Task LeaveAsync(CancellationToken cancellationToken)
    {
        _leaving = true;
        await _keying.LeaveAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _room.Handle.MessageAsync(new JsonObject { ["request"] = "leave" }, null, null, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or System.Net.WebSockets.WebSocketException or RtcFormatException)
        {
            _logger.LogInformation("Leave not acknowledged by Janus: {Message}", ex.Message);
        }
    }

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _leaving = true;
        _keying.Changed -= OnKeyingChanged;
        _keying.Ended -= OnKeyingEnded;
        _room.PublisherJoined -= OnPublisherJoined;
        _room.PublisherLeft -= OnPublisherLeft;
        _publishWatcher?.Dispose();
        _subscribeWatcher?.Dispose();
        _addressMonitor?.Dispose();
        await _stop.CancelAsync().ConfigureAwait(false);
        _feedChanges.Writer.TryComplete();
        Task renegotiate;
        lock (_gate)
        {
            renegotiate = _renegotiate;
        }

        try
        {
            await Task.WhenAll(_follow, _watch, _connect, _watchSubscription, renegotiate).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _room.Dispose();
        await _janus.DisposeAsync().ConfigureAwait(false);
        Subscriber.Dispose();
        _publish.Dispose();
        _subscribe.Dispose();
        _videoOut.Dispose();
        _audioOut.Dispose();
        _videoIn.Dispose();
        _audioIn.Dispose();
        await _keying.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}

/// <summary>
/// Chooses the transport by the meeting address: meeting:// (and https://server/meetings/ID) to the meeting server
/// (MLS-keyed Janus call); the test schemes test-janus-linkkey:// (bare Janus room, link-keyed) and test-loopback://
/// (simulated peer) to theirs. Nothing else reaches a transport (MeetingUri refuses it).
/// </summary>
public sealed class MeetingTransportRouter(LoopbackTransport loopback, JanusTransport janus, MeetingServerTransport meetingServer) : IMeetingTransport
{
    public Task<IMeetingSession> ConnectAsync(Uri meeting, string roomName, bool microphoneMuted, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(meeting);
        if (MeetingUri.IsMeetingServer(meeting)) return meetingServer.ConnectAsync(meeting, roomName, microphoneMuted, cancellationToken);
        if (MeetingUri.IsJanus(meeting)) return janus.ConnectAsync(meeting, roomName, microphoneMuted, cancellationToken);
        if (MeetingUri.IsTestLoopback(meeting)) return loopback.ConnectAsync(meeting, roomName, microphoneMuted, cancellationToken);
        throw new MeetingFailedException($"'{MeetingUri.Display(meeting)}' is not a meeting roomd can join.");
    }
}
