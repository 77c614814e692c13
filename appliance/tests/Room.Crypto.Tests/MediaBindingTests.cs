using System.Text.RegularExpressions;
using Room.Crypto.Media;
using Room.Crypto.Mls;
using Room.Crypto.SFrame;

namespace Room.Crypto.Tests;

public sealed partial class MediaBindingTests
{
    private sealed class ManualTime : TimeProvider
    {
        public long Ticks { get; set; }

        public override long GetTimestamp() => Ticks;

        public override long TimestampFrequency => 1000;
    }

    private static (MlsGroup A, MlsGroup B, MlsGroup C) ThreeMembers()
    {
        var cs = MlsCipherSuite.Get(1);
        var a = MlsGroup.Create(MlsIdentity.CreateBasic(cs, "a"), "media"u8.ToArray());
        var bId = MlsIdentity.CreateBasic(cs, "b");
        var cId = MlsIdentity.CreateBasic(cs, "c");
        var bKp = bId.CreateKeyPackage();
        var cKp = cId.CreateKeyPackage();
        var commit = a.Commit(add: [bKp.KeyPackage, cKp.KeyPackage]);
        var b = MlsGroup.Join(bId, bKp, commit.Welcome!.Welcome!);
        var c = MlsGroup.Join(cId, cKp, commit.Welcome!.Welcome!);
        return (a, b, c);
    }

    private static byte[] Send(MlsSFrameBinding from, byte[] frame)
    {
        byte[] buf = new byte[frame.Length + from.MaxOverhead];
        int n = from.Encrypt("hdr"u8, frame, buf);
        return buf[..n];
    }

    private static byte[] Receive(MlsSFrameBinding at, byte[] sframe)
    {
        byte[] buf = new byte[sframe.Length];
        int n = at.Decrypt("hdr"u8, sframe, buf);
        return buf[..n];
    }

    [Fact]
    public void Every_member_decrypts_every_other_members_frames_with_per_sender_keys()
    {
        var (a, b, c) = ThreeMembers();
        using var ma = new MlsSFrameBinding(a);
        using var mb = new MlsSFrameBinding(b);
        using var mc = new MlsSFrameBinding(c);
        byte[] frame = new byte[1200];
        Random.Shared.NextBytes(frame);
        var fromA = Send(ma, frame);
        var fromB = Send(mb, frame);
        Assert.Equal(frame, Receive(mb, fromA));
        Assert.Equal(frame, Receive(mc, fromA));
        Assert.Equal(frame, Receive(ma, fromB));
        var ha = SFrameHeader.Decode(fromA, out _);
        var hb = SFrameHeader.Decode(fromB, out _);
        Assert.NotEqual(ha.KeyId, hb.KeyId);
        Assert.Equal(MlsSFrameBinding.KeyId(a.Epoch, a.MyLeaf), ha.KeyId);
    }

    [Fact]
    public void Rekey_forces_a_keyframe_and_old_keys_work_only_during_the_grace_period()
    {
        var (a, b, c) = ThreeMembers();
        var time = new ManualTime();
        using var ma = new MlsSFrameBinding(a, time: time, gracePeriod: TimeSpan.FromSeconds(2));
        using var mb = new MlsSFrameBinding(b, time: time, gracePeriod: TimeSpan.FromSeconds(2));
        ma.KeyframeSent();
        mb.KeyframeSent();
        int keyframeEvents = 0;
        mb.KeyframeNeeded += (_, _) => keyframeEvents++;
        byte[] frame = [1, 2, 3, 4];
        var oldFrame = Send(ma, frame);
        var lateOldFrame = Send(ma, frame); // another frame of the old epoch, first seen after the grace period

        var commit = c.Commit();
        a.Process(commit.Commit);
        b.Process(commit.Commit);
        Assert.True(ma.KeyframeRequired);
        Assert.True(mb.KeyframeRequired);
        Assert.Equal(1, keyframeEvents);

        var newFrame = Send(ma, frame);
        Assert.NotEqual(SFrameHeader.Decode(oldFrame, out _).KeyId, SFrameHeader.Decode(newFrame, out _).KeyId);
        Assert.Equal(frame, Receive(mb, newFrame));
        time.Ticks += 1000; // 1 s: inside the grace period
        Assert.Equal(frame, Receive(mb, oldFrame));
        time.Ticks += 2000; // 3 s: grace period over
        Assert.Throws<SFrameException>(() => Receive(mb, lateOldFrame));
        Assert.Equal(frame, Receive(mb, Send(ma, frame))); // the current epoch goes on
    }

    [Fact]
    public void With_a_send_delay_a_member_keeps_its_old_key_until_the_others_can_read_the_new_one()
    {
        var (a, b, c) = ThreeMembers();
        var time = new ManualTime();
        using var ma = new MlsSFrameBinding(a, time: time, sendSwitchDelay: TimeSpan.FromMilliseconds(500));
        using var mb = new MlsSFrameBinding(b, time: time);
        ma.KeyframeSent();
        var keyframeEvents = new List<ulong>();
        ma.KeyframeNeeded += (_, epoch) => keyframeEvents.Add(epoch);
        byte[] frame = [1, 2, 3, 4];
        var oldKid = SFrameHeader.Decode(Send(ma, frame), out _).KeyId;

        var commit = c.Commit();
        a.Process(commit.Commit); // a has the new epoch; b has not processed the commit yet
        var during = Send(ma, frame);
        Assert.Equal(oldKid, SFrameHeader.Decode(during, out _).KeyId);
        Assert.Equal(frame, Receive(mb, during)); // b, still in the old epoch, reads it
        Assert.False(ma.KeyframeRequired);
        Assert.Empty(keyframeEvents);

        b.Process(commit.Commit);
        time.Ticks += 499;
        Assert.Equal(oldKid, SFrameHeader.Decode(Send(ma, frame), out _).KeyId);
        time.Ticks += 1; // the delay is over: the next frame goes out with the new key and a keyframe is asked for
        var after = Send(ma, frame);
        Assert.Equal(MlsSFrameBinding.KeyId(a.Epoch, a.MyLeaf), SFrameHeader.Decode(after, out _).KeyId);
        Assert.Equal([a.Epoch], keyframeEvents);
        Assert.True(ma.KeyframeRequired);
        Assert.Equal(frame, Receive(mb, after));
    }

