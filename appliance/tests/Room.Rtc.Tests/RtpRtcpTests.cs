using Room.Rtc.Rtcp;
using Room.Rtc.Rtp;

namespace Room.Rtc.Tests;

public class RtpRtcpTests
{
    [Fact]
    public void Rtp_header_with_csrc_and_one_byte_extension_parses()
    {
        // V=2 X=1 CC=1, M=1 PT=111, seq 0x1234, ts, ssrc, csrc, ext 0xBEDE len 1: id 3 len 2 (0xAABBCC) + pad, payload 4 bytes
        var p = Hex.Bytes("9181123400000064deadbeef01020304bede000132aabbcc11223344");
        Assert.Equal(RtcError.None, RtpHeader.TryParse(p, out var h));
        Assert.True(h.Marker);
        Assert.Equal(1, h.CsrcCount);
        Assert.Equal(0x01020304u, h.Csrc(p, 0));
        Assert.Equal((byte)1, h.PayloadType);
        Assert.Equal((ushort)0x1234, h.SequenceNumber);
        Assert.Equal(100u, h.Timestamp);
        Assert.Equal(0xdeadbeefu, h.Ssrc);
        Assert.Equal(24, h.HeaderLength);
        Assert.Equal("11223344", Hex.Of(h.Payload(p)));
        Assert.Equal(RtcError.None, h.TryGetExtension(p, 3, out var ext));
        Assert.Equal("aabbcc", Hex.Of(ext));
        Assert.Equal(RtcError.Unsupported, h.TryGetExtension(p, 4, out _));
    }

    [Theory]
    [InlineData("80", RtcError.Truncated)]
    [InlineData("4060000100000000deadbeef", RtcError.BadVersion)]
    [InlineData("8260000100000000deadbeef01020304", RtcError.Truncated)]
    [InlineData("9060000100000000deadbeefbede", RtcError.Truncated)]
    [InlineData("9060000100000000deadbeefbede0002aabbccdd", RtcError.Truncated)]
    [InlineData("a060000100000000deadbeef0000", RtcError.BadPadding)]
    [InlineData("a060000100000000deadbeef0005", RtcError.BadPadding)]
    public void Malformed_rtp_is_rejected_with_a_reason(string hex, RtcError expected)
    {
        Assert.Equal(expected, RtpHeader.TryParse(Hex.Bytes(hex), out _));
    }

    [Fact]
    public void Rtp_padding_is_excluded_from_the_payload()
    {
        var p = Hex.Bytes("a060000100000000deadbeefaabb0002");
        Assert.Equal(RtcError.None, RtpHeader.TryParse(p, out var h));
        Assert.Equal(2, h.PayloadLength);
        Assert.Equal(2, h.PaddingLength);
    }

    [Fact]
    public void Sender_report_round_trips_with_report_blocks()
    {
        var buffer = new byte[200];
        var sr = new SenderReport(0x11111111, 0x0102030405060708, 90000, 10, 1000, 1);
        var block = new ReportBlock(0x22222222, 25, -3, 70000, 12, 0x33333333, 65536);
        int n = sr.Write(buffer, [block]);
        Assert.Equal(52, n);
        Assert.Equal(RtcError.None, RtcpCompoundReader.Validate(buffer.AsSpan(0, n)));
        var reader = new RtcpCompoundReader(buffer.AsSpan(0, n));
        Assert.True(reader.TryRead(out var packet));
        Assert.Equal(RtcError.None, SenderReport.TryParse(packet, out var back));
        Assert.Equal(sr, back);
        Assert.Equal(block, SenderReport.Block(packet, 0));
        Assert.False(reader.TryRead(out _));
        Assert.Equal(RtcError.None, reader.Error);
    }

