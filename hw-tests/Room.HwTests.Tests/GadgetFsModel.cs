using System.Buffers.Binary;
using Room.HwTests.Gadget;

namespace Room.HwTests.Tests;

/// <summary>
/// gadgetfs's ep0 over dummy_hcd as a state machine, for unit tests of <see cref="ControlPipe"/>: what a non-blocking
/// read, write or poll does in each state (drivers/usb/gadget/legacy/inode.c: ep0_read, ep0_write, ep0_poll,
/// gadgetfs_setup, next_event), and a host that sends a request whenever the test says, including in the window
/// between the device reading a request's event and reading its data stage. The lab runs the real thing.
/// </summary>
internal sealed class GadgetFsModel : IGadgetEp0, IHostSide
{
    private readonly List<SetupPacket> _events = [];
    private bool _setupState;
    private bool _abort, _in, _canStall, _outReady;
    private int _wLength;
    private byte[] _buffer = [];
    private SetupPacket? _waiting;
    private Action? _afterEventRead;
    private IControlRequests? _seenBy;
    private int _handedOver;

    /// <summary>What the host saw for each request, in order: "data", "done" (an OUT data stage dummy_hcd finished by
    /// itself), "ack" or "stall", with the data of an IN answer.</summary>
    public List<(SetupPacket Request, string Outcome, byte[]? Data)> Host { get; } = [];

    /// <summary>Answers the device queued for a request that was already answered (dummy_hcd discards them).</summary>
    public int Stale { get; private set; }

    /// <summary>ep0 idle: no request owns it, none waits for the device, no event unread.</summary>
    public bool Idle => !_setupState && _waiting is null && _events.Count == 0 && !_abort;

    /// <summary>Lets the device see the host's side (usbmon in the lab): <see cref="Observe"/> hands it each OUT
    /// request the host finished, in order, as the lab's usbmon reader does.</summary>
    public void ShowHostTo(IControlRequests device) => _seenBy = device;

    public HostView? Observe()
    {
        if (_seenBy is null)
        {
            return null;
        }

        for (; _handedOver < Host.Count; _handedOver++)
        {
            if (Host[_handedOver] is (var request, "done", { } data))
            {
                _seenBy.TakeOut(request, data);
            }
        }

        return new HostView(_waiting);
    }

    /// <summary>Runs <paramref name="host"/> once, right after the device's next read of a request's event.</summary>
    public void AfterNextEventRead(Action host) => _afterEventRead = host;

    /// <summary>The host sends a request. An OUT request's data stage is finished at once, as dummy_hcd does.</summary>
    public void Send(SetupPacket request, byte[]? outData = null)
    {
        if (_waiting is { } w)
        {
            throw new InvalidOperationException($"the host still waits for an answer to {w}");
        }

        if (_setupState)
        {
            _abort = true; // gadgetfs_setup: the request the device was in is gone
        }

        _in = request.IsIn;
        _wLength = request.Length;
        _outReady = false;
        _canStall = !(request.Kind == 0 && request.Request == 9); // SET_CONFIGURATION may not be stalled
        if (!request.IsIn && request.Length > 0)
        {
            _canStall = false;
            _buffer = outData ?? throw new ArgumentNullException(nameof(outData));
            _outReady = true;
            Host.Add((request, "done", outData));
        }
        else
        {
            _waiting = request;
        }

        _events.Clear(); // next_event: an older SETUP event is dropped ("previous request timed out")
        _events.Add(request);
    }

    public int Read(Span<byte> buffer)
    {
        if (_abort)
        {
            _abort = false;
            return -ControlPipe.EIDRM;
        }

        if (_setupState)
        {
            if (_in)
            {
                Answer("stall", null);
                return -ControlPipe.EL2HLT;
            }

            if (buffer.Length == 0)
            {
                _setupState = false;
                if (_outReady)
                {
                    return -ControlPipe.EBUSY; // setup_req: the request is still busy with the last data stage
                }

                if (_waiting is null)
                {
                    throw new InvalidOperationException("the device queued an ack while an OUT data stage was in flight: the kernel would queue one request twice");
                }

                Answer("ack", null);
                _outReady = true; // ep0_complete of the status stage
                return 0;
            }

            if (!_outReady)
            {
                return -ControlPipe.EAGAIN;
            }

            _setupState = false;
            var n = Math.Min(buffer.Length, _buffer.Length);
            _buffer.AsSpan(0, n).CopyTo(buffer);
            return n;
        }

        if (_events.Count == 0)
        {
            return -ControlPipe.EAGAIN;
        }

        var setup = _events[0];
        _events.RemoveAt(0);
        _setupState = true;
        buffer[..12].Clear();
        buffer[0] = setup.RequestType;
        buffer[1] = setup.Request;
        BinaryPrimitives.WriteUInt16LittleEndian(buffer[2..], setup.Value);
        BinaryPrimitives.WriteUInt16LittleEndian(buffer[4..], setup.Index);
        BinaryPrimitives.WriteUInt16LittleEndian(buffer[6..], setup.Length);
        BinaryPrimitives.WriteInt32LittleEndian(buffer[8..], 3);
        var host = _afterEventRead;
        _afterEventRead = null;
        host?.Invoke();
        return 12;
    }

    public int Write(ReadOnlySpan<byte> data)
    {
        if (_abort)
        {
            _abort = false;
            return -ControlPipe.EIDRM;
        }

        if (!_setupState)
        {
            return -3; // ESRCH
        }

        if (_in)
        {
            if (_outReady)
            {
                _setupState = false;
                return -ControlPipe.EBUSY;
            }

            var n = Math.Min(data.Length, _wLength);
            Answer("data", data[..n].ToArray());
            return n;
        }

        if (_canStall)
        {
            Answer("stall", null);
            return -ControlPipe.EL2HLT;
        }

        return -3; // "bogus ep0out stall"
    }

    public int Poll(short events, int timeoutMs)
    {
        int mask;
        if (_abort)
        {
            _abort = false;
            mask = ControlPipe.PollHup;
        }
        else if (_setupState)
        {
            mask = _in || _canStall ? ControlPipe.PollOut : 0;
        }
        else
        {
            mask = _events.Count > 0 ? ControlPipe.PollIn : 0;
        }

        return mask & (events | ControlPipe.PollHup);
    }

    private void Answer(string outcome, byte[]? data)
    {
        _setupState = false;
        if (_waiting is { } w)
        {
            Host.Add((w, outcome, data));
            _waiting = null;
        }
        else
        {
            Stale++;
        }
    }
}
