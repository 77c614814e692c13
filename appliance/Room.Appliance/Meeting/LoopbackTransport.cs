using System.Security.Cryptography;

namespace Room.Appliance.Meeting;

/// <summary>
/// A meeting without a server: joining takes a moment, then the room is in a call with one simulated remote
/// participant and a fresh security code. Hosts under the reserved .invalid domain fail, as a real server
/// that cannot be found would.
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

        return new Session(roomName, microphoneMuted);
    }

    private sealed class Session : IMeetingSession
    {
        private readonly string _roomName;
        private bool _muted;

        public Session(string roomName, bool muted)
        {
            _roomName = roomName;
            _muted = muted;
            SecurityCode = SecurityCodes.FromEpochAuthenticator(RandomNumberGenerator.GetBytes(32));
        }

        public IReadOnlyList<MeetingParticipant> Participants =>
        [
            new("local", _roomName, _muted),
            new("loopback-peer", "Loopback peer", false),
        ];

        public string SecurityCode { get; }

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

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
