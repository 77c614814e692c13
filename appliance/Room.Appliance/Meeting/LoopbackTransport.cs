using System.Security.Cryptography;
using Room.Crypto.Media;
using Room.Crypto.Mls;

namespace Room.Appliance.Meeting;

/// <summary>
/// A meeting without a server: the room and one simulated remote participant form a real MLS group (RFC 9420,
/// suite 0x0001): the room creates it, adds the peer's KeyPackage, and the peer joins from the Welcome as it
/// arrives off the wire. Both derive the security code from their own epoch authenticator; a mismatch fails the
/// join, as it would with a meddling server. Hosts under the reserved .invalid domain fail like an unreachable
/// server would.
/// </summary>
public sealed class LoopbackTransport(TimeProvider time) : IMeetingTransport
{
    public TimeSpan JoinDelay { get; init; } = TimeSpan.FromMilliseconds(300);

    public async Task<IMeetingSession> ConnectAsync(Uri meeting, string roomName, bool microphoneMuted, CancellationToken cancellationToken)
    {
        await Task.Delay(JoinDelay, time, cancellationToken);
        if (meeting.Host.EndsWith(".invalid", StringComparison.OrdinalIgnoreCase))
        {
            throw new MeetingFailedException($"Meeting server {meeting.Host} not found.");
        }

        return await Task.Run(() => Session.Establish(roomName, microphoneMuted), cancellationToken);
    }

    /// <summary>The loopback call: both members' group state, so tests can compare what each side derived.</summary>
    internal sealed class Session : IMeetingSession
    {
        private readonly string _roomName;
        private readonly MlsGroup _room;
        private readonly MlsGroup _peer;
        private bool _muted;

        private Session(string roomName, bool muted, MlsGroup room, MlsGroup peer)
        {
            _roomName = roomName;
            _muted = muted;
            _room = room;
            _peer = peer;
            // The loop: the room encrypts with its own sender key; the peer, a separate member, decrypts.
            Keys = new MediaKeys(new MlsSFrameBinding(room), new MlsSFrameBinding(peer),
                $"SFrame AES-128-GCM (RFC 9605), per-sender keys from the MLS exporter, epoch {room.Epoch}");
            SecurityCode = Crypto.Media.SecurityCode.FromEpochAuthenticator(room.Suite, room.EpochAuthenticator);
            PeerSecurityCode = Crypto.Media.SecurityCode.FromEpochAuthenticator(peer.Suite, peer.EpochAuthenticator);
            if (SecurityCode != PeerSecurityCode)
            {
                throw new MeetingFailedException("The members disagree on the group state (security codes differ).");
            }
        }

        public static Session Establish(string roomName, bool muted)
        {
            var suite = MlsCipherSuite.Get(1);
            var room = MlsGroup.Create(MlsIdentity.CreateBasic(suite, roomName), RandomNumberGenerator.GetBytes(16));
            var peerIdentity = MlsIdentity.CreateBasic(suite, "loopback-peer");
            var keyPackage = peerIdentity.CreateKeyPackage();
            var commit = room.Commit(add: [keyPackage.KeyPackage]);
            // The Welcome crosses the "wire" as bytes, as the delivery service would carry it.
            var welcome = MlsMessage.Decode(commit.Welcome!.ToBytes()).Welcome!;
            var peer = MlsGroup.Join(peerIdentity, keyPackage, welcome);
            return new Session(roomName, muted, room, peer);
        }

        public IReadOnlyList<MeetingParticipant> Participants =>
        [
            new("local", _roomName, _muted),
            new("loopback-peer", "Loopback peer", false),
        ];

        public string SecurityCode { get; }

        public MediaKeys? Keys { get; }

        /// <summary>What the peer derived on its side.</summary>
        internal string PeerSecurityCode { get; }

        internal ulong Epoch => _room.Epoch;

        public event EventHandler? Changed;

        public event EventHandler<string>? Ended
        {
            add { }
            remove { }
        }

        public void SetMicrophoneMuted(bool muted)
        {
            _muted = muted;
            Changed?.Invoke(this, EventArgs.Empty);
        }

        public Task LeaveAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public ValueTask DisposeAsync()
        {
            Keys?.Send.Dispose();
            Keys?.Receive.Dispose();
            _room.Dispose();
            _peer.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
