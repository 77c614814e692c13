using Room.Rtc.Rtp;
using Room.Rtc.Srtp;
using Room.Testing;

namespace Room.Rtc.Tests;

public class SrtpTests
{
    [Fact]
    public void Key_derivation_matches_rfc3711_appendix_b3()
    {
        var key = Hex.Bytes("E1F97A0D3E018BE0D64FA32C06DE4139");
        var salt = Hex.Bytes("0EC675AD498AFEEBB6960B3AABE6");
        var cipher = new byte[16];
        var cipherSalt = new byte[14];
        var auth = new byte[20];
        SrtpSession.DeriveForTest(key, salt, 0, cipher);
        SrtpSession.DeriveForTest(key, salt, 2, cipherSalt);
        SrtpSession.DeriveForTest(key, salt, 1, auth);
        Assert.Equal("c61e7a93744f39ee10734afe3ff7a087", Hex.Of(cipher));
        Assert.Equal("30cbbc08863d8c85d49db34a9ae1", Hex.Of(cipherSalt));
        Assert.Equal("cebe321f6ff7716b6fd4ab49af256a156d38baa4", Hex.Of(auth));
    }

    [Fact]
    public void Aes_counter_keystream_matches_rfc3711_appendix_b2()
    {
        using var ctr = new AesCounterMode(Hex.Bytes("2B7E151628AED2A6ABF7158809CF4F3C"));
        var iv = Hex.Bytes("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000");
        var stream = new byte[0xFF02 * 16];
        ctr.Apply(iv, stream);
        Assert.Equal("e03ead0935c95e80e166b16dd92b4eb4", Hex.Of(stream.AsSpan(0, 16)));
        Assert.Equal("d23513162b02d0f72a43a2fe4a5f97ab", Hex.Of(stream.AsSpan(16, 16)));
        Assert.Equal("41e95b3bb0a2e8dd477901e4fca894c0", Hex.Of(stream.AsSpan(32, 16)));
        Assert.Equal("ec8cdf7398607cb0f2d21675ea9ea1e4", Hex.Of(stream.AsSpan(0xFEFF * 16, 16)));
        Assert.Equal("362b7c3c6773516318a077d7fc5073ae", Hex.Of(stream.AsSpan(0xFF00 * 16, 16)));
        Assert.Equal("6a2cc3787889374fbeb4c81b17ba6c44", Hex.Of(stream.AsSpan(0xFF01 * 16, 16)));
    }

    [Fact]
    public void Aes_counter_mode_matches_nist_sp800_38a_ctr_vector()
    {
        using var ctr = new AesCounterMode(Hex.Bytes("2b7e151628aed2a6abf7158809cf4f3c"));
        var data = Hex.Bytes("6bc1bee22e409f96e93d7e117393172a");
        ctr.Apply(Hex.Bytes("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"), data);
        Assert.Equal("874d6191b620e3261bef6864990db6ce", Hex.Of(data));
    }

    private static readonly byte[] GcmKey = Hex.Bytes("000102030405060708090a0b0c0d0e0f");
    private static readonly byte[] GcmSalt = Hex.Bytes("517569642070726f2071756f");
    private const string GcmRtp = "8040f17b8041f8d35501a0b247616c6c696120657374206f6d6e69732064697669736120696e207061727465732074726573";
    private const string GcmSrtp = "8040f17b8041f8d35501a0b2f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f42a5f47a51c7d19b36de3adf8833899d7f27beb16a9152cf765ee4390cce";
    private const string GcmRtcp = "81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61deadbeefdeadbeefdeadbeefdeadbeefdeadbeef";
    private const string GcmSrtcp = "81c8000d4d61727363e94885dcdab67ca727d7662f6b7e997ff5c0f76c06f32dc676a5f1730d6fda4ce09b4686303ded0bb9275bc84aa45896cf4d2fc5abf87245d9eade800005d4";

    [Fact]
    public void Gcm_rtp_protect_matches_rfc7714_section_16_1()
    {
        using var s = new SrtpSession(SrtpProfile.AeadAes128Gcm, GcmKey, GcmSalt, default, true);
        var buffer = new byte[200];
        var plain = Hex.Bytes(GcmRtp);
        plain.CopyTo(buffer, 0);
        Assert.Equal(RtcError.None, s.ProtectRtp(buffer, plain.Length, out int n));
        Assert.Equal(GcmSrtp, Hex.Of(buffer.AsSpan(0, n)));
    }

    [Fact]
    public void Gcm_rtp_unprotect_matches_rfc7714_section_16_1()
    {
        using var s = new SrtpSession(SrtpProfile.AeadAes128Gcm, GcmKey, GcmSalt, default, true);
        var buffer = Hex.Bytes(GcmSrtp);
        Assert.Equal(RtcError.None, s.UnprotectRtp(buffer, buffer.Length, out int n));
        Assert.Equal(GcmRtp, Hex.Of(buffer.AsSpan(0, n)));
    }

