namespace Room.Devices.Display;

/// <summary>
/// A screen on a DRM connector (modes, EDID identity) with optional CEC power control. Either part may be
/// absent: a CEC-only display (no DRM connector) or a connector without CEC.
/// </summary>
public sealed class LinuxDisplay : IDisplay, IDisposable
{
    private readonly ICecBus? _cec;
    private readonly TimeSpan _cecTimeout;
    private readonly bool _ownsCec;
    private readonly Lock _gate = new();
    private readonly DeviceHealth _health;
    private readonly string _detail;
    private DeviceHealth _cecHealth = DeviceHealth.Ok;
    private DisplayPower _power = DisplayPower.Unknown;
    private bool _activeSource;
    private string _cecDetail = "";

    public LinuxDisplay(string id, DrmConnector? connector, ICecBus? cec, TimeSpan? cecTimeout = null, bool ownsCec = true)
    {
        Id = id;
        _ownsCec = ownsCec;
        Connector = connector;
        _cec = cec;
        _cecTimeout = cecTimeout ?? TimeSpan.FromSeconds(1);
        Name = connector?.Name ?? cec?.Name ?? id;
        var health = DeviceHealth.Ok;
        var detail = "";
        if (connector is not null && connector.Edid.Length > 0)
        {
            if (EdidParser.TryParse(connector.Edid, out var edid, out var error))
            {
                Edid = edid;
                if (edid!.Warnings.Count > 0)
                {
                    detail = string.Join("; ", edid.Warnings);
                }
            }
            else
            {
                health = DeviceHealth.Degraded;
                detail = error;
            }
        }

        if (connector is not null && !connector.Connected)
        {
            health = DeviceHealth.Missing;
            detail = "no screen connected";
        }

        _health = health;
        _detail = detail;

        Modes = BuildModes(connector, Edid);
        PreferredMode = Edid?.PreferredMode ?? (Modes.Count > 0 ? Modes[0] : null);
        if (cec is not null)
        {
            cec.Received += OnCecReceived;
        }
    }

    /// <summary>Whether we are the screen's active source (after a wake, until standby or another source takes over).</summary>
    public bool IsActiveSource
    {
        get
        {
            lock (_gate)
            {
                return _activeSource;
            }
        }
    }

    public string Id { get; }

    public string Name { get; }

    public DrmConnector? Connector { get; }

    public EdidInfo? Edid { get; }

    public bool Connected => Connector?.Connected ?? _cec is not null;

    public IReadOnlyList<DisplayMode> Modes { get; }

    public DisplayMode? PreferredMode { get; }

    public string Monitor => Edid?.Monitor ?? "";

    /// <summary>The power status as the screen last reported it ("on", "standby", "to-on", "to-standby", "unknown").</summary>
    public static string PowerName(DisplayPower power) => power switch
    {
        DisplayPower.On => "on",
        DisplayPower.Standby => "standby",
        DisplayPower.TransitioningToOn => "to-on",
        DisplayPower.TransitioningToStandby => "to-standby",
        _ => "unknown",
    };

    public DeviceInfo Describe()
    {
        lock (_gate)
        {
            var caps = new Dictionary<string, string>
            {
                ["monitor"] = Monitor,
                ["preferred"] = PreferredMode?.ToString() ?? "",
                ["modes"] = string.Join(",", Modes),
                ["cec"] = _cec is null ? "no" : "yes",
            };
            if (_cec is not null)
            {
                caps["cec-adapter"] = _cec.Name;
                caps["cec-physical-address"] = CecMessage.FormatPhysicalAddress(_cec.PhysicalAddress);
                caps["power"] = PowerName(_power);
                caps["active-source"] = _activeSource ? "yes" : "no";
            }

            if (Edid?.HdmiPhysicalAddress is { } pa)
            {
                caps["hdmi-physical-address"] = CecMessage.FormatPhysicalAddress(pa);
            }

            var (health, detail) = _health == DeviceHealth.Missing || _health > _cecHealth || _cecHealth == DeviceHealth.Ok
                ? (_health, _detail)
                : (_cecHealth, _cecDetail);
            return new DeviceInfo(Id, DeviceKind.Display, Name, _cec is null ? "drm" : Connector is null ? "cec" : "drm+cec",
                health, detail, caps);
        }
    }

