using System.Buffers.Binary;
using Room.HwTests.Gadget;

namespace Room.HwTests.Tests;

/// <summary>
/// The lab camera's control endpoint when the host's next request overtakes a SET_CUR (gadgetfs over dummy_hcd lets
/// it). Each race seen in the lab is replayed on a model of gadgetfs; the lab runs the same code on the real driver.
/// </summary>
public sealed class ControlPipeTests : IDisposable
{
    private const ushort CameraTerminal = UvcDescriptors.CameraTerminalId << 8;
    private static readonly SetupPacket GetPanTilt = new(0xA1, 0x81, 0x0D00, CameraTerminal, 8);
    private static readonly SetupPacket GetZoom = new(0xA1, 0x81, 0x0B00, CameraTerminal, 2);
    private static readonly SetupPacket SetPanTilt = new(0x21, 0x01, 0x0D00, CameraTerminal, 8);
    private static readonly SetupPacket SetZoom = new(0x21, 0x01, 0x0B00, CameraTerminal, 2);
    private static readonly SetupPacket SetProbe = new(0x21, 0x01, 0x0100, 0x0001, 34);
    private static readonly SetupPacket GetProbe = new(0xA1, 0x81, 0x0100, 0x0001, 34);
    private static readonly SetupPacket Unconfigure = new(0x00, 0x09, 0, 0, 0);
    private static readonly SetupPacket Configure = new(0x00, 0x09, 1, 0, 0);

    private readonly GadgetFsModel _usb = new();
    private readonly List<string> _log = [];
    private readonly UvcGadget _camera;
    private ControlPipe _pipe;
    private int _pauses;

    public ControlPipeTests()
    {
        _camera = new UvcGadget("/nonexistent-gadgetfs", _log.Add);
        _pipe = new ControlPipe(_usb, _camera, _log.Add, pause: _ => _pauses++, dataWaitMs: 50);
    }

    /// <summary>The lab's case: the device sees the host's side through usbmon.</summary>
    private void SeeTheHost()
    {
        _usb.ShowHostTo(_camera);
        _pipe = new ControlPipe(_usb, _camera, _log.Add, _usb, pause: _ => _pauses++, dataWaitMs: 50);
    }

    public void Dispose() => _camera.Dispose();

    [Fact]
    public void Without_a_race_the_host_reads_back_what_it_set()
    {
        Exchange(SetPanTilt, PanTilt(36000, -7200));
        var answer = Exchange(GetPanTilt);

        Assert.Equal(PanTilt(36000, -7200), answer);
        Assert.Equal(0, _pipe.Overtaken);
        Assert.Empty(_log);
    }

    [Fact]
    public void A_read_back_that_overtakes_a_set_cur_gets_an_answer_and_later_requests_are_served()
    {
        _usb.AfterNextEventRead(() => _usb.Send(GetPanTilt));
        Exchange(SetPanTilt, PanTilt(36000, 0));

        Assert.Equal(("data", 8), (_usb.Host[^1].Outcome, _usb.Host[^1].Data!.Length));
        Assert.Equal(PanTilt(0, 0), _usb.Host[^1].Data); // the SET_CUR's data never reached the device
        Assert.Equal(1, _pipe.Overtaken);
        Assert.Equal(1, _pipe.DataLost);
        Assert.Equal([100, 0], Exchange(GetZoom));
    }

    [Fact]
    public void A_probe_read_back_that_overtakes_its_set_cur_gets_the_probe()
    {
        _usb.AfterNextEventRead(() => _usb.Send(GetProbe));
        Exchange(SetProbe, new byte[34]);

        var answer = _usb.Host[^1];
        Assert.Equal((GetProbe, "data"), (answer.Request, answer.Outcome));
        Assert.Equal(Exchange(GetProbe), answer.Data);
    }

    [Fact]
    public void A_set_cur_that_overtakes_another_leaves_the_device_with_the_second_value()
    {
        _usb.AfterNextEventRead(() => _usb.Send(SetPanTilt, PanTilt(72000, 3600)));
        Exchange(SetPanTilt, PanTilt(36000, 0));

        Assert.Equal((72000, 3600), (_camera.Position.Pan, _camera.Position.Tilt));
        Assert.Equal(PanTilt(72000, 3600), Exchange(GetPanTilt));
        Assert.Equal(1, _pipe.DataLost);
    }

