using System.Buffers.Binary;

namespace Room.HwTests.Gadget;

/// <summary>A USB control request as gadgetfs reports it: the 8-byte SETUP packet.</summary>
public readonly record struct SetupPacket(byte RequestType, byte Request, ushort Value, ushort Index, ushort Length)
{
    public bool IsIn => (RequestType & 0x80) != 0;

    /// <summary>0 standard, 1 class, 2 vendor.</summary>
    public int Kind => (RequestType >> 5) & 3;

    public static SetupPacket Parse(ReadOnlySpan<byte> b) => new(
        b[0], b[1], BinaryPrimitives.ReadUInt16LittleEndian(b[2..]), BinaryPrimitives.ReadUInt16LittleEndian(b[4..]), BinaryPrimitives.ReadUInt16LittleEndian(b[6..]));

    public override string ToString() => $"{RequestType:x2} {Request:x2} v{Value:x4} i{Index:x4} l{Length}";
}

/// <summary>What a device answers to control requests; <see cref="ControlPipe"/> does gadgetfs's protocol around it.</summary>
public interface IControlRequests
{
    /// <summary>The data for an IN request, or null to stall it.</summary>
    byte[]? AnswerIn(SetupPacket setup);

    /// <summary>An OUT request and its data stage (null when it has none, or when the data was lost to the race). With
    /// the host's side in view, the host's side calls it for each OUT request with data, and the pipe only for those without.
    /// False stalls a request without a data stage.</summary>
    bool TakeOut(SetupPacket setup, byte[]? data);

    /// <summary>The answer to the request a host sends right after this one (its read-back), or null if there is none.</summary>
    byte[]? ReadBackAfter(SetupPacket setup);

    /// <summary>The host disconnected or reset the device.</summary>
    void Disconnected();
}

/// <summary>ep0 of a gadgetfs device, opened non-blocking: each call returns a count or a negative errno.</summary>
public interface IGadgetEp0
{
    int Read(Span<byte> buffer);

    int Write(ReadOnlySpan<byte> data);

    /// <summary>poll(2) on ep0: the revents, 0 on timeout.</summary>
    int Poll(short events, int timeoutMs);
}

/// <summary>
/// The device side of the control endpoint on gadgetfs (drivers/usb/gadget/legacy/inode.c). gadgetfs delivers each
/// request as an event and then expects exactly one answer: IN data (write), an acknowledgement (zero-length read),
/// a stall, or for an OUT request the read of its data stage. For an OUT request with data, gadgetfs queues the data
/// stage itself and dummy_hcd finishes the host's transfer at once, before the device has read anything: the host's
/// next request can then come first. If the device had not read the request's event yet, gadgetfs replaces that event
/// with the new one (next_event: one SETUP event at a time) and nothing tells the device a request was lost; if it had,
/// gadgetfs reports EIDRM, the data is overwritten, and from that moment ep0 belongs to the new request, whose event
/// cannot be read until it is answered. No way of reading ep0 closes that window, so with the host's side in view
/// (usbmon in the lab) the device takes OUT data from there, every request in the host's order, and reads gadgetfs's
/// copy only to free ep0. Which kind of request owns ep0 shows in poll: writable when it is IN (or an OUT without data
/// that may be stalled), not writable when it is an OUT whose data gadgetfs collects itself, or SET_CONFIGURATION (no
/// data, may not be stalled: only an ack ends it). Every wait here is bounded: a request that is never answered
/// stalls the host for its 5 s timeout, and a thread blocked on ep0 would leave every later request unanswered.
/// </summary>
public sealed class ControlPipe
{
    public const int EINTR = 4, EAGAIN = 11, EBUSY = 16, EINVAL = 22, EIDRM = 43, EL2HLT = 51;
    public const short PollIn = 0x1, PollOut = 0x4, PollHup = 0x10;

    private const int EventSize = 12, DisconnectEvent = 2, SetupEvent = 3;
    private const int SetConfiguration = 9;
    private const int MaxOvertakes = 8;

    private readonly IGadgetEp0 _ep0;
    private readonly IControlRequests _device;
    private readonly IHostSide? _host;
    private readonly Action<string> _log;
    private readonly Action<int> _pause;
    private readonly int _dataWaitMs;
    private readonly byte[] _events = new byte[EventSize * 4];
    private readonly byte[] _data = new byte[1024];

    // Set when a request was answered before its event was read: the event still comes, and its second answer is
    // expected to be refused or discarded, so it is not an error.
    private string? _answeredBlind;