    public async ValueTask<DisplayPower> GetPowerAsync(CancellationToken cancellationToken = default)
    {
        if (_cec is null)
        {
            return DisplayPower.Unknown;
        }

        var ask = CecMessage.Create(0, CecMessage.Tv, CecOpcode.GiveDevicePowerStatus);
        var r = await Task.Run(() => _cec.Transmit(ask, CecOpcode.ReportPowerStatus, _cecTimeout), cancellationToken);
        if (r.Reply is { } reply && CecMessage.TryGetPowerStatus(reply, out var power))
        {
            lock (_gate)
            {
                _power = power;
            }

            SetHealth(DeviceHealth.Ok, "");
            return power;
        }

        lock (_gate)
        {
            _power = DisplayPower.Unknown;
        }

        SetHealth(DeviceHealth.Degraded, r.Reply is null
            ? $"screen does not report its power status over CEC ({(r.Error.Length > 0 ? r.Error : "no reply")})"
            : $"screen answered garbage to a power status request ({r.Reply})");
        return DisplayPower.Unknown;
    }

    /// <summary>
    /// Polls the screen's power status until it reports <paramref name="target"/> (TVs pass through transition
    /// states for seconds); returns the last status seen, which is not the target when time ran out.
    /// </summary>
    public async ValueTask<DisplayPower> WaitForPowerAsync(DisplayPower target, TimeSpan timeout, TimeSpan? interval = null,
        TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        var clock = time ?? TimeProvider.System;
        var start = clock.GetTimestamp();
        while (true)
        {
            var power = await GetPowerAsync(cancellationToken);
            if (power == target || clock.GetElapsedTime(start) >= timeout)
            {
                return power;
            }

            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(250), clock, cancellationToken);
        }
    }

    public async ValueTask WakeAsync(CancellationToken cancellationToken = default)
    {
        var cec = RequireCec();
        var pa = cec.PhysicalAddress;
        await Task.Run(() =>
        {
            Send(cec, CecMessage.Create(0, CecMessage.Tv, CecOpcode.ImageViewOn), "Image View On");
            Send(cec, CecMessage.Create(0, CecMessage.Broadcast, CecOpcode.ActiveSource, (byte)(pa >> 8), (byte)pa), "Active Source");
            lock (_gate)
            {
                _activeSource = true;
            }
        }, cancellationToken);
    }

    public async ValueTask StandbyAsync(CancellationToken cancellationToken = default)
    {
        var cec = RequireCec();
        await Task.Run(() => Send(cec, CecMessage.Create(0, CecMessage.Tv, CecOpcode.Standby), "Standby"), cancellationToken);
        lock (_gate)
        {
            _activeSource = false;
        }
    }

    /// <summary>
    /// Follows what the bus tells us: the TV going to standby (its remote) or reporting its power, another source
    /// taking over, the TV asking who the active source is (we answer while we are it) or routing to our address
    /// (Set Stream Path: we become it). Anything else, and malformed frames, are ignored.
    /// </summary>
    internal void OnCecReceived(object? sender, CecMessage message)
    {
        if (message.IsPoll || sender is not ICecBus cec)
        {
            return;
        }

        var ours = cec.PhysicalAddress;
        var answer = false;
        if (message.Opcode == CecOpcode.GiveDevicePowerStatus && message.Operands.IsEmpty
            && message.Destination == cec.LogicalAddress && message.Initiator != CecMessage.Broadcast)
        {
            // Someone (usually the TV) asks whether we are on: a room box that answers is.
            var report = CecMessage.Create(0, message.Initiator, CecOpcode.ReportPowerStatus, 0x00);
            _ = Task.Run(() => cec.Transmit(report, 0, _cecTimeout));
            return;
        }

        lock (_gate)
        {
            switch (message.Opcode)
            {
                case CecOpcode.Standby when message.Initiator == CecMessage.Tv && message.Operands.IsEmpty:
                    _power = DisplayPower.Standby;
                    _activeSource = false;
                    break;
                case CecOpcode.ReportPowerStatus when message.Initiator == CecMessage.Tv:
                    if (CecMessage.TryGetPowerStatus(message, out var power))
                    {
                        _power = power;
                    }

                    break;
                case CecOpcode.ActiveSource when message.Operands.Length == 2 && message.Initiator != cec.LogicalAddress:
                    _activeSource = ((message.Operands[0] << 8) | message.Operands[1]) == ours && _activeSource;
                    break;
                case CecOpcode.RequestActiveSource when message.Operands.IsEmpty && message.Destination == CecMessage.Broadcast:
                    answer = _activeSource;
                    break;
                case CecOpcode.SetStreamPath when message.Operands.Length == 2 && message.Destination == CecMessage.Broadcast:
                    if (((message.Operands[0] << 8) | message.Operands[1]) == ours && ours != 0xFFFF)
                    {
                        _activeSource = true;
                        answer = true;
                    }

                    break;
                default:
                    break;
            }
        }

        if (answer)
        {
            // Not on the receive thread: a transmission blocks until acknowledged.
            var reply = CecMessage.Create(0, CecMessage.Broadcast, CecOpcode.ActiveSource, (byte)(ours >> 8), (byte)ours);
            _ = Task.Run(() => cec.Transmit(reply, 0, _cecTimeout));
        }
    }

    public void Dispose()
    {
        if (_cec is not null)
        {
            _cec.Received -= OnCecReceived;
        }

        if (_ownsCec)
        {
            _cec?.Dispose();
        }
    }

    private static List<DisplayMode> BuildModes(DrmConnector? connector, EdidInfo? edid)
    {
        var modes = new List<DisplayMode>();
        if (edid?.PreferredMode is { } p)
        {
            modes.Add(p);
        }

        if (connector is not null)
        {
            foreach (var (w, h, interlaced) in connector.Modes)
            {
                if (interlaced || modes.Exists(m => m.Width == w && m.Height == h))
                {
                    continue;
                }

                // sysfs lists sizes only; take the refresh rate from EDID when it names the size.
                var fromEdid = edid?.Modes.Where(m => m.Width == w && m.Height == h).OrderByDescending(m => m.RefreshHz).FirstOrDefault();
                modes.Add(fromEdid is { Width: > 0 } known ? known : new DisplayMode(w, h, 0));
            }
        }
        else if (edid is not null)
        {
            modes.AddRange(edid.Modes.Where(m => !modes.Contains(m)));
        }

        return modes;
    }

    private ICecBus RequireCec() =>
        _cec ?? throw new NotSupportedException($"Display {Id} has no CEC adapter.");

    private void Send(ICecBus cec, CecMessage message, string what)
    {
        var r = cec.Transmit(message, 0, _cecTimeout);
        if (!r.Acked)
        {
            // A broadcast is never acknowledged by a follower; only a directed frame's NACK means the TV is gone.
            if (message.Destination != CecMessage.Broadcast)
            {
                SetHealth(DeviceHealth.Degraded, $"CEC {what} failed: {r.Error}");
                throw new DeviceUnavailableException(Id, $"CEC {what} failed: {r.Error}");
            }
        }

        SetHealth(DeviceHealth.Ok, "");
    }

    private void SetHealth(DeviceHealth health, string detail)
    {
        lock (_gate)
        {
            _cecHealth = health;
            _cecDetail = detail;
        }
    }
}
