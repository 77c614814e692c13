using System.Net;
using System.Net.Sockets;
using Room.Rtc.Ice;

namespace Room.Rtc.Tests;

/// <summary>TURN over TCP/TLS (RFC 8656 3.1, 12.5): how messages are cut from the stream, and what ends the connection.</summary>
public sealed class TurnStreamFramingTests
{
    private static (TurnClient Client, Socket Socket) Over(byte[] bytes)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var client = new TurnClient(socket, new MemoryStream(bytes), TurnTransport.Tcp, new IPEndPoint(IPAddress.Loopback, 3478), "u", "p");
        return (client, socket);
    }

    private static byte[] Stun(int attributeBytes)
    {
        var m = new byte[20 + attributeBytes];
        m[0] = 0x01; m[1] = 0x01; // Binding success
        m[2] = (byte)(attributeBytes >> 8); m[3] = (byte)attributeBytes;
        m[4] = 0x21; m[5] = 0x12; m[6] = 0xA4; m[7] = 0x42;
        return m;
    }

    private static byte[] ChannelData(int length, int padding)
    {
        var m = new byte[4 + length + padding];
        m[0] = 0x40; m[1] = 0x00; m[2] = (byte)(length >> 8); m[3] = (byte)length;
        for (int i = 0; i < length; i++) m[4 + i] = (byte)(i + 1);
        return m;
    }

    [Fact]
    public void Stun_and_padded_channel_data_are_cut_at_their_boundaries()
    {
        var (client, socket) = Over([.. Stun(8), .. ChannelData(5, 3), .. ChannelData(8, 0), .. Stun(0)]);
        using var s = socket;
        var buffer = new byte[2048];
        Assert.Equal(28, client.ReadFrame(buffer));
        Assert.Equal(9, client.ReadFrame(buffer));   // 4 + 5, the 3 padding bytes consumed
        Assert.Equal([1, 2, 3, 4, 5], buffer[4..9]);
        Assert.Equal(12, client.ReadFrame(buffer));
        Assert.Equal(20, client.ReadFrame(buffer));
        Assert.False(client.StreamClosed);
        Assert.Equal(-1, client.ReadFrame(buffer));  // end of stream
        Assert.True(client.StreamClosed);
        Assert.True(client.Failed);
    }

    public static TheoryData<string, byte[]> Malformed => new()
    {
        { "neither STUN nor ChannelData", [0x80, 0, 0, 0, .. new byte[16]] },
        { "STUN length not a multiple of 4", [.. Stun(0)[..2], 0, 5, .. Stun(0)[4..], 1, 2, 3, 4, 5, 0, 0, 0] },
        { "truncated STUN", Stun(8)[..24] },
        { "truncated ChannelData padding", ChannelData(5, 3)[..10] },
        { "truncated header", [0x40, 0] },
        { "ChannelData larger than the buffer", ChannelData(1500, 0) },
        { "STUN larger than the buffer", Stun(1200) },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_framing_closes_the_connection(string what, byte[] bytes)
    {
        var (client, socket) = Over(bytes);
        using var s = socket;
        Assert.True(client.ReadFrame(new byte[1024]) == -1, what);
        Assert.True(client.StreamClosed, what);
    }

    [Fact]
    public void A_channel_number_never_bound_is_not_delivered()
    {
        var (client, socket) = Over(ChannelData(4, 0));
        using var s = socket;
        var buffer = new byte[64];
        int n = client.ReadFrame(buffer);
        Assert.Equal(8, n);
        Assert.False(client.TryUnwrap(buffer.AsSpan(0, n), out _, out var peer));
        Assert.Null(peer);
    }
}
