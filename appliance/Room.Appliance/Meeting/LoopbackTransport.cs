using System.Security.Cryptography;
using Room.Crypto.Media;
using Room.Crypto.Mls;

namespace Room.Appliance.Meeting;

/// <summary>
/// The test loopback (<c>test-loopback://NAME/call</c>, tests and demos only; it is no meeting): the room and one simulated remote participant form a real MLS group (RFC 9420,
/// suite 0x0001): the room creates it, adds the peer's KeyPackage, and the peer joins from the Welcome as it
/// arrives off the wire. Both derive the security code from their own epoch authenticator; a mismatch fails the
/// join, as it would with a meddling server. Hosts under the reserved .invalid domain fail like an unreachable
/// server would. During the call the room rekeys every <see cref="RekeyInterval"/> (an empty commit with a fresh
/// UpdatePath, for post-compromise security): the peer processes it off the wire, both move to the new epoch, the
/// SFrame keys follow, and the security code changes on both.
/// </summary>
public sealed class LoopbackTransport(TimeProvider time) : IMeetingTransport
{
    public TimeSpan JoinDelay { get; init; } = TimeSpan.FromMilliseconds(300);

    /// <summary>How often the room rekeys the call; <see cref="TimeSpan.Zero"/> never.</summary>
    public TimeSpan RekeyInterval { get; init; } = TimeSpan.FromMinutes(10);

    public async Task<IMeetingSession> ConnectAsync(Uri meeting, string roomName, bool microphoneMuted, CancellationToken cancellationToken)
    {
        await Task.Delay(JoinDelay, time, cancellationToken);
        if (meeting.Host.EndsWith(".invalid", StringComparison.OrdinalIgnoreCase))
        {
            throw new MeetingFailedException($"Meeting server {meeting.Host} not found.");
        }

        var session = await Task.Run(() => Session.Establish(roomName, microphoneMuted, time), cancellationToken);
        session.StartRekeying(time, RekeyInterval);
        return session;
    }

    /// <summary>The loopback call: both members' group state, so tests can compare what each side derived.</summary>
    internal sealed class Session : IMeetingSession
    {
        private readonly string _roomName;
        private readonly MlsGroup _room;
        private readonly MlsGroup _peer;
        private readonly Lock _mls = new();
        private ITimer? _rekeyTimer;
        private bool _muted;
        private bool _disposed;

        /// <summary>
        /// After a rekey the room keeps sending with the old key this long, while the peer processes the commit
        /// (as remote members would after the delivery service's latency); the old key stays readable for 5 s.
        /// </summary>
        internal static readonly TimeSpan SendSwitchDelay = TimeSpan.FromMilliseconds(500);

        private Session(string roomName, bool muted, MlsGroup room, MlsGroup peer, TimeProvider time)
        {
            _roomName = roomName;
            _muted = muted;
            _room = room;
            _peer = peer;
            // The loop: the room encrypts with its own sender key; the peer, a separate member, decrypts.
            Keys = new MediaKeys(new MlsSFrameBinding(room, time: time, sendSwitchDelay: SendSwitchDelay), new MlsSFrameBinding(peer, time: time),
                "SFrame AES-128-GCM (RFC 9605), per-sender keys from the MLS exporter, new keys every epoch");
            CheckAgreement();
        }

        private void CheckAgreement()
        {
            if (SecurityCode != PeerSecurityCode)
            {
                throw new MeetingFailedException("The members disagree on the group state (security codes differ).");
            }
        }

        public static Session Establish(string roomName, bool muted, TimeProvider time)
        {
            var suite = MlsCipherSuite.Get(1);
            var room = MlsGroup.Create(MlsIdentity.CreateBasic(suite, roomName), RandomNumberGenerator.GetBytes(16));
            var peerIdentity = MlsIdentity.CreateBasic(suite, "loopback-peer");
            var keyPackage = peerIdentity.CreateKeyPackage();
            var commit = room.Commit(add: [keyPackage.KeyPackage]);
            // The Welcome crosses the "wire" as bytes, as the delivery service would carry it.
            var welcome = MlsMessage.Decode(commit.Welcome!.ToBytes()).Welcome!;
            var peer = MlsGroup.Join(peerIdentity, keyPackage, welcome);
            return new Session(roomName, muted, room, peer, time);
        }

        public IReadOnlyList<MeetingParticipant> Participants =>
        [
            new("local", _roomName, _muted),
            new("loopback-peer", "Test loopback (simulated peer)", false),
        ];

        public string SecurityCode
        {
            get
            {
                lock (_mls)
                {
                    return Crypto.Media.SecurityCode.FromEpochAuthenticator(_room.Suite, _room.EpochAuthenticator);
                }
            }
        }

        public MediaKeys? Keys { get; }

        /// <summary>What the peer derived on its side.</summary>
        internal string PeerSecurityCode
        {
            get
            {
                lock (_mls)
                {
                    return Crypto.Media.SecurityCode.FromEpochAuthenticator(_peer.Suite, _peer.EpochAuthenticator);
                }
            }
        }

        internal ulong Epoch
        {
            get
            {
                lock (_mls)
                {
                    return _room.Epoch;
                }
            }
        }

        internal ulong PeerEpoch
        {
            get
            {
                lock (_mls)
                {
                    return _peer.Epoch;
                }
            }
        }

        /// <summary>Rekeys completed since the call started.</summary>
        public int Rekeys { get; private set; }

        internal void StartRekeying(TimeProvider time, TimeSpan interval)
        {
            if (interval > TimeSpan.Zero)
            {
                _rekeyTimer = time.CreateTimer(_ => RekeyFromTimer(), null, interval, interval);
            }
        }

        /// <summary>
        /// One rekey: the room commits (no proposals, so a fresh UpdatePath), the commit crosses the "wire" as bytes
        /// and the peer processes it. Both groups raise EpochChanged: the SFrame bindings install the new epoch's
        /// keys (the old ones stay for their grace period) and ask for a keyframe.
        /// </summary>
        internal void Rekey()
        {
            lock (_mls)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                var commit = _room.Commit();
                _peer.Process(MlsMessage.Decode(commit.Commit.ToBytes()));
                Rekeys++;
            }

            CheckAgreement();
            Changed?.Invoke(this, EventArgs.Empty);
        }

        private void RekeyFromTimer()
        {
            try
            {
                Rekey();
            }
            catch (ObjectDisposedException)
            {
                // the call ended under the timer
            }
#pragma warning disable CA1031 // A timer thread must not throw; a failed rekey ends the call instead.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                _rekeyTimer?.Dispose();
                _ended?.Invoke(this, new CallEnd("Rekeying the call failed: " + ex.Message, CanRejoin: false));
            }
        }

        public event EventHandler? Changed;

        private EventHandler<CallEnd>? _ended;

        public event EventHandler<CallEnd>? Ended
        {
            add => _ended += value;
            remove => _ended -= value;
        }

        public void SetMicrophoneMuted(bool muted)
        {
            _muted = muted;
            Changed?.Invoke(this, EventArgs.Empty);
        }

        public Task LeaveAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public async ValueTask DisposeAsync()
        {
            if (_rekeyTimer is not null)
            {
                await _rekeyTimer.DisposeAsync();
            }

            lock (_mls)
            {
                if (_disposed)
                {
                    return;
                }

                _disposed = true;
                Keys?.Send.Dispose();
                Keys?.Receive.Dispose();
                _room.Dispose();
                _peer.Dispose();
            }
        }
    }
}
