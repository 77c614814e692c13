using Room.Call.E2ee;
using Room.Crypto.Mls;
using Room.Crypto.SFrame;

namespace Room.Call.Tests;

/// <summary>
/// SFrame keys from real MLS groups (in process, basic credentials): the keys the Janus call of a meeting-server
/// meeting uses, through the same encryptor and decryptor as the link key.
/// </summary>
public sealed class MlsCallKeysTests : IDisposable
{
    private static readonly MlsCipherSuite Suite = MlsCipherSuite.Get(2);
    private readonly List<IDisposable> _owned = [];

    private sealed record Member(string Name, MlsGroup Group, MlsCallKeys Keys, SFrameEncryptor Video, SFrameDecryptor VideoIn);

    private Member Wrap(string name, MlsGroup group)
    {
        var keys = new MlsCallKeys(group);
        var m = new Member(name, group, keys, new SFrameEncryptor(FrameKind.Vp8, keys, 0), new SFrameDecryptor(FrameKind.Vp8, keys));
        _owned.AddRange([m.VideoIn, m.Video, keys, group]);
        return m;
    }

    private Member Create(string name) => Wrap(name, MlsGroup.Create(MlsIdentity.CreateBasic(Suite, name), "meeting"u8.ToArray()));

    /// <summary><paramref name="by"/> adds <paramref name="name"/>; everyone in <paramref name="others"/> processes the commit.</summary>
    private Member Add(Member by, string name, params Member[] others)
    {
        var id = MlsIdentity.CreateBasic(Suite, name);
        var kp = id.CreateKeyPackage();
        var c = by.Group.Commit(add: [kp.KeyPackage]);
        foreach (var o in others) o.Group.Process(MlsMessage.Decode(c.Commit.ToBytes()));
        return Wrap(name, MlsGroup.Join(id, kp, MlsMessage.Decode(c.Welcome!.ToBytes()).Welcome!));
    }

    private static uint LeafOf(Member m, string name) => m.Keys.Members.Single(x => x.Identity == name).Leaf;

    private static byte[] Encrypt(Member m, bool keyframe = false)
    {
        var frame = SFrameTransformTests.Vp8Frame(keyframe, 300);
        var output = new byte[frame.Length + SFrameLayout.MaxExpansion];
        int n = m.Video.Transform(frame, keyframe, output);
        return n < 0 ? [] : output[..n];
    }

    private static bool Opens(Member m, byte[] sframe)
    {
        var output = new byte[sframe.Length];
        return sframe.Length > 0 && m.VideoIn.Transform(sframe, false, output) > 0;
    }

    [Fact]
    public void Members_open_each_others_frames_and_see_one_security_code_and_roster_from_the_tree()
    {
        var a = Create("device:a");
        var b = Add(a, "device:b");
        Assert.True(Opens(b, Encrypt(a, keyframe: true)));
        Assert.True(Opens(a, Encrypt(b)));
        Assert.Equal(a.Keys.SecurityCode, b.Keys.SecurityCode);
        Assert.Matches(@"^(\d{5} ){11}\d{5}$", a.Keys.SecurityCode);
        Assert.Equal(["device:a", "device:b"], a.Keys.Members.Select(m => m.Identity));
        Assert.Equal(a.Keys.Members, b.Keys.Members);
        Assert.Equal(0, a.VideoIn.Rejected + b.VideoIn.Rejected);
    }

    [Fact]
    public void A_frame_under_a_KID_of_no_member_or_of_another_stream_range_or_of_another_group_is_refused()
    {
        var a = Create("device:a");
        var b = Add(a, "device:b");
        var other = Create("device:a"); // same name, another group: other keys
        Assert.False(Opens(b, Encrypt(other, keyframe: true)));

        // A sender that makes up a KID for a leaf that is empty, or a stream the call does not have.
        foreach (ulong kid in new[] { MlsCallKeys.KeyId(a.Group.Epoch, 7, 0), MlsCallKeys.KeyId(a.Group.Epoch, 0, 5) })
        {
            var forged = new SFrameEncryptor(FrameKind.Vp8, kid, new byte[32]);
            _owned.Add(forged);
            var frame = SFrameTransformTests.Vp8Frame(false, 200);
            var output = new byte[frame.Length + SFrameLayout.MaxExpansion];
            int n = forged.Transform(frame, false, output);
            Assert.False(Opens(b, output[..n]));
        }

        Assert.Equal(3, b.VideoIn.Rejected);
    }

