using System.Net;
using Room.Rtc.Dtls;
using Room.Rtc.Ice;
using Room.Rtc.Rtp;

namespace Room.Rtc.Tests;

public class IceRestartTests
{
    private static void Exchange(RtcTransport a, RtcTransport b)
    {
        a.Ice.SetRemoteCredentials(b.Ice.LocalUfrag, b.Ice.LocalPassword);
        b.Ice.SetRemoteCredentials(a.Ice.LocalUfrag, a.Ice.LocalPassword);
        foreach (var c in a.Ice.LocalCandidates) b.Ice.AddRemoteCandidate(c);
        foreach (var c in b.Ice.LocalCandidates) a.Ice.AddRemoteCandidate(c);
    }

    [Fact]
    public async Task Moving_to_a_new_local_address_and_restarting_keeps_the_srtp_session()
    {
        using var offerer = new RtcTransport([IPAddress.Parse("127.0.0.1")], controlling: true);
        using var answerer = new RtcTransport([IPAddress.Loopback], controlling: false);
        Exchange(offerer, answerer);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await Task.WhenAll(offerer.ConnectAsync(DtlsRole.Server, answerer.Certificate.Fingerprint, timeout.Token),
            answerer.ConnectAsync(DtlsRole.Client, offerer.Certificate.Fingerprint, timeout.Token));
        var keys = offerer.Keys;

        // The offerer's address goes away and another appears (what IceNetworkWatcher does on rtnetlink events).
        var moved = offerer.Ice.AddHostAddress(IPAddress.Parse("127.0.0.2"));
        Assert.True(offerer.Ice.RemoveHostAddress(IPAddress.Parse("127.0.0.1")));
        Assert.DoesNotContain(offerer.Ice.LocalCandidates, c => c.Address.Equals(IPAddress.Parse("127.0.0.1")));
        // The selected pair went with the address (checks from the new one may already have selected another).
        Assert.NotEqual(IPAddress.Parse("127.0.0.1"), offerer.Ice.SelectedLocal?.Address);
        Assert.False(offerer.Ice.RemoveHostAddress(IPAddress.Parse("127.0.0.1")));

        offerer.Ice.Restart();
        answerer.Ice.Restart();
        Exchange(offerer, answerer);
        var got = new TaskCompletionSource<ushort>(TaskCreationOptions.RunContinuationsAsynchronously);
        answerer.RtpReceived = p => { if (RtpHeader.TryParse(p, out var h) == RtcError.None) got.TrySetResult(h.SequenceNumber); };
        var packet = new byte[64];
        int n = RtpHeader.WriteFixed(packet, 96, true, 777, 1, 0xCAFE);
        while (!got.Task.IsCompleted)
        {
            offerer.SendRtp(packet.AsSpan(0, n + 20));
            await Task.WhenAny(got.Task, Task.Delay(50, timeout.Token));
        }
        Assert.Equal((ushort)777, await got.Task);
        Assert.Equal(moved.EndPoint, offerer.Ice.SelectedLocal!.EndPoint);
        Assert.Same(keys, offerer.Keys);
        Assert.Equal(0, answerer.PacketsRejected);
    }
}
