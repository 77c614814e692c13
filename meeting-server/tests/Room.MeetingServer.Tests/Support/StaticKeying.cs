using Room.Appliance.Meeting;
using Room.Call;
using Room.Call.E2ee;

namespace Room.MeetingServer.Tests.Support;

/// <summary>
/// roomd's Janus call code keyed by one MLS group's keys as they stand, with no server loop: no commit is processed
/// after it starts (a removed member's captured keys, or a test publisher in a fixed group).
/// </summary>
internal sealed class StaticKeying(MlsCallKeys keys, string encryption) : ICallKeying
{
    public SFrameEncryptor CreateEncryptor(FrameKind kind, uint stream) => new(kind, keys, stream);

    public ISFrameKeySource ReceiveKeys => keys;

    public string SecurityCode => keys.SecurityCode;

    public string Encryption => encryption;

    /// <summary>The keys are an MLS group's, as in a meeting-server call.</summary>
    public bool EndToEnd => true;

    public IReadOnlyList<MeetingParticipant>? Others => null;

    public event EventHandler? Changed { add { } remove { } }

    public event EventHandler<CallEnd>? Ended { add { } remove { } }

    public Task LeaveAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public ValueTask DisposeAsync()
    {
        keys.Dispose();
        return ValueTask.CompletedTask;
    }
}
