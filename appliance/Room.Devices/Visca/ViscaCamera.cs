using System.ComponentModel;
using System.Globalization;
using System.Net;

namespace Room.Devices.Visca;

/// <summary>Where a VISCA-over-IP camera is and how its position units map to degrees.</summary>
public sealed record ViscaCameraOptions
{
    /// <summary>Port of VISCA over IP.</summary>
    public const int DefaultPort = 52381;

    static ViscaCameraOptions()
    {
        // roomd binds these options from configuration ("Endpoint": "192.0.2.10:52381"), and the configuration binder
        // converts strings with the type's TypeConverter, which IPEndPoint has none of. Registered here, where it is
        // certain to run before an Endpoint is bound (the binder creates the options object first).
        TypeDescriptor.AddAttributes(typeof(IPEndPoint), new TypeConverterAttribute(typeof(ViscaEndpointConverter)));
    }

    public required string Id { get; init; }

    public string Name { get; init; } = "VISCA camera";

    /// <summary>The camera's address; in configuration "192.0.2.10:52381" or "192.0.2.10" (port 52381).</summary>
    public required IPEndPoint Endpoint { get; init; }

    /// <summary>Pan position units per degree (model specific; Sony SRG/BRC: 14.4 is common).</summary>
    public double PanUnitsPerDegree { get; init; } = 14.4;

    public double TiltUnitsPerDegree { get; init; } = 14.4;

    /// <summary>Zoom position at full tele (wide is 0); 0x4000 on most Sony models.</summary>
    public int ZoomMaxUnits { get; init; } = 0x4000;

    public PtzLimits Limits { get; init; } = new(-170, 170, -30, 90, true, true, true);

    /// <summary>Pan/tilt speed used for absolute moves (01..18 pan, 01..17 tilt).</summary>
    public byte MoveSpeed { get; init; } = 0x10;

    public TimeSpan ReplyTimeout { get; init; } = TimeSpan.FromMilliseconds(300);

    public TimeSpan CompletionTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public int Retries { get; init; } = 2;
}

/// <summary>
/// A network PTZ camera driven over VISCA-over-IP (UDP 52381). No video here (the camera streams over its own
/// channel); <see cref="Formats"/> is empty and <see cref="OpenCaptureAsync"/> is not supported.
/// </summary>
public sealed class ViscaCamera : ICamera, IPtzDrive, IDisposable
{
    private readonly ViscaCameraOptions _options;
    private readonly ViscaClient _client;
    private readonly Lock _gate = new();
    private DeviceHealth _health = DeviceHealth.Ok;
    private string _detail = "";

    /// <param name="time">The clock of reply timeouts (tests drive it).</param>
    public ViscaCamera(ViscaCameraOptions options, TimeProvider? time = null)
    {
        _options = options;
        _client = new ViscaClient(options.Endpoint, options.ReplyTimeout, options.CompletionTimeout, options.Retries, time);
    }

    public string Id => _options.Id;

    public string Name => _options.Name;

    public PtzLimits Limits => _options.Limits;

    public IReadOnlyList<VideoFormat> Formats => [];

    public DeviceInfo Describe()
    {
        lock (_gate)
        {
            return new DeviceInfo(Id, DeviceKind.Camera, Name, "visca-ip", _health, _detail, new Dictionary<string, string>
            {
                ["ptz"] = "pan,tilt,zoom",
                ["pan"] = $"{Limits.PanMin}..{Limits.PanMax}",
                ["tilt"] = $"{Limits.TiltMin}..{Limits.TiltMax}",
                ["endpoint"] = _options.Endpoint.ToString(),
                ["presets"] = "camera",
                ["video"] = "none",
            });
        }
    }

    /// <summary>Asks the camera whether it answers at all (power inquiry); updates health, never throws.</summary>
    public async ValueTask<bool> ProbeAsync(CancellationToken cancellationToken = default)
    {
        var r = await _client.InquireAsync(new byte[] { 0x81, 0x09, 0x04, 0x00, 0xFF }, cancellationToken);
        if (r.Ok && r.Data.Length == 1 && r.Data[0] is 0x02 or 0x03)
        {
            SetHealth(DeviceHealth.Ok, r.Data[0] == 0x02 ? "" : "camera in standby");
            return true;
        }

        Record(r.Ok ? new ViscaResult(ViscaFailure.Garbage, $"bad power reply {Convert.ToHexString(r.Data)}", []) : r);
        return false;
    }