    [Fact]
    public void Gcm_rtcp_protect_and_unprotect_match_rfc7714_section_17_1()
    {
        using var s = new SrtpSession(SrtpProfile.AeadAes128Gcm, GcmKey, GcmSalt, default, true);
        var buffer = new byte[200];
        var plain = Hex.Bytes(GcmRtcp);
        plain.CopyTo(buffer, 0);
        Assert.Equal(RtcError.None, s.ProtectRtcpWithIndex(buffer, plain.Length, 0x5d4, out int n));
        Assert.Equal(GcmSrtcp, Hex.Of(buffer.AsSpan(0, n)));

        using var r = new SrtpSession(SrtpProfile.AeadAes128Gcm, GcmKey, GcmSalt, default, true);
        var wire = Hex.Bytes(GcmSrtcp);
        Assert.Equal(RtcError.None, r.UnprotectRtcp(wire, wire.Length, out int m));
        Assert.Equal(GcmRtcp, Hex.Of(wire.AsSpan(0, m)));
    }

    public static TheoryData<SrtpProfile> Profiles => new() { SrtpProfile.AesCm128HmacSha1Tag80, SrtpProfile.AeadAes128Gcm };

    private static (SrtpSession Tx, SrtpSession Rx) Pair(SrtpProfile profile)
    {
        var key = Enumerable.Range(1, 16).Select(i => (byte)i).ToArray();
        var salt = Enumerable.Range(100, SrtpProfiles.MasterSaltLength(profile)).Select(i => (byte)i).ToArray();
        return (new SrtpSession(profile, key, salt), new SrtpSession(profile, key, salt));
    }

    private static int Rtp(byte[] buffer, ushort seq, uint ssrc = 0x11223344, int payload = 100)
    {
        int n = RtpHeader.WriteFixed(buffer, 96, false, seq, seq * 3000u, ssrc);
        for (int i = 0; i < payload; i++) buffer[n + i] = (byte)(i + seq);
        return n + payload;
    }

    [Theory]
    [MemberData(nameof(Profiles))]
    public void Protected_rtp_round_trips_across_sequence_rollover(SrtpProfile profile)
    {
        var (tx, rx) = Pair(profile);
        using (tx)
        using (rx)
        {
            var buffer = new byte[1500];
            var expected = new byte[1500];
            for (int k = 0; k < 10; k++)
            {
                ushort seq = (ushort)(65530 + k);
                int len = Rtp(buffer, seq);
                buffer.AsSpan(0, len).CopyTo(expected);
                Assert.Equal(RtcError.None, tx.ProtectRtp(buffer, len, out int plen));
                Assert.Equal(len + SrtpProfiles.RtpOverhead(profile), plen);
                Assert.False(buffer.AsSpan(12, len - 12).SequenceEqual(expected.AsSpan(12, len - 12)));
                Assert.Equal(RtcError.None, rx.UnprotectRtp(buffer, plen, out int back));
                Assert.Equal(len, back);
                Assert.True(buffer.AsSpan(0, len).SequenceEqual(expected.AsSpan(0, len)));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Profiles))]
    public void Replayed_and_tampered_packets_are_rejected(SrtpProfile profile)
    {
        var (tx, rx) = Pair(profile);
        using (tx)
        using (rx)
        {
            var buffer = new byte[1500];
            int len = Rtp(buffer, 7);
            tx.ProtectRtp(buffer, len, out int plen);
            var copy = buffer.AsSpan(0, plen).ToArray();
            var tampered = copy.ToArray();
            tampered[20] ^= 1;
            Assert.Equal(RtcError.AuthenticationFailed, rx.UnprotectRtp(tampered, plen, out _));
            Assert.Equal(RtcError.None, rx.UnprotectRtp(buffer, plen, out _));
            Assert.Equal(RtcError.Replayed, rx.UnprotectRtp(copy.ToArray(), plen, out _));
            // move far ahead, then an old one is too old
            for (ushort seq = 8; seq < 300; seq++)
            {
                int l = Rtp(buffer, seq);
                tx.ProtectRtp(buffer, l, out int pl);
                Assert.Equal(RtcError.None, rx.UnprotectRtp(buffer, pl, out _));
            }
            Assert.Equal(RtcError.TooOld, rx.UnprotectRtp(copy.ToArray(), plen, out _));
        }
    }