    /// <param name="host">What the host sent, when it can be seen (usbmon in the lab): it hands the device every OUT
    /// request's data, and a request that overtook is answered as what it is; without it, OUT data comes from gadgetfs
    /// (and is lost with it) and an overtaking request is guessed.</param>
    /// <param name="pause">Sleeps the given milliseconds between polls for a data stage (a no-op in tests).</param>
    /// <param name="dataWaitMs">How long a data stage may take to arrive after its request (dummy_hcd: microseconds).</param>
    public ControlPipe(IGadgetEp0 ep0, IControlRequests device, Action<string> log, IHostSide? host = null, Action<int>? pause = null, int dataWaitMs = 1000)
    {
        _ep0 = ep0;
        _device = device;
        _host = host;
        _log = log;
        _pause = pause ?? Thread.Sleep;
        _dataWaitMs = dataWaitMs;
    }

    /// <summary>Logs every request (HWTEST_TRACE=1).</summary>
    public bool Trace { get; init; }

    /// <summary>Requests that arrived before the previous one's data stage was read.</summary>
    public int Overtaken { get; private set; }

    /// <summary>OUT data stages lost to an overtaking request (only without the host's side in view).</summary>
    public int DataLost { get; private set; }

    /// <summary>Waits up to <paramref name="timeoutMs"/> for the host and answers what it sent.</summary>
    public void Serve(int timeoutMs)
    {
        var revents = _ep0.Poll(PollIn | PollOut, timeoutMs);
        if ((revents & (PollOut | PollHup)) != 0)
        {
            // Only after a missed answer: a request owns ep0 and its event is out of reach.
            _log($"ep0 holds a request nobody answered (poll 0x{revents:x}): answering it blind");
            Recover(null);
            return;
        }

        if ((revents & PollIn) == 0)
        {
            return;
        }

        var n = _ep0.Read(_events);
        if (n < 0)
        {
            if (-n is not (EAGAIN or EINTR))
            {
                _log($"ep0 read: errno {-n}");
                if (-n == EIDRM)
                {
                    Recover(null);
                }
            }

            return;
        }

        for (var off = 0; off + EventSize <= n; off += EventSize)
        {
            var type = BinaryPrimitives.ReadInt32LittleEndian(_events.AsSpan(off + 8));
            if (type == SetupEvent)
            {
                Handle(SetupPacket.Parse(_events.AsSpan(off, 8)));
            }
            else if (type == DisconnectEvent)
            {
                _device.Disconnected();
            }
        }
    }

    private void Handle(SetupPacket setup)
    {
        var blind = _answeredBlind;
        _answeredBlind = null;
        if (blind is not null)
        {
            _log($"the request answered blind was {setup} ({blind})");
        }

        if (Trace)
        {
            _log($"{Environment.TickCount64 % 100000} setup {setup}");
        }

        // The host's side first: every OUT request it finished before this one reaches the device before it answers.
        var hostApplies = _host?.Observe() is not null;
        if (setup.IsIn || setup.Length == 0)
        {
            var (r, stalled) = Answer(setup);
            Answered(setup, r, stalled ? -EL2HLT : 0, blind, stalled ? "stall" : setup.IsIn ? "reply" : "ack");
            return;
        }

        // gadgetfs has let the host finish this data stage already: read it before the host's next request takes ep0.
        // With the host's side in view the device has its data from there (in the host's order), and this read only
        // frees ep0; otherwise the data read here is all the device gets.
        var (data, overtaken) = CollectData(setup);
        if (!hostApplies)
        {
            if (data is null)
            {
                DataLost++;
                _log($"{setup}: its data stage was lost to the host's next request; the device keeps its old value");
            }

            _device.TakeOut(setup, data);
        }

        if (overtaken)
        {
            Recover(setup);
        }
    }

    /// <summary>Answers a request whose data (if any) the device sends, or an OUT taken without data, as the device
    /// would: the reply, an ack, or a stall. Returns ep0's result and whether it was a stall.</summary>
    private (int Result, bool Stalled) Answer(SetupPacket setup)
    {
        if (setup.IsIn)
        {
            var answer = _device.AnswerIn(setup);
            return answer is null
                ? (_ep0.Read(Span<byte>.Empty), true)
                : (_ep0.Write(answer.AsSpan(0, Math.Min(answer.Length, setup.Length))), false);
        }

        return _device.TakeOut(setup, null) ? (_ep0.Read(Span<byte>.Empty), false) : (_ep0.Write(ReadOnlySpan<byte>.Empty), true);
    }

    private void Answered(SetupPacket setup, int result, int expected, string? blind, string what)
    {
        if (result == -EIDRM)
        {
            // The host gave up on this request and sent another, which now owns ep0.
            Recover(null);
        }
        else if (result < 0 && result != expected && blind is null)
        {
            _log($"ep0 {what} to {setup}: errno {-result}");
        }
    }