    [Fact]
    public void A_set_configuration_that_overtakes_a_set_cur_is_acked_instead_of_waited_on_forever()
    {
        // The CI failure: de-authorising the camera mid-SET_CUR left the ep0 thread blocked on a data stage that
        // SET_CONFIGURATION does not have, and the host's write to `authorized` timed out.
        _usb.AfterNextEventRead(() => _usb.Send(Unconfigure));
        Exchange(SetPanTilt, PanTilt(36000, 0));

        Assert.Equal((Unconfigure, "ack"), (_usb.Host[^1].Request, _usb.Host[^1].Outcome));
        Assert.Contains(_log, l => l.Contains("SET_CONFIGURATION", StringComparison.Ordinal));

        Exchange(Configure);
        Assert.Equal((Configure, "ack"), (_usb.Host[^1].Request, _usb.Host[^1].Outcome));
        Assert.Equal([100, 0], Exchange(GetZoom));
    }

    [Fact]
    public void When_two_requests_overtake_a_set_cur_the_newest_is_answered_and_the_pipe_recovers()
    {
        _usb.AfterNextEventRead(() =>
        {
            _usb.Send(SetPanTilt, PanTilt(72000, 0));
            _usb.Send(GetPanTilt);
        });
        Exchange(SetPanTilt, PanTilt(36000, 0));

        Assert.Equal((GetPanTilt, "data"), (_usb.Host[^1].Request, _usb.Host[^1].Outcome));
        Assert.Equal(PanTilt(0, 0), Exchange(GetPanTilt));
        Exchange(SetPanTilt, PanTilt(-36000, 0));
        Assert.Equal(PanTilt(-36000, 0), Exchange(GetPanTilt));
    }

    [Fact]
    public void Seeing_the_host_a_read_of_another_control_that_overtakes_a_set_cur_gets_its_own_value_and_the_set_cur_counts()
    {
        SeeTheHost();
        _usb.AfterNextEventRead(() => _usb.Send(GetZoom));
        Exchange(SetPanTilt, PanTilt(36000, 3600));

        Assert.Equal((GetZoom, "data"), (_usb.Host[^1].Request, _usb.Host[^1].Outcome));
        Assert.Equal([100, 0], _usb.Host[^1].Data);
        Assert.Equal((36000, 3600), (_camera.Position.Pan, _camera.Position.Tilt));
        Assert.Equal(0, _pipe.DataLost);
        Assert.Equal(PanTilt(36000, 3600), Exchange(GetPanTilt));
    }

    [Fact]
    public void Without_seeing_the_host_a_read_of_another_control_that_overtakes_a_set_cur_gets_a_guess()
    {
        // The degraded mode the guess leaves (the lab logs it): the read-back of the SET_CUR's control, cut to length.
        _usb.AfterNextEventRead(() => _usb.Send(GetZoom));
        Exchange(SetPanTilt, PanTilt(36000, 3600));

        Assert.Equal((GetZoom, "data"), (_usb.Host[^1].Request, _usb.Host[^1].Outcome));
        Assert.Equal([0, 0], _usb.Host[^1].Data);
        Assert.Equal(1, _pipe.DataLost);
        Assert.Contains(_log, l => l.Contains("answered blind was a1 81 v0b00", StringComparison.Ordinal));
    }

    [Fact]
    public void Seeing_the_host_a_set_configuration_that_overtakes_is_acked_without_waiting_for_data()
    {
        SeeTheHost();
        _usb.AfterNextEventRead(() => _usb.Send(Unconfigure));
        Exchange(SetPanTilt, PanTilt(36000, 0));

        Assert.Equal((Unconfigure, "ack"), (_usb.Host[^1].Request, _usb.Host[^1].Outcome));
        Assert.Equal(0, _pauses);
        Assert.Equal(36000, _camera.Position.Pan);
    }

