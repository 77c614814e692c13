using System.Collections.Concurrent;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;
using Room.Rtc.Srtp;

namespace Room.Rtc.Dtls;

public enum DtlsRole
{
    /// <summary>a=setup:active — we send the ClientHello.</summary>
    Client,
    /// <summary>a=setup:passive — we wait for the ClientHello.</summary>
    Server,
}

/// <summary>SRTP master keys agreed through DTLS-SRTP (RFC 5764 4.2), from this endpoint's point of view.</summary>
public sealed record SrtpKeys(SrtpProfile Profile, byte[] LocalKey, byte[] LocalSalt, byte[] RemoteKey, byte[] RemoteSalt)
{
    /// <summary>Session that protects what we send.</summary>
    public SrtpSession CreateSender() => new(Profile, LocalKey, LocalSalt);

    /// <summary>Session that unprotects what the peer sends.</summary>
    public SrtpSession CreateReceiver() => new(Profile, RemoteKey, RemoteSalt);
}

/// <summary>
/// DTLS 1.2 with the use_srtp extension (RFC 5764) over whatever carries the datagrams (the ICE transport): feed it the
/// DTLS records the demultiplexer (RFC 7983: first byte 20..63) hands over, give it a way to send, and await the keys.
/// The peer's certificate is accepted only if it matches the fingerprint from signalling.
/// </summary>
public sealed class DtlsSrtpTransport : IDisposable
{
    /// <summary>DTLS records queued before the handshake thread reads them; beyond this a flood is dropped.</summary>
    private const int MaxQueued = 64;
    private const int MaxRecord = 1500;

    private readonly DtlsCertificate _certificate;
    private readonly DtlsRole _role;
    private readonly string _remoteFingerprint;
    private readonly Action<ReadOnlyMemory<byte>> _send;
    private readonly SrtpProfile[] _profiles;
    private readonly BlockingCollection<byte[]> _incoming = new(new ConcurrentQueue<byte[]>(), MaxQueued);
    private readonly CancellationTokenSource _closed = new();
    private DtlsTransport? _dtls;
    private Thread? _reader;

    public DtlsSrtpTransport(DtlsCertificate certificate, DtlsRole role, string remoteFingerprint, Action<ReadOnlyMemory<byte>> send,
        params SrtpProfile[] profiles)
    {
        _certificate = certificate ?? throw new ArgumentNullException(nameof(certificate));
        _role = role;
        _remoteFingerprint = remoteFingerprint ?? throw new ArgumentNullException(nameof(remoteFingerprint));
        _send = send ?? throw new ArgumentNullException(nameof(send));
        _profiles = profiles is { Length: > 0 } ? profiles : [SrtpProfile.AeadAes128Gcm, SrtpProfile.AesCm128HmacSha1Tag80];
    }

    /// <summary>RFC 7983: a datagram whose first byte is in [20, 63] is DTLS.</summary>
    public static bool LooksLikeDtls(ReadOnlySpan<byte> datagram) => datagram.Length >= 13 && datagram[0] is >= 20 and <= 63;

    /// <summary>Hands over a DTLS record from the network. Oversized records and floods are dropped.</summary>
    public void OnDatagram(ReadOnlySpan<byte> record)
    {
        if (record.Length > MaxRecord || _closed.IsCancellationRequested) return;
        _incoming.TryAdd(record.ToArray());
    }

    /// <summary>Runs the handshake (on its own thread, since the DTLS engine blocks) and returns the SRTP keys.</summary>
    public Task<SrtpKeys> HandshakeAsync(CancellationToken cancellationToken = default)
    {
        var tcs = new TaskCompletionSource<SrtpKeys>(TaskCreationOptions.RunContinuationsAsynchronously);
        var registration = cancellationToken.Register(() => { _closed.Cancel(); tcs.TrySetCanceled(cancellationToken); });
        var thread = new Thread(() =>
        {
            try
            {
                var crypto = new BcTlsCrypto(new SecureRandom());
                var datagrams = new QueueTransport(this);
                if (_role == DtlsRole.Client)
                {
                    var client = new SrtpClient(crypto, this);
                    _dtls = new DtlsClientProtocol().Connect(client, datagrams);
                    tcs.TrySetResult(client.Keys ?? throw new TlsFatalAlert(AlertDescription.internal_error));
                }
                else
                {
                    var server = new SrtpServer(crypto, this);
                    _dtls = new DtlsServerProtocol().Accept(server, datagrams);
                    tcs.TrySetResult(server.Keys ?? throw new TlsFatalAlert(AlertDescription.internal_error));
                }
                ReadAfterHandshake();
            }
#pragma warning disable CA1031 // the handshake thread reports every failure through the task
            catch (Exception e)
#pragma warning restore CA1031
            {
                tcs.TrySetException(new RtcFormatException(RtcError.AuthenticationFailed, "DTLS handshake failed: " + e.Message));
            }
            finally
            {
                registration.Dispose();
            }
        })
        { IsBackground = true, Name = "dtls-" + _role };
        _reader = thread;
        thread.Start();
        return tcs.Task;
    }