    [Fact]
    public void Compound_of_rr_nack_pli_fir_remb_round_trips()
    {
        var buffer = new byte[400];
        int n = ReceiverReport.Write(buffer, 1, [new ReportBlock(2, 0, 0, 5, 0, 0, 0)]);
        ushort[] lost = [65534, 65535, 0, 5, 100];
        n += RtcpWriter.WriteNack(buffer.AsSpan(n), 1, 2, lost);
        n += RtcpWriter.WritePli(buffer.AsSpan(n), 1, 2);
        n += RtcpWriter.WriteFir(buffer.AsSpan(n), 1, 2, 7);
        n += RtcpWriter.WriteRemb(buffer.AsSpan(n), 1, 1_234_567, [2, 3]);
        Assert.Equal(RtcError.None, RtcpCompoundReader.Validate(buffer.AsSpan(0, n)));

        var reader = new RtcpCompoundReader(buffer.AsSpan(0, n));
        Assert.True(reader.TryRead(out var rr));
        Assert.Equal(RtcError.None, ReceiverReport.TryParse(rr, out uint ssrc));
        Assert.Equal(1u, ssrc);
        Assert.Equal(5u, ReceiverReport.Block(rr, 0).ExtendedHighestSequence);

        Assert.True(reader.TryRead(out var nackPacket));
        Assert.Equal(RtcError.None, FeedbackMessage.TryParse(nackPacket, out var nack));
        Assert.True(nack.IsNack);
        var got = new ushort[64];
        int count = nack.ReadNack(got);
        Assert.Equal(lost, got[..count]);

        Assert.True(reader.TryRead(out var pliPacket));
        FeedbackMessage.TryParse(pliPacket, out var pli);
        Assert.True(pli.IsPli);
        Assert.Equal(2u, pli.MediaSsrc);

        Assert.True(reader.TryRead(out var firPacket));
        FeedbackMessage.TryParse(firPacket, out var fir);
        Assert.True(fir.IsFir);
        Assert.Equal(1, fir.FirEntryCount);
        Assert.Equal((2u, (byte)7), fir.FirEntry(0));

        Assert.True(reader.TryRead(out var rembPacket));
        FeedbackMessage.TryParse(rembPacket, out var remb);
        Assert.True(remb.IsRemb);
        Assert.Equal(RtcError.None, remb.TryReadRemb(out ulong bitrate, out int ssrcs));
        Assert.Equal(2, ssrcs);
        Assert.InRange(bitrate, 1_234_560UL, 1_234_567UL); // mantissa/exponent rounding
        Assert.False(reader.TryRead(out _));
        Assert.Equal(RtcError.None, reader.Error);
    }

    [Theory]
    [InlineData("", RtcError.Truncated)]
    [InlineData("80c9", RtcError.Truncated)]
    [InlineData("40c90001aaaaaaaa", RtcError.BadVersion)]
    [InlineData("8060000100000000", RtcError.BadType)]
    [InlineData("80c90005aaaaaaaa", RtcError.Truncated)]
    [InlineData("a0c90001aaaaaa00", RtcError.BadPadding)]
    [InlineData("a0c90001aaaaaa09", RtcError.BadPadding)]
    [InlineData("80cd0001aaaaaaaa", RtcError.BadType)]
    public void Malformed_rtcp_is_rejected_with_a_reason(string hex, RtcError expected)
    {
        Assert.Equal(expected, RtcpCompoundReader.Validate(Hex.Bytes(hex)));
    }

    [Fact]
    public void Typed_rtcp_parsers_reject_short_bodies()
    {
        var sr = Hex.Bytes("81c80001aaaaaaaa"); // claims one report block, has no body
        var reader = new RtcpCompoundReader(sr);
        Assert.True(reader.TryRead(out var packet));
        Assert.Equal(RtcError.BadLength, SenderReport.TryParse(packet, out _));
        var fb = Hex.Bytes("8fce0001aaaaaaaa");
        reader = new RtcpCompoundReader(fb);
        Assert.True(reader.TryRead(out packet));
        Assert.Equal(RtcError.BadLength, FeedbackMessage.TryParse(packet, out _));
        var remb = Hex.Bytes("8fce0004000000010000000052454d42ff000000");
        reader = new RtcpCompoundReader(remb);
        Assert.True(reader.TryRead(out packet));
        Assert.Equal(RtcError.None, FeedbackMessage.TryParse(packet, out var msg));
        Assert.Equal(RtcError.BadLength, msg.TryReadRemb(out _, out _));
    }

    [Fact]
    public void Random_rtp_and_rtcp_input_never_throws()
    {
        var rng = new Random(7);
        var buffer = new byte[1600];
        var lost = new ushort[32];
        for (int i = 0; i < 30000; i++)
        {
            int len = rng.Next(0, 300);
            rng.NextBytes(buffer.AsSpan(0, len));
            if (len > 1) { buffer[0] = (byte)(0x80 | (buffer[0] & 0x3F)); if (i % 2 == 0) buffer[1] = (byte)rng.Next(200, 207); }
            var span = buffer.AsSpan(0, len);
            if (RtpHeader.TryParse(span, out var h) == RtcError.None)
            {
                Assert.InRange(h.HeaderLength + h.PayloadLength + h.PaddingLength, 12, len);
                for (int id = 1; id < 15; id++) h.TryGetExtension(span, id, out _);
            }
            var reader = new RtcpCompoundReader(span);
            while (reader.TryRead(out var p))
            {
                if (SenderReport.TryParse(p, out var sr) == RtcError.None)
                    for (int b = 0; b < sr.ReportCount; b++) SenderReport.Block(p, b);
                if (ReceiverReport.TryParse(p, out _) == RtcError.None)
                    for (int b = 0; b < p.Count; b++) ReceiverReport.Block(p, b);
                if (FeedbackMessage.TryParse(p, out var fb) == RtcError.None)
                {
                    Assert.InRange(fb.ReadNack(lost), 0, lost.Length);
                    fb.TryReadRemb(out _, out _);
                    for (int e = 0; e < fb.FirEntryCount; e++) fb.FirEntry(e);
                }
            }
        }
    }
}