    public async ValueTask<PtzPosition> GetPositionAsync(CancellationToken cancellationToken = default)
    {
        var pt = Require(await _client.InquireAsync(new byte[] { 0x81, 0x09, 0x06, 0x12, 0xFF }, cancellationToken), "pan/tilt inquiry");
        if (pt.Length != 8 || !ViscaProtocol.TryReadNibbles(pt, 4, out var pan) || !ViscaProtocol.TryReadNibbles(pt.AsSpan(4), 4, out var tilt))
        {
            throw Garbage($"bad pan/tilt position reply {Convert.ToHexString(pt)}");
        }

        var z = Require(await _client.InquireAsync(new byte[] { 0x81, 0x09, 0x04, 0x47, 0xFF }, cancellationToken), "zoom inquiry");
        if (z.Length != 4 || !ViscaProtocol.TryReadNibbles(z, 4, out var zoom))
        {
            throw Garbage($"bad zoom position reply {Convert.ToHexString(z)}");
        }

        SetHealth(DeviceHealth.Ok, "");
        return new PtzPosition(
            ViscaProtocol.ToSigned16(pan) / _options.PanUnitsPerDegree,
            ViscaProtocol.ToSigned16(tilt) / _options.TiltUnitsPerDegree,
            Math.Clamp((double)zoom / _options.ZoomMaxUnits, 0, 1));
    }

    public async ValueTask MoveToAsync(PtzPosition position, CancellationToken cancellationToken = default)
    {
        var p = Limits.Clamp(position);
        var cmd = new byte[15];
        cmd[0] = 0x81;
        cmd[1] = 0x01;
        cmd[2] = 0x06;
        cmd[3] = 0x02;
        cmd[4] = Math.Clamp(_options.MoveSpeed, (byte)1, (byte)0x18);
        cmd[5] = Math.Clamp(_options.MoveSpeed, (byte)1, (byte)0x17);
        ViscaProtocol.WriteNibbles(cmd.AsSpan(6), (ushort)(short)Math.Round(p.Pan * _options.PanUnitsPerDegree), 4);
        ViscaProtocol.WriteNibbles(cmd.AsSpan(10), (ushort)(short)Math.Round(p.Tilt * _options.TiltUnitsPerDegree), 4);
        cmd[14] = 0xFF;
        Require(await _client.CommandAsync(cmd, cancellationToken), "absolute pan/tilt");

        var zcmd = new byte[] { 0x81, 0x01, 0x04, 0x47, 0, 0, 0, 0, 0xFF };
        ViscaProtocol.WriteNibbles(zcmd.AsSpan(4), (int)Math.Round(p.Zoom * _options.ZoomMaxUnits), 4);
        Require(await _client.CommandAsync(zcmd, cancellationToken), "zoom direct");
        SetHealth(DeviceHealth.Ok, "");
    }

    public async ValueTask DriveAsync(double pan, double tilt, double zoom, CancellationToken cancellationToken = default)
    {
        var panSpeed = (byte)Math.Clamp(Math.Round(Math.Abs(pan) * 0x18), 1, 0x18);
        var tiltSpeed = (byte)Math.Clamp(Math.Round(Math.Abs(tilt) * 0x17), 1, 0x17);
        byte panDir = pan > 0 ? (byte)0x02 : pan < 0 ? (byte)0x01 : (byte)0x03;
        byte tiltDir = tilt > 0 ? (byte)0x01 : tilt < 0 ? (byte)0x02 : (byte)0x03;
        Require(await _client.CommandAsync(new byte[] { 0x81, 0x01, 0x06, 0x01, panSpeed, tiltSpeed, panDir, tiltDir, 0xFF }, cancellationToken), "pan/tilt drive");
        var zoomSpeed = (byte)Math.Clamp(Math.Round(Math.Abs(zoom) * 7), 0, 7);
        byte zoomOp = zoom > 0 ? (byte)(0x20 | zoomSpeed) : zoom < 0 ? (byte)(0x30 | zoomSpeed) : (byte)0x00;
        Require(await _client.CommandAsync(new byte[] { 0x81, 0x01, 0x04, 0x07, zoomOp, 0xFF }, cancellationToken), "zoom drive");
    }