    /// <summary>Keeps reading after the handshake so peer retransmissions and close_notify are handled.</summary>
    private void ReadAfterHandshake()
    {
        var buffer = new byte[MaxRecord];
        while (!_closed.IsCancellationRequested && _dtls is not null)
        {
            try
            {
                if (_dtls.Receive(buffer, 0, buffer.Length, 500) < -1) break;
            }
            catch (TlsFatalAlertReceived)
            {
                break;
            }
            catch (TlsFatalAlert)
            {
                break;
            }
            catch (IOException)
            {
                break;
            }
            catch (ObjectDisposedException)
            {
                break;
            }
        }
        PeerClosed = true;
    }

    /// <summary>True once the peer closed DTLS or the transport failed after the handshake.</summary>
    public bool PeerClosed { get; private set; }

    public void Dispose()
    {
        if (_closed.IsCancellationRequested) return;
        try
        {
            _dtls?.Close();
        }
        catch (IOException)
        {
        }
        _closed.Cancel();
        _reader?.Join(2000);
        _incoming.Dispose();
        _closed.Dispose();
    }

    private bool CheckPeer(Certificate certificate)
    {
        if (certificate is null || certificate.IsEmpty) return false;
        return DtlsCertificate.MatchesFingerprint(certificate.GetCertificateAt(0).GetEncoded(), _remoteFingerprint);
    }

    private static SrtpKeys Export(TlsContext context, int profile, bool isClient)
    {
        var p = (SrtpProfile)profile;
        int keyLength = SrtpProfiles.MasterKeyLength(p), saltLength = SrtpProfiles.MasterSaltLength(p);
        var material = context.ExportKeyingMaterial(ExporterLabel.dtls_srtp, null, 2 * (keyLength + saltLength));
        var clientKey = material.AsSpan(0, keyLength).ToArray();
        var serverKey = material.AsSpan(keyLength, keyLength).ToArray();
        var clientSalt = material.AsSpan(2 * keyLength, saltLength).ToArray();
        var serverSalt = material.AsSpan(2 * keyLength + saltLength, saltLength).ToArray();
        Array.Clear(material);
        return isClient
            ? new SrtpKeys(p, clientKey, clientSalt, serverKey, serverSalt)
            : new SrtpKeys(p, serverKey, serverSalt, clientKey, clientSalt);
    }

    private BcDefaultTlsCredentialedSigner Signer(TlsContext context, BcTlsCrypto crypto)
    {
        var certificate = new Certificate([new BcTlsCertificate(crypto, _certificate.Der)]);
        return new BcDefaultTlsCredentialedSigner(new TlsCryptoParameters(context), crypto, _certificate.PrivateKey, certificate,
            SignatureAndHashAlgorithm.GetInstance(HashAlgorithm.sha256, SignatureAlgorithm.ecdsa));
    }

    private int[] ProfileIds => _profiles.Select(p => (int)p).ToArray();

    private sealed class QueueTransport(DtlsSrtpTransport owner) : DatagramTransport
    {
        public int GetReceiveLimit() => MaxRecord;

        public int GetSendLimit() => 1200;

        public int Receive(byte[] buf, int off, int len, int waitMillis) => Receive(buf.AsSpan(off, len), waitMillis);

        public int Receive(Span<byte> buffer, int waitMillis)
        {
            try
            {
                if (!owner._incoming.TryTake(out var record, waitMillis, owner._closed.Token)) return -1;
                int n = Math.Min(record.Length, buffer.Length);
                record.AsSpan(0, n).CopyTo(buffer);
                return n;
            }
            catch (OperationCanceledException)
            {
                throw new TlsTimeoutException("DTLS transport closed");
            }
            catch (ObjectDisposedException)
            {
                throw new TlsTimeoutException("DTLS transport closed");
            }
        }

