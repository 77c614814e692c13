using Room.Devices.Interop;

namespace Room.Devices.Display;

/// <summary>Outcome of one CEC transmission.</summary>
public readonly record struct CecTransmitResult(bool Acked, string Error, CecMessage? Reply);

/// <summary>A CEC adapter as the display driver uses it; the Linux one is <see cref="LinuxCecAdapter"/>.</summary>
public interface ICecBus : IDisposable
{
    string Name { get; }

    /// <summary>Our physical address (0xFFFF when the HDMI link has none).</summary>
    ushort PhysicalAddress { get; }

    /// <summary>Our logical address (0xF when none is claimed).</summary>
    byte LogicalAddress { get; }

    /// <summary>Sends a frame (the initiator nibble is replaced by ours); waits for <paramref name="replyOpcode"/> when non-zero.</summary>
    CecTransmitResult Transmit(CecMessage message, byte replyOpcode, TimeSpan timeout);

    /// <summary>
    /// Frames others sent to us or broadcast (the TV going to standby, Request Active Source, ...), raised on the
    /// adapter's receive thread. Buses that do not follow the bus never raise it.
    /// </summary>
    event EventHandler<CecMessage>? Received
    {
        add { }
        remove { }
    }
}

/// <summary>A /dev/cecN adapter driven through the Linux CEC API (blocking ioctls; call from a worker).</summary>
public sealed unsafe class LinuxCecAdapter : ICecBus
{
    private readonly FileDescriptor _fd;
    private readonly Lock _gate = new();
    private EventHandler<CecMessage>? _received;
    private volatile bool _stopping;

    private LinuxCecAdapter(string name, FileDescriptor fd)
    {
        Name = name;
        _fd = fd;
    }

    /// <summary>Whether we follow the bus (CEC_MODE_FOLLOWER) and raise <see cref="Received"/>.</summary>
    public bool Following { get; private set; }

    public event EventHandler<CecMessage>? Received
    {
        add => _received += value;
        remove => _received -= value;
    }

    public string Name { get; }

    /// <summary>Read from the adapter each time: HDMI hot-plug changes it.</summary>
    public ushort PhysicalAddress
    {
        get
        {
            ushort pa = 0xFFFF;
            return Libc.IoctlRetry(_fd.Fd, Cec.AdapGPhysAddr, &pa) == 0 ? pa : (ushort)0xFFFF;
        }
    }

    /// <summary>Read from the adapter each time: the claim completes in the background after open.</summary>
    public byte LogicalAddress
    {
        get
        {
            Cec.CecLogAddrs la = default;
            return Libc.IoctlRetry(_fd.Fd, Cec.AdapGLogAddrs, &la) == 0 && la.NumLogAddrs > 0 && la.LogAddr[0] <= 14
                ? la.LogAddr[0]
                : (byte)0xF;
        }
    }