    [Fact]
    public void Seeing_the_host_a_set_cur_that_overtakes_another_keeps_both_in_order()
    {
        SeeTheHost();
        _usb.AfterNextEventRead(() => _usb.Send(SetPanTilt, PanTilt(72000, 0)));
        Exchange(SetPanTilt, PanTilt(36000, 0));

        Assert.Equal(PanTilt(72000, 0), Exchange(GetPanTilt));
    }

    [Fact]
    public void Seeing_the_host_every_set_cur_of_a_chain_that_overtook_one_another_takes_effect_before_the_read_back()
    {
        // Seen in the lab: SET_CUR pan/tilt, overtaken by SET_CUR zoom, overtaken by GET_CUR zoom; gadgetfs kept
        // only the last one's event and the zoom was lost.
        SeeTheHost();
        _usb.AfterNextEventRead(() =>
        {
            _usb.Send(SetZoom, [44, 1]);
            _usb.Send(GetZoom);
        });
        Exchange(SetPanTilt, PanTilt(36000, 0));

        Assert.Equal((GetZoom, "data"), (_usb.Host[^1].Request, _usb.Host[^1].Outcome));
        Assert.Equal([44, 1], _usb.Host[^1].Data);
        Assert.Equal((36000, 300), (_camera.Position.Pan, _camera.Position.Zoom));
    }

    [Fact]
    public void Seeing_the_host_a_set_cur_that_overtook_and_whose_event_is_gone_still_takes_effect()
    {
        SeeTheHost();
        _usb.AfterNextEventRead(() => _usb.Send(SetZoom, [44, 1]));
        _usb.Send(SetPanTilt, PanTilt(36000, 0));
        _pipe.Serve(0); // reads the pan/tilt event; the zoom overtakes; its data stage is read ahead
        _usb.Send(GetPanTilt); // and the host's next request replaces the zoom's event before the device reads it
        for (var i = 0; i < 20 && !_usb.Idle; i++)
        {
            _pipe.Serve(0);
        }

        Assert.True(_usb.Idle);
        Assert.Equal(PanTilt(36000, 0), _usb.Host[^1].Data);
        Assert.Equal(300, _camera.Position.Zoom);
    }

    [Fact]
    public void Seeing_the_host_a_set_cur_whose_event_the_read_back_replaced_before_the_device_read_it_still_takes_effect()
    {
        // The lab's focus/exposure failure: gadgetfs replaces an unread SETUP event with the next one and says nothing,
        // so the device never hears of the SET_CUR; the host's side has it.
        SeeTheHost();
        _usb.Send(SetPanTilt, PanTilt(36000, 3600));

        Assert.Equal(PanTilt(36000, 3600), Exchange(GetPanTilt));
        Assert.Equal(0, _pipe.Overtaken);
    }

    [Fact]
    public void Without_seeing_the_host_a_set_cur_whose_event_was_replaced_is_lost_without_a_trace()
    {
        // Why the lab reads usbmon: from gadgetfs alone the device cannot even tell it missed a request.
        _usb.Send(SetPanTilt, PanTilt(36000, 3600));

        Assert.Equal(PanTilt(0, 0), Exchange(GetPanTilt));
        Assert.Equal((0, 0), (_pipe.Overtaken, _pipe.DataLost));
    }

    [Fact]
    public void An_unknown_request_is_stalled_and_the_next_one_is_answered()
    {
        Exchange(new SetupPacket(0xA1, 0x81, 0x1F00, CameraTerminal, 4));
        Assert.Equal("stall", _usb.Host[^1].Outcome);
        Assert.Equal([100, 0], Exchange(GetZoom));
    }

    /// <summary>The host sends one request; the device serves until ep0 is idle. Returns the IN answer, if any.</summary>
    private byte[]? Exchange(SetupPacket request, byte[]? outData = null)
    {
        _usb.Send(request, outData);
        for (var i = 0; i < 20 && !_usb.Idle; i++)
        {
            _pipe.Serve(0);
        }

        Assert.True(_usb.Idle, "ep0 left holding a request: " + string.Join(" | ", _log));
        return _usb.Host[^1].Data;
    }

    private static byte[] PanTilt(int pan, int tilt)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(b, pan);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(4), tilt);
        return b;
    }
}
