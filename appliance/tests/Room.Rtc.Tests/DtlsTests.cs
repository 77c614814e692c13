using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Room.Rtc.Dtls;
using Room.Rtc.Rtp;
using Room.Rtc.Srtp;

namespace Room.Rtc.Tests;

public sealed class DtlsTests
{
    /// <summary>One UDP endpoint on loopback: DTLS records go to the DTLS transport, the rest to a channel.</summary>
    private sealed class Peer : IDisposable
    {
        public readonly UdpClient Udp = new(new IPEndPoint(IPAddress.Loopback, 0));
        public readonly Channel<byte[]> Media = Channel.CreateUnbounded<byte[]>();
        public DtlsSrtpTransport? Dtls;
        public IPEndPoint? Remote;
        private readonly CancellationTokenSource _stop = new();

        public IPEndPoint Local => (IPEndPoint)Udp.Client.LocalEndPoint!;

        public void Start() => _ = Task.Run(async () =>
        {
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    var r = await Udp.ReceiveAsync(_stop.Token);
                    if (DtlsSrtpTransport.LooksLikeDtls(r.Buffer)) Dtls?.OnDatagram(r.Buffer);
                    else Media.Writer.TryWrite(r.Buffer);
                }
            }
            catch (OperationCanceledException) { }
            catch (ObjectDisposedException) { }
        });

        public void Send(ReadOnlyMemory<byte> datagram) => Udp.Send(datagram.Span, Remote!);

        public void Dispose()
        {
            _stop.Cancel();
            Dtls?.Dispose();
            Udp.Dispose();
        }
    }

    [Theory]
    [InlineData(SrtpProfile.AeadAes128Gcm)]
    [InlineData(SrtpProfile.AesCm128HmacSha1Tag80)]
    public async Task Two_endpoints_agree_srtp_keys_over_udp_and_exchange_media(SrtpProfile profile)
    {
        var clientCert = DtlsCertificate.CreateSelfSigned();
        var serverCert = DtlsCertificate.CreateSelfSigned();
        using var a = new Peer();
        using var b = new Peer();
        a.Remote = b.Local;
        b.Remote = a.Local;
        a.Dtls = new DtlsSrtpTransport(clientCert, DtlsRole.Client, "sha-256 " + serverCert.Fingerprint, a.Send, profile);
        b.Dtls = new DtlsSrtpTransport(serverCert, DtlsRole.Server, clientCert.Fingerprint.ToLowerInvariant(), b.Send,
            SrtpProfile.AeadAes128Gcm, SrtpProfile.AesCm128HmacSha1Tag80);
        a.Start();
        b.Start();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var ka = a.Dtls.HandshakeAsync(timeout.Token);
        var kb = b.Dtls.HandshakeAsync(timeout.Token);
        var keysA = await ka;
        var keysB = await kb;
        Assert.Equal(profile, keysA.Profile);
        Assert.Equal(profile, keysB.Profile);
        Assert.Equal(keysA.LocalKey, keysB.RemoteKey);
        Assert.Equal(keysA.LocalSalt, keysB.RemoteSalt);
        Assert.Equal(keysB.LocalKey, keysA.RemoteKey);
        Assert.NotEqual(keysA.LocalKey, keysA.RemoteKey);

        // media both ways over the same sockets
        using var txA = keysA.CreateSender();
        using var rxB = keysB.CreateReceiver();
        var buffer = new byte[1500];
        int n = RtpHeader.WriteFixed(buffer, 111, true, 1, 960, 0xA1A1A1A1);
        "hello room"u8.CopyTo(buffer.AsSpan(n));
        n += 10;
        Assert.Equal(RtcError.None, txA.ProtectRtp(buffer, n, out int pn));
        a.Send(buffer.AsMemory(0, pn));
        var got = await b.Media.Reader.ReadAsync(timeout.Token);
        Assert.Equal(RtcError.None, rxB.UnprotectRtp(got, got.Length, out int plain));
        Assert.Equal("hello room"u8.ToArray(), got.AsSpan(12, plain - 12).ToArray());
    }

    [Fact]
    public async Task A_certificate_that_does_not_match_the_signalled_fingerprint_fails_the_handshake()
    {
        var clientCert = DtlsCertificate.CreateSelfSigned();
        var serverCert = DtlsCertificate.CreateSelfSigned();
        var impostor = DtlsCertificate.CreateSelfSigned();
        using var a = new Peer();
        using var b = new Peer();
        a.Remote = b.Local;
        b.Remote = a.Local;
        a.Dtls = new DtlsSrtpTransport(clientCert, DtlsRole.Client, impostor.Fingerprint, a.Send);
        b.Dtls = new DtlsSrtpTransport(serverCert, DtlsRole.Server, clientCert.Fingerprint, b.Send);
        a.Start();
        b.Start();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var ka = a.Dtls.HandshakeAsync(timeout.Token);
        _ = b.Dtls.HandshakeAsync(timeout.Token);
        var e = await Assert.ThrowsAsync<RtcFormatException>(() => ka);
        Assert.Equal(RtcError.AuthenticationFailed, e.Error);
    }

    [Fact]
    public void Fingerprint_matching_accepts_sdp_forms_and_rejects_others()
    {
        var cert = DtlsCertificate.CreateSelfSigned();
        Assert.True(DtlsCertificate.MatchesFingerprint(cert.Der, cert.Fingerprint));
        Assert.True(DtlsCertificate.MatchesFingerprint(cert.Der, "sha-256 " + cert.Fingerprint.ToLowerInvariant()));
        Assert.False(DtlsCertificate.MatchesFingerprint(cert.Der, "sha-1 " + cert.Fingerprint));
        Assert.False(DtlsCertificate.MatchesFingerprint(cert.Der, "sha-256 zz"));
        Assert.False(DtlsCertificate.MatchesFingerprint(cert.Der, cert.Fingerprint[..^3]));
        Assert.Equal(95, cert.Fingerprint.Length);
    }
}