        public void Send(byte[] buf, int off, int len) => Send(buf.AsSpan(off, len));

        public void Send(ReadOnlySpan<byte> buffer) => owner._send(buffer.ToArray());

        public void Close()
        {
        }
    }

    private sealed class SrtpClient(BcTlsCrypto crypto, DtlsSrtpTransport owner) : DefaultTlsClient(crypto)
    {
        public SrtpKeys? Keys { get; private set; }
        private int _profile;
        internal DtlsSrtpTransport Owner => owner;
        internal TlsContext Context => m_context;

        protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.DTLSv12.Only();

        public override IDictionary<int, byte[]> GetClientExtensions()
        {
            var extensions = TlsExtensionsUtilities.EnsureExtensionsInitialised(base.GetClientExtensions());
            TlsSrtpUtilities.AddUseSrtpExtension(extensions, new UseSrtpData(owner.ProfileIds, TlsUtilities.EmptyBytes));
            return extensions;
        }

        public override void ProcessServerExtensions(IDictionary<int, byte[]> serverExtensions)
        {
            base.ProcessServerExtensions(serverExtensions);
            var data = TlsSrtpUtilities.GetUseSrtpExtension(serverExtensions)
                ?? throw new TlsFatalAlert(AlertDescription.handshake_failure);
            if (data.ProtectionProfiles.Length != 1 || !owner.ProfileIds.Contains(data.ProtectionProfiles[0]))
                throw new TlsFatalAlert(AlertDescription.illegal_parameter);
            _profile = data.ProtectionProfiles[0];
        }

        public override TlsAuthentication GetAuthentication() => new Authentication(this);

        public override void NotifyHandshakeComplete()
        {
            base.NotifyHandshakeComplete();
            Keys = Export(m_context, _profile, isClient: true);
        }

        private sealed class Authentication(SrtpClient client) : TlsAuthentication
        {
            public void NotifyServerCertificate(TlsServerCertificate serverCertificate)
            {
                if (!client.Owner.CheckPeer(serverCertificate.Certificate)) throw new TlsFatalAlert(AlertDescription.bad_certificate);
            }

            public TlsCredentials GetClientCredentials(CertificateRequest certificateRequest) =>
                client.Owner.Signer(client.Context, (BcTlsCrypto)client.Crypto);
        }
    }

    private sealed class SrtpServer(BcTlsCrypto crypto, DtlsSrtpTransport owner) : DefaultTlsServer(crypto)
    {
        public SrtpKeys? Keys { get; private set; }
        private int _profile;

        protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.DTLSv12.Only();

        protected override int[] GetSupportedCipherSuites() =>
        [
            CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
        ];

        public override void ProcessClientExtensions(IDictionary<int, byte[]> clientExtensions)
        {
            base.ProcessClientExtensions(clientExtensions);
            var data = TlsSrtpUtilities.GetUseSrtpExtension(clientExtensions)
                ?? throw new TlsFatalAlert(AlertDescription.handshake_failure);
            _profile = owner.ProfileIds.FirstOrDefault(p => data.ProtectionProfiles.Contains(p));
            if (_profile == 0) throw new TlsFatalAlert(AlertDescription.handshake_failure);
        }

        public override IDictionary<int, byte[]> GetServerExtensions()
        {
            var extensions = TlsExtensionsUtilities.EnsureExtensionsInitialised(base.GetServerExtensions());
            TlsSrtpUtilities.AddUseSrtpExtension(extensions, new UseSrtpData([_profile], TlsUtilities.EmptyBytes));
            return extensions;
        }

        protected override TlsCredentialedSigner GetECDsaSignerCredentials() => owner.Signer(m_context, (BcTlsCrypto)Crypto);

        public override CertificateRequest GetCertificateRequest() =>
            new([ClientCertificateType.ecdsa_sign, ClientCertificateType.rsa_sign],
                TlsUtilities.GetDefaultSupportedSignatureAlgorithms(m_context), null);

        public override void NotifyClientCertificate(Certificate clientCertificate)
        {
            if (!owner.CheckPeer(clientCertificate)) throw new TlsFatalAlert(AlertDescription.bad_certificate);
        }

        public override void NotifyHandshakeComplete()
        {
            base.NotifyHandshakeComplete();
            Keys = Export(m_context, _profile, isClient: false);
        }
    }
}
