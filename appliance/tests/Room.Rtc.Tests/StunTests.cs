using System.Net;
using System.Text;
using Room.Rtc.Stun;

namespace Room.Rtc.Tests;

public class StunTests
{
    private static readonly byte[] Password = Encoding.UTF8.GetBytes("VOkJxbRl1RmTxUk/WvJxBt");
    private static readonly byte[] TransactionId = Hex.Bytes("b7e7a701bc34d686fa87dfae");

    // RFC 5769 section 2.1
    private const string SampleRequest =
        "000100582112a442b7e7a701bc34d686fa87dfae" +
        "802200105354554e2074657374" + "20636c69656e74" +
        "002400046e0001ff" +
        "80290008932ff9b151263b36" +
        "000600096576746a3a6836765920202000080014" +
        "9aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a2" +
        "80280004e57a3bcf";

    // RFC 5769 section 2.2
    private const string SampleIpv4Response =
        "0101003c2112a442b7e7a701bc34d686fa87dfae" +
        "8022000b7465737420766563746f7220" +
        "002000080001a147e112a643" +
        "000800142b91f599fd9e90c38c7489f92af9ba53f06be7d7" +
        "80280004c07d4c96";

    [Fact]
    public void Rfc5769_sample_request_parses_and_verifies()
    {
        var bytes = Hex.Bytes(SampleRequest);
        Assert.Equal(RtcError.None, StunMessage.TryParse(bytes, out var m));
        Assert.Equal(StunMethod.Binding, m.Method);
        Assert.Equal(StunClass.Request, m.Class);
        Assert.True(m.TryGetAttribute(StunAttributeType.Username, out var user));
        Assert.Equal("evtj:h6vY", Encoding.UTF8.GetString(user));
        Assert.True(m.TryGetUInt32(StunAttributeType.Priority, out uint prio));
        Assert.Equal(0x6e0001ffu, prio);
        Assert.True(m.TryGetUInt64(StunAttributeType.IceControlled, out ulong tie));
        Assert.Equal(0x932ff9b151263b36UL, tie);
        Assert.True(m.VerifyFingerprint());
        Assert.True(m.VerifyIntegrity(Password));
        Assert.False(m.VerifyIntegrity("wrong"u8));
    }

    [Fact]
    public void Rfc5769_sample_request_is_built_byte_for_byte()
    {
        var buffer = new byte[200];
        var b = new StunBuilder(buffer, StunMethod.Binding, StunClass.Request, TransactionId);
        b.Add(StunAttributeType.Software, "STUN test client"u8);
        b.AddUInt32(StunAttributeType.Priority, 0x6e0001ff);
        b.AddUInt64(StunAttributeType.IceControlled, 0x932ff9b151263b36);
        b.Add(StunAttributeType.Username, "evtj:h6vY"u8, padding: 0x20);
        b.AddIntegrity(Password);
        b.AddFingerprint();
        Assert.Equal(SampleRequest, Hex.Of(b.Written));
    }

    [Fact]
    public void Rfc5769_sample_ipv4_response_gives_the_mapped_address()
    {
        var bytes = Hex.Bytes(SampleIpv4Response);
        Assert.Equal(RtcError.None, StunMessage.TryParse(bytes, out var m));
        Assert.Equal(StunClass.SuccessResponse, m.Class);
        Assert.True(m.VerifyFingerprint());
        Assert.True(m.VerifyIntegrity(Password));
        Assert.Equal(RtcError.None, m.TryGetXorAddress(StunAttributeType.XorMappedAddress, out var ep));
        Assert.Equal(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 32853), ep);
    }

    [Fact]
    public void Xor_address_round_trips_for_ipv6()
    {
        var buffer = new byte[100];
        var b = new StunBuilder(buffer, StunMethod.Binding, StunClass.SuccessResponse, TransactionId);
        var ep = new IPEndPoint(IPAddress.Parse("2001:db8:1234:5678:11:2233:4455:6677"), 32853);
        b.AddXorAddress(StunAttributeType.XorMappedAddress, ep);
        b.AddFingerprint();
        Assert.Equal(RtcError.None, StunMessage.TryParse(b.Written, out var m));
        Assert.Equal(RtcError.None, m.TryGetXorAddress(StunAttributeType.XorMappedAddress, out var back));
        Assert.Equal(ep, back);
        Assert.True(m.VerifyFingerprint());
    }

    [Fact]
    public void Message_type_encoding_interleaves_class_bits()
    {
        Assert.Equal(0x0001, StunMessage.MessageType(StunMethod.Binding, StunClass.Request));
        Assert.Equal(0x0101, StunMessage.MessageType(StunMethod.Binding, StunClass.SuccessResponse));
        Assert.Equal(0x0111, StunMessage.MessageType(StunMethod.Binding, StunClass.ErrorResponse));
        Assert.Equal(0x0113, StunMessage.MessageType(StunMethod.Allocate, StunClass.ErrorResponse));
    }

    [Theory]
    [InlineData("", RtcError.Truncated)]
    [InlineData("000100002112a442b7e7a701bc34d686fa87df", RtcError.Truncated)]
    [InlineData("000100002112a443b7e7a701bc34d686fa87dfae", RtcError.BadMagicCookie)]
    [InlineData("c00100002112a442b7e7a701bc34d686fa87dfae", RtcError.BadType)]
    [InlineData("000100022112a442b7e7a701bc34d686fa87dfae0000", RtcError.BadLength)]
    [InlineData("000100082112a442b7e7a701bc34d686fa87dfae", RtcError.Truncated)]
    [InlineData("000100042112a442b7e7a701bc34d686fa87dfae00060008", RtcError.BadAttribute)]
    [InlineData("000100082112a442b7e7a701bc34d686fa87dfae0008000400000000", RtcError.BadAttribute)]
    [InlineData("000100102112a442b7e7a701bc34d686fa87dfae80280004000000000006000161000000", RtcError.BadAttribute)]
    public void Malformed_messages_are_rejected_with_a_reason(string hex, RtcError expected)
    {
        Assert.Equal(expected, StunMessage.TryParse(Hex.Bytes(hex), out _));
    }

    [Fact]
    public void Random_and_mutated_input_never_throws()
    {
        var rng = new Random(42);
        var seed = Hex.Bytes(SampleRequest);
        var buffer = new byte[2000];
        for (int i = 0; i < 20000; i++)
        {
            int len;
            if (i % 2 == 0)
            {
                seed.CopyTo(buffer, 0);
                len = seed.Length;
                for (int k = rng.Next(1, 6); k > 0; k--) buffer[rng.Next(len)] = (byte)rng.Next(256);
                if (rng.Next(4) == 0) len = rng.Next(len);
            }
            else
            {
                len = rng.Next(0, 1600);
                rng.NextBytes(buffer.AsSpan(0, len));
                if (len >= 8) { buffer[0] &= 1; buffer[4] = 0x21; buffer[5] = 0x12; buffer[6] = 0xa4; buffer[7] = 0x42; }
            }
            if (StunMessage.TryParse(buffer.AsSpan(0, len), out var m) == RtcError.None)
            {
                m.VerifyIntegrity(Password);
                m.VerifyFingerprint();
                m.TryGetXorAddress(StunAttributeType.XorMappedAddress, out _);
                _ = m.ErrorCode;
                _ = m.HasUnknownRequiredAttribute();
            }
        }
    }
}
