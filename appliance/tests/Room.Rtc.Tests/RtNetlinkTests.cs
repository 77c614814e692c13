using System.Buffers.Binary;
using System.Net;
using Room.Rtc.Interop;

namespace Room.Rtc.Tests;

public class RtNetlinkTests
{
    /// <summary>An nlmsghdr + ifaddrmsg + rtattrs message as the kernel sends it (little-endian host).</summary>
    private static byte[] Message(int type, byte family, int index, params (ushort Type, byte[] Value)[] attributes)
    {
        var body = new List<byte> { family, 24, 0x80, 0 };
        body.AddRange(BitConverter.GetBytes(index));
        foreach (var (t, v) in attributes)
        {
            var a = new byte[(4 + v.Length + 3) & ~3];
            BinaryPrimitives.WriteUInt16LittleEndian(a, (ushort)(4 + v.Length));
            BinaryPrimitives.WriteUInt16LittleEndian(a.AsSpan(2), t);
            v.CopyTo(a, 4);
            body.AddRange(a);
        }
        var m = new byte[16 + body.Count];
        BinaryPrimitives.WriteUInt32LittleEndian(m, (uint)m.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(4), (ushort)type);
        body.CopyTo(m, 16);
        return m;
    }

    [Fact]
    public void New_and_deleted_addresses_are_read_with_their_interface()
    {
        var added = Message(RtNetlink.RtmNewAddr, 2, 7, (1, [10, 213, 5, 11]), (2, [10, 213, 5, 11]), (3, "rh1\0"u8.ToArray()));
        var removed = Message(RtNetlink.RtmDelAddr, 10, 7, (1, IPAddress.Parse("2001:db8::5").GetAddressBytes()));
        var changes = new List<AddressChange>();
        Assert.Equal(RtcError.None, RtNetlink.TryParse([.. added, .. removed], changes));
        Assert.Equal([
            new AddressChange(AddressChangeKind.Added, 7, IPAddress.Parse("10.213.5.11")),
            new AddressChange(AddressChangeKind.Removed, 7, IPAddress.Parse("2001:db8::5"))], changes);
    }

    [Fact]
    public void On_a_point_to_point_link_the_local_address_wins_over_the_peer_address()
    {
        var changes = new List<AddressChange>();
        Assert.Equal(RtcError.None, RtNetlink.TryParse(Message(RtNetlink.RtmNewAddr, 2, 3, (1, [10, 0, 0, 2]), (2, [10, 0, 0, 1])), changes));
        Assert.Equal(IPAddress.Parse("10.0.0.1"), Assert.Single(changes).Address);
    }

    [Fact]
    public void Other_message_types_and_families_are_skipped()
    {
        var changes = new List<AddressChange>();
        var link = Message(16, 0, 1); // RTM_NEWLINK
        var packet = Message(RtNetlink.RtmNewAddr, 17, 1, (1, [1, 2, 3, 4, 5, 6])); // AF_PACKET
        Assert.Equal(RtcError.None, RtNetlink.TryParse([.. link, .. packet], changes));
        Assert.Empty(changes);
    }

    public static TheoryData<string, RtcError> Malformed => new()
    {
        { "0a000000140000000000000000000000", RtcError.BadLength },                 // nlmsg_len 10 < header
        { "ff000000140000000000000000000000", RtcError.BadLength },                 // nlmsg_len beyond the datagram
        { "1400000014000000000000000000000002180000", RtcError.Truncated },         // ifaddrmsg cut short
        { "2000000014000000000000000000000002180000070000000200010000000000", RtcError.BadAttribute }, // rta_len 2
        { "200000001400000000000000000000000218000007000000ff00010000000000", RtcError.BadAttribute }, // rta_len beyond
        { "2000000014000000000000000000000002180000070000000600010001020000", RtcError.BadAttribute }, // 2-byte IPv4
        { "1c0000001400000000000000000000000218000007000000000000", RtcError.BadLength },          // 28 claimed, 27 there
        { "01020304", RtcError.Truncated },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_messages_are_refused_with_a_typed_error(string hex, RtcError expected)
    {
        var changes = new List<AddressChange>();
        Assert.Equal(expected, RtNetlink.TryParse(Convert.FromHexString(hex), changes));
    }

    [Fact]
    public void A_datagram_with_too_many_changes_is_bounded()
    {
        var one = Message(RtNetlink.RtmNewAddr, 2, 1, (2, [10, 0, 0, 1]));
        var many = Enumerable.Repeat(one, RtNetlink.MaxChangesPerDatagram + 5).SelectMany(m => m).ToArray();
        var changes = new List<AddressChange>();
        Assert.Equal(RtcError.TooLarge, RtNetlink.TryParse(many, changes));
        Assert.Equal(RtNetlink.MaxChangesPerDatagram, changes.Count);
    }

    [Fact]
    public void Random_input_never_throws()
    {
        var rng = new Random(8);
        var changes = new List<AddressChange>();
        for (int i = 0; i < 20000; i++)
        {
            var b = new byte[rng.Next(0, 200)];
            rng.NextBytes(b);
            if (b.Length >= 8 && rng.Next(2) == 0) { BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)rng.Next(0, b.Length + 1)); b[4] = 20; b[5] = 0; }
            changes.Clear();
            _ = RtNetlink.TryParse(b, changes);
            Assert.True(changes.Count <= RtNetlink.MaxChangesPerDatagram);
        }
    }
}
