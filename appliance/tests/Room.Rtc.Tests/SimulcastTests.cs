using Room.Rtc.Congestion;
using Room.Rtc.Dtls;
using Room.Rtc.Ice;
using Room.Rtc.Rtp;
using Room.Rtc.Sdp;

namespace Room.Rtc.Tests;

public sealed class SimulcastTests
{
    [Fact]
    public void Rid_lines_parse_with_payload_types_and_restrictions_and_print_back()
    {
        Assert.Equal(RtcError.None, RidDescription.TryParse("h send pt=96,98;max-width=1280;max-height=720", out var rid));
        Assert.Equal("h", rid!.Id);
        Assert.Equal("send", rid.Direction);
        Assert.Equal([96, 98], rid.PayloadTypes);
        Assert.Equal("1280", rid.Restrictions["max-width"]);
        Assert.Equal("h send pt=96,98;max-width=1280;max-height=720", rid.ToString());
        Assert.Equal(RtcError.None, RidDescription.TryParse("q recv", out var plain));
        Assert.Empty(plain!.PayloadTypes);
        Assert.Equal("q recv", plain.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("h")]
    [InlineData("h sendrecv")]
    [InlineData("h send extra junk")]
    [InlineData("h! send")]
    [InlineData("abcdefghijklmnopq send")] // 17 characters: no longer fits a one-byte extension element
    [InlineData("h send pt=")]
    [InlineData("h send pt=96,x")]
    [InlineData("h send pt=300")]
    [InlineData("h send max-width=wide")]
    [InlineData("h send max-width=1;max-width=2")]
    [InlineData("h send ;")]
    [InlineData("h send =5")]
    public void Malformed_rid_lines_are_refused(string value)
    {
        Assert.NotEqual(RtcError.None, RidDescription.TryParse(value, out var rid));
        Assert.Null(rid);
    }

    [Fact]
    public void Simulcast_lines_parse_alternatives_and_paused_streams_in_both_directions()
    {
        Assert.Equal(RtcError.None, SimulcastDescription.TryParse("send h;~m,m2;l recv r", out var sc));
        Assert.Equal(3, sc!.Send.Count);
        Assert.Equal(new SimulcastRid("h", false), sc.Send[0][0]);
        Assert.Equal([new SimulcastRid("m", true), new SimulcastRid("m2", false)], sc.Send[1]);
        Assert.Equal("r", sc.Receive[0][0].Rid);
        Assert.Equal("send h;~m,m2;l recv r", sc.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("send")]
    [InlineData("send h;m;l recv")]
    [InlineData("sideways h")]
    [InlineData("send h;;l")]
    [InlineData("send h;h")]
    [InlineData("send h,~")]
    [InlineData("send h send m")]
    [InlineData("send a;b;c;d;e;f;g;h;i;j;k;l;m;n;o;p;q")] // more streams than anyone sends
    public void Malformed_simulcast_lines_are_refused(string value)
    {
        Assert.NotEqual(RtcError.None, SimulcastDescription.TryParse(value, out var sc));
        Assert.Null(sc);
    }

    private static MediaDescription Video(params string[] attributes)
    {
        var m = new MediaDescription("video", 9, "UDP/TLS/RTP/SAVPF", ["96"]);
        foreach (var a in attributes)
        {
            int colon = a.IndexOf(':', StringComparison.Ordinal);
            m.Add(a[..colon], a[(colon + 1)..]);
        }
        return m;
    }

    [Fact]
    public void A_simulcast_line_must_name_only_rids_declared_with_its_direction()
    {
        var ok = Video("rid:h send", "rid:l send", "simulcast:send h;l");
        Assert.Equal(RtcError.None, ok.TryGetSimulcast(out var sc));
        Assert.Equal(2, sc!.Send.Count);
        Assert.Equal(RtcError.BadSyntax, Video("rid:h send", "simulcast:send h;l").TryGetSimulcast(out _));
        Assert.Equal(RtcError.BadSyntax, Video("rid:h recv", "simulcast:send h").TryGetSimulcast(out _));
        Assert.Equal(RtcError.BadSyntax, Video("rid:h send", "rid:h send", "simulcast:send h").TryGetSimulcast(out _));
        Assert.Equal(RtcError.None, Video("rid:h send").TryGetSimulcast(out var none));
        Assert.Null(none);
    }

    [Fact]
    public void A_simulcast_send_offer_declares_rids_simulcast_and_the_stream_id_extensions_and_reads_back()
    {
        using var ice = new IceAgent([System.Net.IPAddress.Loopback], controlling: true);
        var cert = DtlsCertificate.CreateSelfSigned();
        var offer = SdpBuilder.CreateSendOffer(ice, cert,
            [new SendTrack("video", "VP8", 90000, 1, 96, 1234, "room", "cam", RtxPayloadType: 97, RtxSsrc: 5678, Rids: ["h", "m", "l"])]);
        var parsed = SessionDescription.Parse(offer.ToString());
        var m = parsed.Media[0];
        Assert.Equal(RtcError.None, m.TryGetSimulcast(out var sc));
        Assert.Equal(["h", "m", "l"], sc!.Send.Select(s => s[0].Rid));
        Assert.True(m.ExtensionId(SdpBuilder.MidUri) > 0);
        Assert.True(m.ExtensionId(SdpBuilder.RidUri) > 0);
        Assert.True(m.ExtensionId(SdpBuilder.RepairedRidUri) > 0);
        Assert.Empty(m.All("ssrc")); // layers are identified by rid, not announced SSRCs
        Assert.Throws<ArgumentException>(() => SdpBuilder.CreateSendOffer(ice, cert,
            [new SendTrack("video", "VP8", 90000, 1, 96, 1, "room", "cam", Rids: ["h", "h"])]));
    }

    [Fact]
    public void Header_extensions_written_one_byte_form_read_back_and_the_rid_becomes_a_repaired_rid()
    {
        var packet = new byte[64];
        int n = RtpHeader.WriteFixed(packet, 96, true, 7, 90000, 0xABCDEF01);
        var w = new OneByteExtensionWriter(packet, n);
        w.AddUInt16(3, 0x1234);
        w.Add(1, "0"u8);
        w.Add(4, "h"u8);
        n = w.Finish();
        Assert.Equal(0, (n - RtpHeader.FixedLength) % 4);
        "payload"u8.CopyTo(packet.AsSpan(n));
        var span = packet.AsSpan(0, n + 7);
        Assert.Equal(RtcError.None, RtpHeader.TryParse(span, out var h));
        Assert.Equal(RtcError.None, h.TryGetExtension(span, 3, out var twcc));
        Assert.Equal([0x12, 0x34], twcc.ToArray());
        Assert.Equal(RtcError.None, h.TryGetExtension(span, 1, out var mid));
        Assert.Equal("0"u8.ToArray(), mid.ToArray());
        Assert.Equal(RtcError.None, h.TryGetExtension(span, 4, out var rid));
        Assert.Equal("h"u8.ToArray(), rid.ToArray());
        Assert.Equal("payload"u8.ToArray(), h.Payload(span).ToArray());

        Assert.True(RtpHeader.TryRenameOneByteExtension(span, 4, 5));
        Assert.Equal(RtcError.None, RtpHeader.TryParse(span, out h));
        Assert.Equal(RtcError.Unsupported, h.TryGetExtension(span, 4, out _));
        Assert.Equal(RtcError.None, h.TryGetExtension(span, 5, out var repaired));
        Assert.Equal("h"u8.ToArray(), repaired.ToArray());
        Assert.False(RtpHeader.TryRenameOneByteExtension(span, 9, 5));
    }

    [Fact]
    public void Extension_writer_refuses_ids_and_sizes_the_one_byte_form_cannot_carry()
    {
        var packet = new byte[64];
        int n = RtpHeader.WriteFixed(packet, 96, false, 1, 1, 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => { var w = new OneByteExtensionWriter(packet, n); w.Add(15, "x"u8); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { var w = new OneByteExtensionWriter(packet, n); w.Add(0, "x"u8); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { var w = new OneByteExtensionWriter(packet, n); w.Add(2, new byte[17]); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { var w = new OneByteExtensionWriter(packet, n); w.Add(2, []); });
        Assert.Throws<ArgumentException>(() => { var w = new OneByteExtensionWriter(packet.AsSpan(0, 20), n); w.Add(2, new byte[16]); });
    }

    [Theory]
    [InlineData(new byte[] { 0x90, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xBE, 0xDE, 0, 1, 0x4F, 0x68, 0, 0 })] // element runs past the block
    [InlineData(new byte[] { 0x90, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xBE, 0xDE, 0, 1, 0xF0, 0x68, 0, 0 })] // id 15: stop
    [InlineData(new byte[] { 0x90, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0x10, 0x00, 0, 1, 0x04, 0x01, 0x68, 0 })] // two-byte form
    [InlineData(new byte[] { 0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1 })] // no extension at all
    [InlineData(new byte[] { 0x90, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xBE, 0xDE, 0, 9 })] // block longer than the packet
    public void Renaming_an_extension_in_a_malformed_or_foreign_block_changes_nothing(byte[] packet)
    {
        var copy = packet.ToArray();
        Assert.False(RtpHeader.TryRenameOneByteExtension(packet, 4, 5));
        Assert.Equal(copy, packet);
    }
}

public sealed class SimulcastAllocatorTests
{
    private static readonly SimulcastLayerRate[] Layers =
    [
        new(50_000, 150_000, 200_000),    // 160x90
        new(150_000, 400_000, 500_000),   // 320x180
        new(400_000, 1_200_000, 1_500_000), // 640x360
    ];

    private static int[] Allocate(int bps, out int running)
    {
        var rates = new int[3];
        running = SimulcastAllocator.Allocate(bps, Layers, rates);
        return rates;
    }

    [Fact]
    public void Plenty_of_bandwidth_runs_every_layer_and_gives_the_top_one_the_rest_up_to_its_maximum()
    {
        Assert.Equal([150_000, 400_000, 1_450_000], Allocate(2_000_000, out int running));
        Assert.Equal(3, running);
        Assert.Equal([150_000, 400_000, 1_500_000], Allocate(10_000_000, out _));
    }

    [Fact]
    public void As_the_estimate_falls_the_highest_layer_stops_first_then_the_middle_one()
    {
        int previous = 3;
        foreach (int bps in new[] { 2_000_000, 1_500_000, 1_000_000, 900_000, 700_000, 500_000, 300_000, 150_000, 100_000 })
        {
            var rates = Allocate(bps, out int running);
            Assert.True(running <= previous, $"{bps}: a layer came back while the estimate fell");
            previous = running;
            for (int i = running; i < 3; i++) Assert.Equal(0, rates[i]);
            Assert.True(rates.Sum() <= Math.Max(bps, Layers[0].MinBps));
        }
        Assert.Equal([150_000, 400_000, 400_000], Allocate(950_000, out int three));
        Assert.Equal(3, three);
        Assert.Equal([150_000, 450_000, 0], Allocate(600_000, out int two)); // the top layer's minimum does not fit

        Assert.Equal(2, two);
        Assert.Equal([200_000, 0, 0], Allocate(250_000, out int one));
        Assert.Equal(1, one);
    }

    [Fact]
    public void The_lowest_layer_always_runs_even_below_its_minimum()
    {
        Assert.Equal([50_000, 0, 0], Allocate(10_000, out int running));
        Assert.Equal(1, running);
        Assert.Equal([50_000, 0, 0], Allocate(-5, out _));
    }

    [Fact]
    public void Inconsistent_layer_rates_are_refused()
    {
        var rates = new int[1];
        Assert.Throws<ArgumentException>(() => SimulcastAllocator.Allocate(1, [new SimulcastLayerRate(0, 1, 1)], rates));
        Assert.Throws<ArgumentException>(() => SimulcastAllocator.Allocate(1, [new SimulcastLayerRate(5, 4, 6)], rates));
        Assert.Throws<ArgumentException>(() => SimulcastAllocator.Allocate(1, [new SimulcastLayerRate(1, 4, 3)], rates));
        Assert.Throws<ArgumentException>(() => SimulcastAllocator.Allocate(1, [], rates));
        Assert.Throws<ArgumentException>(() => SimulcastAllocator.Allocate(1, Layers, rates));
    }
}