    [Fact]
    public void A_second_rekey_during_the_send_delay_switches_to_the_newest_key_at_once()
    {
        var (a, b, c) = ThreeMembers();
        var time = new ManualTime();
        using var ma = new MlsSFrameBinding(a, time: time, sendSwitchDelay: TimeSpan.FromMilliseconds(500));
        using var mb = new MlsSFrameBinding(b, time: time);
        int keyframeEvents = 0;
        ma.KeyframeNeeded += (_, _) => keyframeEvents++;
        byte[] frame = [1, 2, 3, 4];
        var first = c.Commit();
        a.Process(first.Commit);
        b.Process(first.Commit);
        var second = c.Commit(); // before a's delay is over: a's old key would now be two epochs old
        a.Process(second.Commit);
        b.Process(second.Commit);
        var sent = Send(ma, frame);
        Assert.Equal(MlsSFrameBinding.KeyId(a.Epoch, a.MyLeaf), SFrameHeader.Decode(sent, out _).KeyId);
        Assert.Equal(1, keyframeEvents);
        Assert.Equal(frame, Receive(mb, sent));
    }

    [Fact]
    public void After_two_quick_rekeys_a_frame_from_two_epochs_back_still_opens_inside_its_grace_period()
    {
        var (a, b, c) = ThreeMembers();
        var time = new ManualTime();
        using var ma = new MlsSFrameBinding(a, time: time, gracePeriod: TimeSpan.FromSeconds(2));
        using var mb = new MlsSFrameBinding(b, time: time, gracePeriod: TimeSpan.FromSeconds(2));
        byte[] frame = [9, 8, 7];
        var inFlight = Send(ma, frame); // sent, not yet received, when two rekeys follow
        var late = Send(ma, frame);
        for (int i = 0; i < 2; i++)
        {
            var commit = c.Commit();
            a.Process(commit.Commit);
            b.Process(commit.Commit);
            time.Ticks += 500;
        }

        Assert.Equal(frame, Receive(mb, inFlight));
        time.Ticks += 1500; // 2.5 s after the first rekey: that epoch's keys are gone
        Assert.Throws<SFrameException>(() => Receive(mb, late));
    }

    [Fact]
    public void A_send_delay_as_long_as_the_grace_period_is_refused()
    {
        var (a, _, _) = ThreeMembers();
        Assert.Throws<ArgumentOutOfRangeException>(() => new MlsSFrameBinding(a, gracePeriod: TimeSpan.FromSeconds(1), sendSwitchDelay: TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void A_removed_member_cannot_read_media_of_the_next_epoch()
    {
        var (a, b, c) = ThreeMembers();
        using var ma = new MlsSFrameBinding(a);
        using var mc = new MlsSFrameBinding(c);
        var commit = a.Commit(remove: [c.MyLeaf]);
        c.Process(commit.Commit);
        Assert.True(c.Removed);
        var f = Send(ma, [9, 9, 9]);
        Assert.Throws<SFrameException>(() => Receive(mc, f));
        b.Dispose();
    }

    [Fact]
    public void Streams_encrypting_on_several_threads_never_reuse_a_counter()
    {
        var (a, b, _) = ThreeMembers();
        using var ma = new MlsSFrameBinding(a);
        using var mb = new MlsSFrameBinding(b);
        var frames = new System.Collections.Concurrent.ConcurrentBag<byte[]>();
        Parallel.For(0, 4, _ =>
        {
            for (int i = 0; i < 500; i++)
            {
                frames.Add(Send(ma, [1, 2, 3]));
            }
        });
        var counters = frames.Select(f => SFrameHeader.Decode(f, out _).Counter).ToList();
        Assert.Equal(2000, counters.Distinct().Count());
        // In counter order (the receiver's replay window is 64 frames wide).
        Assert.All(frames.OrderBy(f => SFrameHeader.Decode(f, out _).Counter).Take(100), f => Assert.Equal([1, 2, 3], Receive(mb, f)));
    }

    [GeneratedRegex("^([0-9]{5} ){11}[0-9]{5}$")]
    private static partial Regex CodeShape();

    [Fact]
    public void Security_code_is_twelve_groups_of_five_digits_equal_on_all_members_and_changes_per_epoch()
    {
        var (a, b, c) = ThreeMembers();
        using var ma = new MlsSFrameBinding(a);
        using var mb = new MlsSFrameBinding(b);
        using var mc = new MlsSFrameBinding(c);
        string code = ma.SecurityCode;
        Assert.Matches(CodeShape(), code);
        Assert.Equal(code, mb.SecurityCode);
        Assert.Equal(code, mc.SecurityCode);
        var commit = b.Commit();
        a.Process(commit.Commit);
        c.Process(commit.Commit);
        Assert.NotEqual(code, ma.SecurityCode);
        Assert.Equal(ma.SecurityCode, mb.SecurityCode);
        Assert.Equal(ma.SecurityCode, mc.SecurityCode);
    }
}
