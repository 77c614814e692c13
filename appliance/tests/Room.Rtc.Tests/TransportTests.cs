using System.Net;
using Room.Rtc.Dtls;
using Room.Rtc.Ice;
using Room.Rtc.Rtcp;
using Room.Rtc.Rtp;

namespace Room.Rtc.Tests;

public class TransportTests
{
    [Fact]
    public async Task Two_transports_connect_through_ice_and_dtls_and_carry_srtp_both_ways()
    {
        using var offerer = new RtcTransport([IPAddress.Loopback], controlling: true);
        using var answerer = new RtcTransport([IPAddress.Loopback], controlling: false);
        offerer.Ice.SetRemoteCredentials(answerer.Ice.LocalUfrag, answerer.Ice.LocalPassword);
        answerer.Ice.SetRemoteCredentials(offerer.Ice.LocalUfrag, offerer.Ice.LocalPassword);
        // Only the answerer learns the other's candidate up front; the offerer learns it peer-reflexively.
        foreach (var c in offerer.Ice.LocalCandidates) answerer.Ice.AddRemoteCandidate(c);
        foreach (var c in answerer.Ice.LocalCandidates) offerer.Ice.AddRemoteCandidate(c);

        var gotRtp = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        var gotRtcp = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        answerer.RtpReceived = p => gotRtp.TrySetResult(p.ToArray());
        offerer.RtcpReceived = p => gotRtcp.TrySetResult(p.ToArray());

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var a = offerer.ConnectAsync(DtlsRole.Server, answerer.Certificate.Fingerprint, timeout.Token);
        var b = answerer.ConnectAsync(DtlsRole.Client, offerer.Certificate.Fingerprint, timeout.Token);
        await Task.WhenAll(a, b);
        Assert.Equal(IceState.Connected, offerer.Ice.State);
        Assert.Equal(IceState.Connected, answerer.Ice.State);

        var packet = new byte[100];
        int n = RtpHeader.WriteFixed(packet, 96, true, 4242, 1, 0xCAFE);
        while (!gotRtp.Task.IsCompleted && !timeout.IsCancellationRequested)
        {
            Assert.Equal(RtcError.None, offerer.SendRtp(packet.AsSpan(0, n + 20)));
            await Task.WhenAny(gotRtp.Task, Task.Delay(100, timeout.Token));
        }
        var rtp = await gotRtp.Task;
        Assert.Equal(RtcError.None, RtpHeader.TryParse(rtp, out var h));
        Assert.Equal((ushort)4242, h.SequenceNumber);

        var rr = new byte[64];
        int rn = ReceiverReport.Write(rr, 0xBEEF, []);
        Assert.Equal(RtcError.None, answerer.SendRtcp(rr.AsSpan(0, rn)));
        var rtcp = await gotRtcp.Task.WaitAsync(timeout.Token);
        Assert.Equal(RtcError.None, RtcpCompoundReader.Validate(rtcp));
        Assert.Equal(0, answerer.PacketsRejected);

        // ICE restart (RFC 8445 9): both sides take new credentials, exchange them and their candidates again;
        // connectivity is re-established and media keeps flowing under the same DTLS-SRTP keys.
        var reconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int connectedEvents = 0;
        offerer.Ice.StateChanged += s => { if (s == IceState.Connected && Interlocked.Increment(ref connectedEvents) >= 1) reconnected.TrySetResult(); };
        string oldUfrag = offerer.Ice.LocalUfrag;
        offerer.Ice.Restart();
        answerer.Ice.Restart();
        Assert.NotEqual(oldUfrag, offerer.Ice.LocalUfrag);
        offerer.Ice.SetRemoteCredentials(answerer.Ice.LocalUfrag, answerer.Ice.LocalPassword);
        answerer.Ice.SetRemoteCredentials(offerer.Ice.LocalUfrag, offerer.Ice.LocalPassword);
        foreach (var c in offerer.Ice.LocalCandidates) answerer.Ice.AddRemoteCandidate(c);
        foreach (var c in answerer.Ice.LocalCandidates) offerer.Ice.AddRemoteCandidate(c);
        await reconnected.Task.WaitAsync(timeout.Token);
        var again = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        answerer.RtpReceived = p => again.TrySetResult(p.ToArray());
        n = RtpHeader.WriteFixed(packet, 96, true, 4243, 2, 0xCAFE);
        while (!again.Task.IsCompleted && !timeout.IsCancellationRequested)
        {
            offerer.SendRtp(packet.AsSpan(0, n + 20));
            await Task.WhenAny(again.Task, Task.Delay(100, timeout.Token));
        }
        Assert.Equal(RtcError.None, RtpHeader.TryParse(await again.Task, out var h2));
        Assert.Equal((ushort)4243, h2.SequenceNumber);
    }

    [Fact]
    public void Ice_candidate_lines_round_trip_and_bad_ones_are_rejected()
    {
        const string line = "candidate:1 1 udp 2130706431 10.99.0.2 40000 typ srflx raddr 192.168.1.2 rport 5000";
        Assert.Equal(RtcError.None, Sdp.IceCandidate.TryParse("a=" + line, out var c));
        Assert.Equal(Sdp.CandidateType.ServerReflexive, c!.Type);
        Assert.Equal(40000, c.Port);
        Assert.Equal(line, c.ToString());
        Assert.Equal(RtcError.BadSyntax, Sdp.IceCandidate.TryParse("candidate:1 1 udp x 10.0.0.1 1 typ host", out _));
        Assert.Equal(RtcError.BadSyntax, Sdp.IceCandidate.TryParse("candidate:1 1 udp 1 10.0.0.1 1 type host", out _));
        Assert.Equal(RtcError.Unsupported, Sdp.IceCandidate.TryParse("candidate:1 1 udp 1 abc.local 9 typ host", out _));
        Assert.Equal(RtcError.BadSyntax, Sdp.IceCandidate.TryParse("candidate:1 1 udp 1 10.0.0.1 70000 typ host", out _));
        Assert.Equal(RtcError.TooLarge, Sdp.IceCandidate.TryParse(new string('a', 2000), out _));
        Assert.Equal((uint)2130706431, Sdp.IceCandidate.ComputePriority(Sdp.CandidateType.Host, 65535, 1));
    }
}
