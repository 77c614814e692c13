using System.Text.Json.Nodes;
using Room.Rtc.Janus;

namespace Room.Rtc.Tests;

public class JanusTrickleTests
{
    private static JanusEvent Trickle(JsonObject candidate) =>
        new("trickle", null, null, null, new JsonObject { ["janus"] = "trickle", ["sender"] = 1, ["candidate"] = candidate });

    [Fact]
    public void Janus_trickle_events_raise_remote_candidates_and_their_end()
    {
        var handle = new JanusHandle(null!, 1);
        var seen = new List<string?>();
        handle.RemoteCandidate += seen.Add;
        handle.Post(Trickle(new JsonObject { ["sdpMid"] = "0", ["sdpMLineIndex"] = 0, ["candidate"] = "candidate:1 1 udp 2015363327 10.0.0.2 30000 typ host" }));
        handle.Post(Trickle(new JsonObject { ["completed"] = true }));
        Assert.Equal(["candidate:1 1 udp 2015363327 10.0.0.2 30000 typ host", null], seen);
        Assert.Equal(Rtc.RtcError.None, Sdp.IceCandidate.TryParse(seen[0]!, out _));
    }

    [Fact]
    public void Malformed_trickle_events_raise_nothing()
    {
        var handle = new JanusHandle(null!, 1);
        var seen = new List<string?>();
        handle.RemoteCandidate += seen.Add;
        handle.Post(Trickle(new JsonObject { ["candidate"] = 42 }));
        handle.Post(Trickle(new JsonObject { ["completed"] = "yes" }));
        handle.Post(Trickle(new JsonObject { ["completed"] = false }));
        handle.Post(new JanusEvent("trickle", null, null, null, new JsonObject { ["candidate"] = "not an object" }));
        handle.Post(new JanusEvent("event", null, null, null, new JsonObject { ["candidate"] = new JsonObject { ["candidate"] = "x" } }));
        Assert.Empty(seen);
    }
}