    public ValueTask StopAsync(CancellationToken cancellationToken = default) => DriveAsync(0, 0, 0, cancellationToken);

    /// <summary>Stores the current position in the camera's preset <paramref name="slot"/> (0..127).</summary>
    public async ValueTask StorePresetAsync(int slot, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(slot);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(slot, 127);
        Require(await _client.CommandAsync(new byte[] { 0x81, 0x01, 0x04, 0x3F, 0x01, (byte)slot, 0xFF }, cancellationToken), "preset set");
    }

    public async ValueTask RecallPresetAsync(int slot, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(slot);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(slot, 127);
        Require(await _client.CommandAsync(new byte[] { 0x81, 0x01, 0x04, 0x3F, 0x02, (byte)slot, 0xFF }, cancellationToken), "preset recall");
    }

    public ValueTask<IVideoCapture> OpenCaptureAsync(VideoFormat format, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException($"Camera {Id} is controlled over VISCA and has no video here.");

    /// <summary>The VISCA client (tests read its counters).</summary>
    internal ViscaClient Client => _client;

    public void Dispose() => _client.Dispose();

    private byte[] Require(ViscaResult r, string what)
    {
        if (r.Ok)
        {
            return r.Data;
        }

        Record(r);
        if (r.Failure == ViscaFailure.Refused)
        {
            throw new InvalidOperationException($"Camera {Id} refused {what}: {r.Detail}.");
        }

        throw new DeviceUnavailableException(Id, $"{what}: {r.Detail}");
    }

    private DeviceUnavailableException Garbage(string detail)
    {
        SetHealth(DeviceHealth.Degraded, "camera answered garbage: " + detail);
        return new DeviceUnavailableException(Id, detail);
    }

    private void Record(ViscaResult r)
    {
        switch (r.Failure)
        {
            case ViscaFailure.Timeout:
                SetHealth(DeviceHealth.Failed, "camera does not answer: " + r.Detail);
                break;
            case ViscaFailure.Garbage:
                SetHealth(DeviceHealth.Degraded, "camera answered garbage: " + r.Detail);
                break;
            default:
                break;
        }
    }

    private void SetHealth(DeviceHealth health, string detail)
    {
        lock (_gate)
        {
            _health = health;
            _detail = detail;
        }
    }
}

/// <summary>"address[:port]" to <see cref="IPEndPoint"/> (port <see cref="ViscaCameraOptions.DefaultPort"/> when absent).</summary>
public sealed class ViscaEndpointConverter : TypeConverter
{
    public override bool CanConvertFrom(ITypeDescriptorContext? context, Type sourceType) =>
        sourceType == typeof(string) || base.CanConvertFrom(context, sourceType);

    /// <summary>
    /// Null for malformed text: the configuration binder silently drops a list element whose conversion throws, so
    /// the camera would vanish without a word; with a null endpoint the provider names it in the log instead.
    /// </summary>
    public override object? ConvertFrom(ITypeDescriptorContext? context, CultureInfo? culture, object value)
    {
        if (value is not string text)
        {
            return base.ConvertFrom(context, culture, value);
        }

        try
        {
            return Parse(text);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <exception cref="FormatException">Not an IP address with an optional port.</exception>
    public static IPEndPoint Parse(string text)
    {
        var t = text.Trim();
        if (IPEndPoint.TryParse(t, out var endpoint))
        {
            if (endpoint.Port != 0)
            {
                return endpoint;
            }

            // Port 0 from a bare address means "not given"; an explicit ":0" is no port at all.
            if (!t.EndsWith(":0", StringComparison.Ordinal) || IPAddress.TryParse(t, out _))
            {
                return new IPEndPoint(endpoint.Address, ViscaCameraOptions.DefaultPort);
            }
        }

        throw new FormatException($"'{(t.Length > 64 ? t[..64] : t)}' is not a VISCA camera address: use an IP address with an optional port, e.g. 192.0.2.10:52381.");
    }
}