    [Theory]
    [MemberData(nameof(Profiles))]
    public void Reordered_packets_within_the_window_are_accepted(SrtpProfile profile)
    {
        var (tx, rx) = Pair(profile);
        using (tx)
        using (rx)
        {
            var packets = new List<byte[]>();
            var buffer = new byte[1500];
            for (ushort seq = 65500; seq != 40; seq++)
            {
                int l = Rtp(buffer, seq);
                tx.ProtectRtp(buffer, l, out int pl);
                packets.Add(buffer.AsSpan(0, pl).ToArray());
            }
            var rng = new Random(5);
            // swap neighbours to reorder a little
            for (int i = 1; i < packets.Count; i += 2) (packets[i - 1], packets[i]) = (packets[i], packets[i - 1]);
            foreach (var p in packets) Assert.Equal(RtcError.None, rx.UnprotectRtp(p, p.Length, out _));
            _ = rng;
        }
    }

    [Theory]
    [MemberData(nameof(Profiles))]
    public void Protected_rtcp_round_trips_and_replay_is_rejected(SrtpProfile profile)
    {
        var (tx, rx) = Pair(profile);
        using (tx)
        using (rx)
        {
            var plain = Hex.Bytes(GcmRtcp);
            for (int k = 0; k < 3; k++)
            {
                var buffer = new byte[200];
                plain.CopyTo(buffer, 0);
                Assert.Equal(RtcError.None, tx.ProtectRtcp(buffer, plain.Length, out int n));
                var copy = buffer.AsSpan(0, n).ToArray();
                Assert.Equal(RtcError.None, rx.UnprotectRtcp(buffer, n, out int m));
                Assert.Equal(GcmRtcp, Hex.Of(buffer.AsSpan(0, m)));
                Assert.Equal(RtcError.Replayed, rx.UnprotectRtcp(copy.ToArray(), n, out _));
                var fresh = new byte[200];
                plain.CopyTo(fresh, 0);
                tx.ProtectRtcp(fresh, plain.Length, out _);
                fresh[10] ^= 0x40;
                Assert.Equal(RtcError.AuthenticationFailed, rx.UnprotectRtcp(fresh, n, out _));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Profiles))]
    public void Protect_and_unprotect_allocate_nothing_per_packet(SrtpProfile profile)
    {
        var (tx, rx) = Pair(profile);
        using (tx)
        using (rx)
        {
            var buffer = new byte[1500];
            int failures = 0;
            void One(ushort seq)
            {
                int l = Rtp(buffer, seq, payload: 1100);
                if (tx.ProtectRtp(buffer, l, out int pl) != RtcError.None) failures++;
                if (rx.UnprotectRtp(buffer, pl, out _) != RtcError.None) failures++;
            }
            for (ushort s = 0; s < 100; s++) One(s); // warm up, create stream state
            long before = ThreadAllocations.Start();
            for (ushort s = 100; s < 2100; s++) One(s);
            long allocated = ThreadAllocations.Since(before);
            Assert.Equal(0, failures);
            Assert.Equal(0, allocated);
        }
    }

    [Fact]
    public void A_hostile_peer_cannot_create_unbounded_stream_state()
    {
        var (tx, rx) = Pair(SrtpProfile.AeadAes128Gcm);
        using (tx)
        using (rx)
        {
            var buffer = new byte[1500];
            int rejected = 0;
            for (uint ssrc = 1; ssrc <= SrtpSession.MaxStreams + 50; ssrc++)
            {
                int l = Rtp(buffer, 1, ssrc);
                if (tx.ProtectRtp(buffer, l, out int pl) != RtcError.None) { rejected++; continue; }
                rx.UnprotectRtp(buffer, pl, out _);
            }
            Assert.Equal(50, rejected);
        }
    }

    [Theory]
    [MemberData(nameof(Profiles))]
    public void Random_garbage_is_rejected_without_exceptions(SrtpProfile profile)
    {
        var (tx, rx) = Pair(profile);
        using (tx)
        using (rx)
        {
            var rng = new Random(1234);
            var buffer = new byte[1600];
            for (int i = 0; i < 5000; i++)
            {
                int len = rng.Next(0, 1500);
                rng.NextBytes(buffer.AsSpan(0, len));
                if (i % 2 == 0 && len > 0) buffer[0] = 0x80;
                Assert.NotEqual(RtcError.None, rx.UnprotectRtp(buffer, len, out _));
                Assert.NotEqual(RtcError.None, rx.UnprotectRtcp(buffer, len, out _));
            }
        }
    }

    [Fact]
    public void Index_estimation_follows_rfc3711_appendix_a()
    {
        Assert.Equal(0x1_0002UL, SrtpSession.EstimateIndex(0x0_FFF0, 2));
        Assert.Equal(0x0_FFF0UL, SrtpSession.EstimateIndex(0x1_0002, 0xFFF0));
        Assert.Equal(0x0_0005UL, SrtpSession.EstimateIndex(0x0_0002, 5));
        Assert.Equal(0x0_FFF0UL, SrtpSession.EstimateIndex(0x0_0002, 0xFFF0)); // ROC 0 cannot go below 0
    }
}
