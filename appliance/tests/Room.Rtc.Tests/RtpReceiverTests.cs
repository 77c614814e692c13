using System.Diagnostics;
using System.Net;
using Room.Rtc.Dtls;
using Room.Rtc.Rtcp;
using Room.Rtc.Rtp;

namespace Room.Rtc.Tests;

/// <summary>The receiver's RTCP: reports with loss and LSR/DLSR, NACK and PLI behind an RR (what Janus needs).</summary>
public sealed class RtpReceiverTests
{
    [Fact]
    public async Task Reports_count_loss_echo_the_senders_sr_and_feedback_goes_out_behind_a_receiver_report()
    {
        using var sender = new RtcTransport([IPAddress.Loopback], controlling: true);
        using var receiver = new RtcTransport([IPAddress.Loopback], controlling: false);
        sender.Ice.SetRemoteCredentials(receiver.Ice.LocalUfrag, receiver.Ice.LocalPassword);
        receiver.Ice.SetRemoteCredentials(sender.Ice.LocalUfrag, sender.Ice.LocalPassword);
        foreach (var c in sender.Ice.LocalCandidates) receiver.Ice.AddRemoteCandidate(c);
        foreach (var c in receiver.Ice.LocalCandidates) sender.Ice.AddRemoteCandidate(c);
        var compounds = new System.Collections.Concurrent.BlockingCollection<byte[]>();
        sender.RtcpReceived = p => compounds.Add(p.ToArray());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await Task.WhenAll(sender.ConnectAsync(DtlsRole.Server, receiver.Certificate.Fingerprint, timeout.Token),
            receiver.ConnectAsync(DtlsRole.Client, sender.Certificate.Fingerprint, timeout.Token));

        const uint media = 0xCAFE0001, local = 0x0000BEEF;
        var rr = new RtpReceiver(receiver, local, 90000, media, reportInterval: TimeSpan.FromHours(1));
        long t = Stopwatch.GetTimestamp();
        // SR from the sender: its compact NTP must come back as LSR.
        ulong ntp = RtpSender.NtpTimestamp(DateTime.UtcNow);
        var srBytes = new byte[28];
        new SenderReport(media, ntp, 1, 10, 1000, 0).Write(srBytes, []);
        rr.OnRtcp(srBytes, t);
        // 10 packets of which 2 (seq 3 and 7) never arrive; another SSRC is ignored.
        foreach (ushort seq in new ushort[] { 65530, 65531, 65532, 65534, 65535, 0, 2, 3 })
            rr.OnPacket(media, seq, 1000u * seq, t);
        rr.OnPacket(0x12345678, 9, 9, t);
        Assert.Equal(8, rr.PacketsReceived);
        Assert.Equal(2, rr.CumulativeLost);

        Assert.Equal(RtcError.None, rr.SendNack([65533, 1], t + Stopwatch.Frequency / 2));
        // The first packet already sent a plain report (so the SFU learns the round trip early); skip such ones.
        byte[] TakeFeedback()
        {
            while (true)
            {
                var c = compounds.Take(timeout.Token);
                var r = new RtcpCompoundReader(c);
                if (r.TryRead(out _) && r.TryRead(out _)) return c;
            }
        }

        var nack = TakeFeedback();
        var reader = new RtcpCompoundReader(nack);
        Assert.True(reader.TryRead(out var first));
        Assert.Equal(RtcpType.ReceiverReport, first.Type); // the report first: Janus finds the stream by its block
        Assert.Equal(RtcError.None, ReceiverReport.TryParse(first, out uint from));
        Assert.Equal(local, from);
        var block = ReceiverReport.Block(first, 0);
        Assert.Equal(media, block.Ssrc);
        Assert.Equal(2, block.CumulativeLost);
        Assert.Equal(65536u + 3, block.ExtendedHighestSequence); // one wrap
        Assert.Equal((uint)(ntp >> 16), block.LastSenderReport);
        Assert.InRange(block.DelaySinceLastSenderReport, 65536u * 4 / 10, 65536u * 6 / 10); // 0.5 s in 1/65536 s
        Assert.True(reader.TryRead(out var second));
        Assert.Equal(RtcError.None, FeedbackMessage.TryParse(second, out var fb));
        Assert.True(fb.IsNack);
        Assert.Equal(media, fb.MediaSsrc);
        var lost = new ushort[8];
        Assert.Equal([65533, 1], lost.AsSpan(0, fb.ReadNack(lost)).ToArray());

        Assert.Equal(RtcError.None, rr.SendPli(t));
        reader = new RtcpCompoundReader(TakeFeedback());
        Assert.True(reader.TryRead(out first));
        Assert.Equal(RtcpType.ReceiverReport, first.Type);
        Assert.True(reader.TryRead(out second));
        Assert.Equal(RtcError.None, FeedbackMessage.TryParse(second, out fb));
        Assert.True(fb.IsPli);
        Assert.Equal(media, fb.MediaSsrc);
        Assert.Equal(1, rr.NacksSent);
        Assert.Equal(1, rr.PlisSent);
        Assert.Equal(1, rr.ReportsSent); // the one the first packet triggered; the hour-long interval sends no more
    }

    [Fact]
    public void A_receiver_that_has_not_seen_its_stream_sends_nothing()
    {
        using var transport = new RtcTransport([IPAddress.Loopback], controlling: false);
        var rr = new RtpReceiver(transport, 1, 90000);
        Assert.Equal(RtcError.Unsupported, rr.SendPli(Stopwatch.GetTimestamp()));
        Assert.Equal(RtcError.Unsupported, rr.SendReport(Stopwatch.GetTimestamp()));
        Assert.Equal(0, rr.PlisSent);
        Assert.Throws<ArgumentOutOfRangeException>(() => new RtpReceiver(transport, 1, 0));
    }

    [Fact]
    public void Interarrival_jitter_is_measured_on_the_transports_clock()
    {
        // A fake clock on the transport: packets exactly 20 ms apart with 20 ms of RTP time between them show no
        // jitter; one packet 10 ms late adds |D| / 16 (RFC 3550 A.8): 480 units at 48 kHz, so 30.
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        using var transport = new RtcTransport([IPAddress.Loopback], controlling: false, timeProvider: clock);
        var rr = new RtpReceiver(transport, 1, 48000, 0xA0D10, reportInterval: TimeSpan.FromHours(1));
        for (ushort seq = 0; seq < 10; seq++)
        {
            rr.OnPacket(0xA0D10, seq, 960u * seq, clock.GetTimestamp());
            clock.Advance(TimeSpan.FromMilliseconds(20));
        }

        Assert.Equal(0u, rr.Jitter);
        clock.Advance(TimeSpan.FromMilliseconds(10));
        rr.OnPacket(0xA0D10, 10, 9600, clock.GetTimestamp());
        Assert.Equal(30u, rr.Jitter);
    }
}