    private (byte[]? Data, bool Overtaken) CollectData(SetupPacket setup)
    {
        var length = Math.Min((int)setup.Length, _data.Length);
        for (var waited = 0; ; waited++)
        {
            var n = _ep0.Read(_data.AsSpan(0, length));
            if (n >= 0)
            {
                return (_data.AsSpan(0, n).ToArray(), false);
            }

            if (-n == EIDRM)
            {
                return (null, true);
            }

            if (-n is not (EAGAIN or EINTR) || waited >= _dataWaitMs)
            {
                _log($"{setup}: reading its data stage: errno {-n}");
                return (null, false);
            }

            _pause(1);
        }
    }

    /// <summary>The host's next request has taken ep0 before <paramref name="overtaken"/> was finished: answer it
    /// without its event, which is read (and answered again, harmlessly) afterwards.</summary>
    private void Recover(SetupPacket? overtaken)
    {
        Overtaken++;
        var what = overtaken?.ToString() ?? "an unanswered request";
        for (var round = 0; round < MaxOvertakes; round++)
        {
            var revents = _ep0.Poll(PollIn | PollOut, 0);
            if ((revents & PollHup) != 0)
            {
                continue; // yet another request overtook that one; the newest owns ep0
            }

            // The host's side (its finished OUT requests reach the device here) shows which request it waits on.
            var view = _host?.Observe();
            if ((revents & PollOut) != 0 && view?.Waiting is { } next)
            {
                // Answer that one as itself.
                var (r, _) = Answer(next);
                if (r == -EIDRM)
                {
                    continue;
                }

                _answeredBlind = $"answered as {next}, the request the host waits on";
                _log($"{what} was overtaken by the host's next request: {_answeredBlind}");
                return;
            }

            if ((revents & PollOut) != 0)
            {
                // An IN request (or an OUT without data that may be stalled): after a SET_CUR, its read-back.
                var guess = overtaken is { } o ? _device.ReadBackAfter(o) : null;
                var r = guess is null ? _ep0.Read(Span<byte>.Empty) : _ep0.Write(guess);
                if (r == -EIDRM)
                {
                    continue;
                }

                _answeredBlind = guess is null ? "stalled, or acked if it had no data stage" : $"answered as the read-back of {what}";
                _log($"{what} was overtaken by the host's next request, which wants data: {_answeredBlind}");
                return;
            }

            if ((revents & PollIn) != 0)
            {
                return; // ep0 is idle with events waiting: nothing left to answer
            }

            if (view?.Waiting is { Kind: 0, Request: SetConfiguration })
            {
                var configured = _ep0.Read(Span<byte>.Empty);
                if (configured == -EIDRM)
                {
                    continue;
                }

                _answeredBlind = "acked: the host waits on SET_CONFIGURATION";
                _log($"{what} was overtaken by the host's next request: {_answeredBlind}");
                return;
            }

            switch (ReadOvertakingData())
            {
                case true when view is not null:
                    _answeredBlind = "its data stage read ahead; the device has its data from the host's side";
                    _log($"{what} was overtaken by the host's next OUT request: {_answeredBlind}");
                    return;
                case true:
                    _answeredBlind = "its data stage read ahead; read again with its event";
                    _log($"{what} was overtaken by the host's next OUT request: {_answeredBlind}");
                    return;
                case null:
                    continue;
                case false:
                    break;
            }

            // No data stage came: the one request without one that may not be stalled, SET_CONFIGURATION. Ack it.
            var ack = _ep0.Read(Span<byte>.Empty);
            if (ack == -EIDRM)
            {
                continue;
            }

            _answeredBlind = "acked as SET_CONFIGURATION";
            _log($"{what} was overtaken by a request without data that cannot be stalled: {_answeredBlind} (errno {Math.Max(0, -ack)})");
            return;
        }

        _log($"{what}: {MaxOvertakes} requests overtook one another; giving up on answering them blind");
    }

    /// <summary>True when the overtaking request's data stage was read, false when none came, null when yet another
    /// request overtook it.</summary>
    private bool? ReadOvertakingData()
    {
        for (var waited = 0; waited <= _dataWaitMs; waited++)
        {
            var n = _ep0.Read(_data);
            if (n >= 0)
            {
                return true;
            }

            if (-n == EIDRM)
            {
                return null;
            }

            if (-n is not (EAGAIN or EINTR))
            {
                _log($"reading an overtaking request's data: errno {-n}");
                return true; // ep0 left the request's state; nothing more to answer
            }

            _pause(1);
        }

        return false;
    }
}