    /// <summary>
    /// Opens the adapter as initiator; asks for a Playback logical address named <paramref name="osdName"/> when none
    /// is configured. The claim is made without waiting (a screen that is off or unplugged must not stall
    /// discovery); transmissions then block until acknowledged or answered.
    /// </summary>
    public static LinuxCecAdapter Open(string devicePath, string osdName = "Room")
    {
        var name = Path.GetFileName(devicePath);
        var config = FileDescriptor.OpenOrThrow(devicePath, Libc.O_RDWR | Libc.O_NONBLOCK, "cec:" + name);
        using (config)
        {
            Cec.CecLogAddrs la = default;
            Check(Libc.IoctlRetry(config.Fd, Cec.AdapGLogAddrs, &la), name, "CEC_ADAP_G_LOG_ADDRS");
            if (la.NumLogAddrs == 0)
            {
                la = default;
                la.CecVersion = Cec.CecVersion14;
                la.VendorId = Cec.VendorIdNone;
                la.NumLogAddrs = 1;
                la.LogAddrType[0] = Cec.LogAddrTypePlayback;
                la.PrimaryDeviceType[0] = Cec.PrimDevTypePlayback;
                la.AllDeviceTypes[0] = Cec.AllDevTypePlayback;
                var n = Math.Min(osdName.Length, 14);
                for (var i = 0; i < n; i++)
                {
                    la.OsdName[i] = (byte)(osdName[i] < 0x7F ? osdName[i] : '?');
                }

                var err = Libc.IoctlRetry(config.Fd, Cec.AdapSLogAddrs, &la);
                if (err is not (0 or Libc.EBUSY))
                {
                    Check(err, name, "CEC_ADAP_S_LOG_ADDRS"); // EBUSY: someone configured it meanwhile
                }
            }
        }

        var fd = FileDescriptor.OpenOrThrow(devicePath, Libc.O_RDWR, "cec:" + name);
        try
        {
            // Follow the bus too, so the TV's Standby and Request Active Source reach us; initiator only when another
            // process holds the follower role exclusively.
            var mode = Cec.ModeInitiator | Cec.ModeFollower;
            var following = Libc.IoctlRetry(fd.Fd, Cec.SMode, &mode) == 0;
            if (!following)
            {
                mode = Cec.ModeInitiator;
                Check(Libc.IoctlRetry(fd.Fd, Cec.SMode, &mode), name, "CEC_S_MODE");
            }

            var adapter = new LinuxCecAdapter(name, fd) { Following = following };
            if (following)
            {
                new Thread(adapter.ReceiveLoop) { IsBackground = true, Name = "cec-receive " + name }.Start();
            }

            return adapter;
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>Reads the adapter's physical address without claiming anything (0xFFFF on failure).</summary>
    public static ushort ProbePhysicalAddress(string devicePath)
    {
        var fd = Libc.Open(devicePath, Libc.O_RDWR | Libc.O_NONBLOCK | Libc.O_CLOEXEC);
        if (fd < 0)
        {
            return 0xFFFF;
        }

        try
        {
            ushort pa = 0xFFFF;
            return Libc.IoctlRetry(fd, Cec.AdapGPhysAddr, &pa) == 0 ? pa : (ushort)0xFFFF;
        }
        finally
        {
            _ = Libc.Close(fd);
        }
    }

    public CecTransmitResult Transmit(CecMessage message, byte replyOpcode, TimeSpan timeout)
    {
        var bytes = message.Bytes;
        Cec.CecMsg msg = default;
        msg.Len = (uint)bytes.Length;
        for (var i = 0; i < bytes.Length; i++)
        {
            msg.Msg[i] = bytes[i];
        }

        var logical = LogicalAddress;
        if (logical == 0xF)
        {
            return new CecTransmitResult(false, "no logical address claimed yet (screen off or HDMI unplugged?)", null);
        }

        msg.Msg[0] = (byte)((logical << 4) | (bytes[0] & 0xF));
        msg.Reply = replyOpcode;
        msg.Timeout = replyOpcode != 0 ? (uint)Math.Clamp(timeout.TotalMilliseconds, 1, 10_000) : 0;
        int err;
        lock (_gate)
        {
            err = Libc.IoctlRetry(_fd.Fd, Cec.Transmit, &msg);
        }

        if (err != 0)
        {
            return new CecTransmitResult(false, $"CEC_TRANSMIT: {Libc.ErrorText(err)}", null);
        }

        if ((msg.TxStatus & Cec.TxStatusOk) == 0)
        {
            var why = (msg.TxStatus & Cec.TxStatusNack) != 0 ? "not acknowledged"
                : (msg.TxStatus & Cec.TxStatusTimeout) != 0 ? "timed out"
                : $"tx status 0x{msg.TxStatus:x2}";
            return new CecTransmitResult(false, why, null);
        }

        if (replyOpcode == 0)
        {
            return new CecTransmitResult(true, "", null);
        }

        if ((msg.RxStatus & Cec.RxStatusOk) == 0 || msg.Len is 0 or > 16)
        {
            var why = (msg.RxStatus & Cec.RxStatusFeatureAbort) != 0 ? "feature abort" : "no reply";
            return new CecTransmitResult(true, why, null);
        }

        var span = new ReadOnlySpan<byte>(msg.Msg, (int)msg.Len);
        return CecMessage.TryParse(span, out var reply)
            ? new CecTransmitResult(true, "", reply)
            : new CecTransmitResult(true, "malformed reply", null);
    }

    /// <summary>The receive thread stops within one receive timeout; the descriptor closes when it has.</summary>
    public void Dispose()
    {
        _stopping = true;
        _fd.Dispose();
    }

    /// <summary>
    /// Reads what the bus sends us (CEC_RECEIVE, 500 ms at a time so that disposal is noticed) and raises
    /// <see cref="Received"/> for every well-formed frame; malformed ones are dropped. Ends when the adapter goes away.
    /// </summary>
    private void ReceiveLoop()
    {
        var added = false;
        try
        {
            _fd.DangerousAddRef(ref added);
            while (!_stopping)
            {
                Cec.CecMsg msg = default;
                msg.Timeout = 500;
                var err = Libc.IoctlRetry(_fd.Fd, Cec.Receive, &msg);
                if (err is Libc.ETIMEDOUT or Libc.EAGAIN)
                {
                    continue;
                }

                if (err != 0)
                {
                    return; // adapter unplugged or closed
                }

                if (msg.Len is 0 or > 16 || !CecMessage.TryParse(new ReadOnlySpan<byte>(msg.Msg, (int)msg.Len), out var message))
                {
                    continue;
                }

                try
                {
                    _received?.Invoke(this, message);
                }
#pragma warning disable CA1031 // a handler's failure must not stop the adapter from listening.
                catch (Exception)
#pragma warning restore CA1031
                {
                }
            }
        }
        catch (ObjectDisposedException)
        {
        }
        finally
        {
            if (added)
            {
                _fd.DangerousRelease();
            }
        }
    }

    private static void Check(int err, string name, string what)
    {
        if (err != 0)
        {
            throw new DeviceUnavailableException("cec:" + name, $"{what}: {Libc.ErrorText(err)}");
        }
    }
}