    [Fact]
    public void A_join_rekeys_every_sender_changes_the_code_and_keeps_frames_in_flight_readable_since_nobody_left()
    {
        var a = Create("device:a");
        var b = Add(a, "device:b");
        string code1 = a.Keys.SecurityCode;
        byte[] inFlight = Encrypt(a, keyframe: true);
        ulong kid1 = a.Video.KeyId;
        long generation = b.Keys.Generation;
        int changes = 0;
        b.Keys.Changed += (_, _) => changes++;

        var c = Add(a, "device:c", b);
        Assert.Equal(1, changes);
        Assert.NotEqual(generation, b.Keys.Generation);
        Assert.NotEqual(code1, a.Keys.SecurityCode);
        Assert.Equal(a.Keys.SecurityCode, b.Keys.SecurityCode);
        Assert.Equal(a.Keys.SecurityCode, c.Keys.SecurityCode);
        Assert.Equal(3, b.Keys.Members.Count);

        byte[] next = Encrypt(a);
        Assert.NotEqual(kid1, a.Video.KeyId); // the epoch's own key
        Assert.True(Opens(b, inFlight)); // the previous epoch's key: everyone who held it is still here
        Assert.True(Opens(b, next));
        Assert.True(Opens(c, next));
        Assert.False(Opens(c, inFlight)); // the newcomer never had the previous epoch
    }

    [Fact]
    public void After_a_removal_the_removed_member_can_open_nothing_sent_after_it_and_nothing_it_sends_is_accepted()
    {
        var a = Create("device:a");
        var b = Add(a, "device:b");
        var c = Add(a, "device:c", b);
        Assert.True(Opens(c, Encrypt(a, keyframe: true)));
        byte[] fromC = Encrypt(c, keyframe: true);
        byte[] fromABefore = Encrypt(a);
        string code = a.Keys.SecurityCode;

        // A commits C's removal; B processes it. C keeps its state (a captured copy of the traffic, no commit processed).
        var removal = a.Group.Commit(remove: [LeafOf(a, "device:c")]);
        b.Group.Process(MlsMessage.Decode(removal.Commit.ToBytes()));
        Assert.NotEqual(code, a.Keys.SecurityCode);
        Assert.Equal(a.Keys.SecurityCode, b.Keys.SecurityCode);
        Assert.Equal(["device:a", "device:b"], b.Keys.Members.Select(m => m.Identity));

        byte[] fromAAfter = Encrypt(a, keyframe: true);
        Assert.True(Opens(b, fromAAfter));
        Assert.False(Opens(c, fromAAfter)); // the removed member cannot read what follows the removal
        Assert.False(Opens(b, fromC)); // nor is anything under its key accepted any more
        Assert.False(Opens(b, fromABefore)); // someone left: every older key is withdrawn at once

        // C learns of its removal: it sends nothing more, and still opens nothing new.
        c.Group.Process(MlsMessage.Decode(removal.Commit.ToBytes()));
        Assert.True(c.Keys.CheckRemoved());
        Assert.True(c.Keys.Removed);
        Assert.Empty(c.Keys.Members);
        Assert.Equal("", c.Keys.SecurityCode);
        Assert.Empty(Encrypt(c));
        Assert.Equal(1, c.Video.Dropped);
        Assert.False(Opens(c, Encrypt(a)));
    }

    [Fact]
    public void A_KID_refused_before_its_epoch_arrived_is_accepted_once_the_receiver_has_the_epoch()
    {
        var a = Create("device:a");
        var b = Add(a, "device:b");
        Assert.True(Opens(b, Encrypt(a, keyframe: true)));
        var id = MlsIdentity.CreateBasic(Suite, "device:c");
        var kp = id.CreateKeyPackage();
        var commit = a.Group.Commit(add: [kp.KeyPackage]);
        byte[] early = Encrypt(a, keyframe: true); // A is in the new epoch, B not yet
        Assert.False(Opens(b, early));
        b.Group.Process(MlsMessage.Decode(commit.Commit.ToBytes()));
        Assert.True(Opens(b, Encrypt(a)));
    }

    [Fact]
    public void The_send_counter_is_not_reset_while_the_epoch_stays()
    {
        var a = Create("device:a");
        _ = Add(a, "device:b");
        ulong last = 0;
        for (int i = 0; i < 3; i++)
        {
            var f = Encrypt(a);
            last = SFrameHeader.Decode(f.AsSpan(SFrameLayout.Vp8DeltaPrefix), out _).Counter;
        }

        Assert.Equal(2UL, last);
    }

    public void Dispose()
    {
        foreach (var o in _owned)
        {
            o.Dispose();
        }
    }
}
