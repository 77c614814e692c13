using System.Globalization;
using Room.Devices.Interop;

namespace Room.Devices.Display;

/// <summary>What <see cref="KmsScanout.Refresh"/> found when it probed the connector again.</summary>
public enum ScanoutChange
{
    Unchanged,

    /// <summary>The screen went away: nothing is shown until it is back.</summary>
    Disconnected,

    /// <summary>The screen is back (modeset again, buffers cleared).</summary>
    Reconnected,

    /// <summary>The screen is there but the mode in use is no longer offered: another one was set.</summary>
    ModeChanged,
}

/// <summary>
/// A room display driven directly through DRM/KMS: two CPU-mapped dumb buffers scanned out on one connector, drawn
/// into by a software compositor and swapped with page flips (atomic modesetting; legacy SETCRTC and PAGE_FLIP where
/// the driver or kernel refuses atomic). Follows the screen: <see cref="Refresh"/> re-probes the connector after a
/// hot-plug uevent and modesets again when it comes back or its modes change. A refused mode leaves the current one
/// showing; a card that vanished fails every call with <see cref="DeviceUnavailableException"/>.
/// Not thread-safe: one owner draws and presents.
/// </summary>
public sealed unsafe class KmsScanout : IDisposable
{
    private const int FlipTimeoutMs = 1000;

    private readonly KmsDevice _card;
    private readonly uint _connectorId;
    private readonly uint _crtcId;
    private readonly uint _planeId;
    private readonly DisplayMode? _wanted;
    private readonly Dictionary<string, uint> _props = new(StringComparer.Ordinal);
    private DumbBuffer[] _buffers = [];
    private int _front;
    private uint _modeBlob;
    private string _failure = "";

    private KmsScanout(KmsDevice card, KmsConnector connector, uint crtcId, uint planeId, bool atomic, DisplayMode? wanted)
    {
        _card = card;
        _connectorId = connector.Id;
        _crtcId = crtcId;
        _planeId = planeId;
        _wanted = wanted;
        Atomic = atomic;
        Connector = connector.Name;
    }

    public string Card => _card.Path;

    /// <summary>The connector's name as sysfs spells it ("Virtual-1", "HDMI-A-1").</summary>
    public string Connector { get; }

    /// <summary>Atomic modesetting in use (else the legacy SETCRTC / PAGE_FLIP calls).</summary>
    public bool Atomic { get; }

    public DisplayMode Mode { get; private set; }

    public bool Connected { get; private set; }

    /// <summary>The modes the screen offered when last probed.</summary>
    public IReadOnlyList<DisplayMode> Modes { get; private set; } = [];

    public int Width => _buffers.Length > 0 ? _buffers[0].Width : 0;

    public int Height => _buffers.Length > 0 ? _buffers[0].Height : 0;

    /// <summary>Bytes between rows of <see cref="BackBuffer"/>.</summary>
    public int Stride => _buffers.Length > 0 ? _buffers[0].Stride : 0;

    /// <summary>The buffer to draw the next frame into (XRGB8888, <see cref="Stride"/> bytes a row); not on screen.</summary>
    public Span<byte> BackBuffer
    {
        get
        {
            ThrowIfFailed();
            return _buffers[1 - _front].Pixels;
        }
    }

    /// <summary>The buffer on screen now (for a read-back in tests).</summary>
    public ReadOnlySpan<byte> FrontBuffer => _buffers.Length > 0 ? _buffers[_front].Pixels : [];

    /// <summary>Frames flipped onto the screen.</summary>
    public long Flips { get; private set; }

    /// <summary>"card0 Virtual-1 1280x720@60 atomic", for logs and D-Bus.</summary>
    public string Description =>
        $"{System.IO.Path.GetFileName(Card)} {Connector} {(Connected ? Mode.ToString() : "disconnected")} {(Atomic ? "atomic" : "legacy")}" +
        (_failure.Length > 0 ? $" failed: {_failure}" : "");

    /// <summary>
    /// Opens <paramref name="card"/> and shows a black frame on <paramref name="connector"/> (default: the first
    /// connected one) in <paramref name="mode"/> (default: the screen's preferred mode).
    /// </summary>
    /// <exception cref="DeviceUnavailableException">No such card, no connected screen, or the card stopped answering.</exception>
    /// <exception cref="ArgumentException">The screen does not offer <paramref name="mode"/>, or there is no such connector.</exception>
    /// <exception cref="InvalidOperationException">The driver refused a step (its reason in the message).</exception>
    public static KmsScanout Open(string card = "/dev/dri/card0", string? connector = null, DisplayMode? mode = null, bool allowAtomic = true)
    {
        var dev = new KmsDevice(card);
        try
        {
            if (dev.GetCap(Drm.CapDumbBuffer) == 0)
            {
                throw new InvalidOperationException($"{card} has no dumb buffers (not a display controller?)");
            }

            var atomic = allowAtomic && dev.SetClientCap(Drm.ClientCapUniversalPlanes, 1) && dev.SetClientCap(Drm.ClientCapAtomic, 1);
            var (crtcs, connectorIds) = dev.Resources();
            var all = connectorIds.Select(dev.Connector).ToList();
            var conn = connector is null
                ? all.FirstOrDefault(c => c.Connected)
                    ?? throw new DeviceUnavailableException(card, "no screen connected (" + string.Join(", ", all.Select(c => $"{c.Name}: {State(c)}")) + ")")
                : all.FirstOrDefault(c => c.Name == connector)
                    ?? throw new ArgumentException($"{card} has no connector {connector} (it has {string.Join(", ", all.Select(c => c.Name))})");
            if (!conn.Connected)
            {
                throw new DeviceUnavailableException(card, $"{conn.Name}: {State(conn)}");
            }

            var (crtcId, crtcIndex) = PickCrtc(dev, conn, crtcs);
            var plane = atomic ? PrimaryPlane(dev, crtcIndex) : 0;
            var s = new KmsScanout(dev, conn, crtcId, plane, atomic, mode) { Modes = ModesOf(conn) };
            try
            {
                if (atomic)
                {
                    s.LoadProperties();
                }

                s.Modeset(Choose(conn, mode));
                return s;
            }
            catch
            {
                s.Dispose();
                throw;
            }
        }
        catch
        {
            dev.Dispose();
            throw;
        }
    }

    /// <summary>Shows the back buffer (a page flip on the next vertical blank) and waits until it is on screen.</summary>
    /// <returns>False when the screen is disconnected (nothing shown; call <see cref="Refresh"/> after a hot-plug).</returns>
    public bool Present()
    {
        ThrowIfFailed();
        if (!Connected)
        {
            return false;
        }

        var back = 1 - _front;
        var fb = _buffers[back].FramebufferId;
        int e;
        if (Atomic)
        {
            ReadOnlySpan<(uint, uint, ulong)> flip = [(_planeId, _props["plane.FB_ID"], fb)];
            e = _card.Atomic(flip, Drm.PageFlipEvent | Drm.AtomicNonblock);
        }
        else
        {
            var f = new Drm.PageFlipArg { CrtcId = _crtcId, FbId = fb, Flags = Drm.PageFlipEvent };
            e = Libc.IoctlRetry(_card.Fd, Drm.ModePageFlip, &f);
        }

        if (e != 0)
        {
            throw Fail(_card.Error(e, Atomic ? "atomic page flip" : "DRM_IOCTL_MODE_PAGE_FLIP"));
        }

        try
        {
            if (!_card.WaitFlip(FlipTimeoutMs))
            {
                throw new TimeoutException($"{Card} {Connector}: no flip completed within {FlipTimeoutMs} ms");
            }
        }
        catch (DeviceUnavailableException x)
        {
            throw Fail(x);
        }

        _front = back;
        Flips++;
        return true;
    }

    /// <summary>Probes the connector again (after a DRM hot-plug uevent, or periodically) and follows it.</summary>
    public ScanoutChange Refresh()
    {
        ThrowIfFailed();
        KmsConnector c;
        try
        {
            c = _card.Connector(_connectorId);
        }
        catch (DeviceUnavailableException x)
        {
            throw Fail(x);
        }

        Modes = ModesOf(c);
        if (!c.Connected)
        {
            var was = Connected;
            Connected = false;
            return was ? ScanoutChange.Disconnected : ScanoutChange.Unchanged;
        }

        var offered = c.Modes.Any(m => Same(m, Mode));
        if (Connected && offered)
        {
            return ScanoutChange.Unchanged;
        }

        var reconnect = !Connected;
        Modeset(Choose(c, _wanted is { } w && c.Modes.Any(m => Same(m, w)) ? w : null));
        return reconnect ? ScanoutChange.Reconnected : ScanoutChange.ModeChanged;
    }

    /// <summary>
    /// Whether a kernel uevent is a DRM hot-plug of this card ("change", SUBSYSTEM=drm, HOTPLUG=1, DEVNAME=dri/cardN):
    /// the cue to <see cref="Refresh"/>. A connector-specific one (CONNECTOR=id) must name ours.
    /// </summary>
    public bool IsHotplugFor(Room.Devices.Hotplug.Uevent e) =>
        IsHotplug(e, System.IO.Path.GetFileName(Card), _connectorId);

    internal static bool IsHotplug(Room.Devices.Hotplug.Uevent e, string card, uint connectorId) =>
        e.Action == "change" && e.Subsystem == "drm"
        && e.Properties.TryGetValue("HOTPLUG", out var h) && h == "1"
        && e.DevName == "dri/" + card
        && (!e.Properties.TryGetValue("CONNECTOR", out var c) || c == connectorId.ToString(CultureInfo.InvariantCulture));

    /// <summary>Switches to <paramref name="mode"/>; if the screen or driver refuses it the current mode stays on screen.</summary>
    public void SetMode(DisplayMode mode)
    {
        ThrowIfFailed();
        var c = _card.Connector(_connectorId);
        Modes = ModesOf(c);
        Modeset(Choose(c, mode));
    }

    public void Dispose()
    {
        foreach (var b in _buffers)
        {
            b.Dispose();
        }

        _buffers = [];
        if (_modeBlob != 0)
        {
            _card.DestroyBlob(_modeBlob);
            _modeBlob = 0;
        }

        _card.Dispose();
    }

    private static string State(KmsConnector c) => c.Connection switch
    {
        Drm.Connected when c.Modes.Length == 0 => "connected without modes",
        Drm.Connected => "connected",
        Drm.Disconnected => "disconnected",
        _ => "unknown",
    };

    private static DisplayMode ToMode(in Drm.ModeInfo m) => new(m.HDisplay, m.VDisplay, m.VRefresh);

    private static DisplayMode[] ModesOf(KmsConnector c) => [.. c.Modes.Select(m => ToMode(m)).Distinct()];

    private static bool Same(in Drm.ModeInfo m, DisplayMode d) =>
        m.HDisplay == d.Width && m.VDisplay == d.Height && (d.RefreshHz <= 0 || Math.Abs(m.VRefresh - d.RefreshHz) < 1);

    /// <summary>The wanted mode if the screen offers it, else (none wanted) the preferred one.</summary>
    private static Drm.ModeInfo Choose(KmsConnector c, DisplayMode? wanted)
    {
        if (c.Modes.Length == 0)
        {
            throw new DeviceUnavailableException(c.Name, "the screen offers no modes");
        }

        if (wanted is { } w)
        {
            foreach (var m in c.Modes)
            {
                if (Same(m, w))
                {
                    return m;
                }
            }

            throw new ArgumentException($"{c.Name} does not offer {w.Width}x{w.Height}" + (w.RefreshHz > 0 ? $"@{w.RefreshHz.ToString(CultureInfo.InvariantCulture)}" : "") +
                " (it offers " + string.Join(", ", c.Modes.Select(m => ToMode(m).ToString()).Distinct().Take(12)) + ")");
        }

        foreach (var m in c.Modes)
        {
            if ((m.Type & Drm.ModeTypePreferred) != 0)
            {
                return m;
            }
        }

        return c.Modes[0];
    }

    private static (uint Id, int Index) PickCrtc(KmsDevice dev, KmsConnector conn, uint[] crtcs)
    {
        // The CRTC already driving this connector keeps it (no needless modeset); else the first its encoders can use.
        if (conn.EncoderId != 0)
        {
            var e = dev.Encoder(conn.EncoderId);
            var at = Array.IndexOf(crtcs, e.CrtcId);
            if (e.CrtcId != 0 && at >= 0)
            {
                return (e.CrtcId, at);
            }
        }

        foreach (var id in conn.Encoders)
        {
            var e = dev.Encoder(id);
            for (var i = 0; i < crtcs.Length; i++)
            {
                if ((e.PossibleCrtcs & (1u << i)) != 0)
                {
                    return (crtcs[i], i);
                }
            }
        }

        throw new InvalidOperationException($"{dev.Path}: no CRTC can drive {conn.Name}");
    }

    private static uint PrimaryPlane(KmsDevice dev, int crtcIndex)
    {
        foreach (var id in dev.Planes())
        {
            var p = dev.Plane(id);
            if ((p.PossibleCrtcs & (1u << crtcIndex)) != 0
                && dev.Properties(id, Drm.ObjectPlane).TryGetValue("type", out var type) && type.Value == Drm.PlaneTypePrimary)
            {
                return id;
            }
        }

        throw new InvalidOperationException($"{dev.Path}: no primary plane for CRTC {crtcIndex}");
    }

    private void LoadProperties()
    {
        foreach (var (obj, type, prefix, names) in new[]
        {
            (_connectorId, Drm.ObjectConnector, "connector.", new[] { "CRTC_ID" }),
            (_crtcId, Drm.ObjectCrtc, "crtc.", ["MODE_ID", "ACTIVE"]),
            (_planeId, Drm.ObjectPlane, "plane.", ["FB_ID", "CRTC_ID", "SRC_X", "SRC_Y", "SRC_W", "SRC_H", "CRTC_X", "CRTC_Y", "CRTC_W", "CRTC_H"]),
        })
        {
            var have = _card.Properties(obj, type);
            foreach (var n in names)
            {
                _props[prefix + n] = have.TryGetValue(n, out var p) ? p.Id : throw new InvalidOperationException($"{Card}: {prefix}{n} property missing (not an atomic driver?)");
            }
        }
    }

    /// <summary>
    /// New buffers for <paramref name="mode"/>, tested (atomic TEST_ONLY) and committed; on any failure the new
    /// buffers go and the previous ones stay on screen.
    /// </summary>
    private void Modeset(Drm.ModeInfo mode)
    {
        var fresh = new DumbBuffer[2];
        uint blob = 0;
        try
        {
            for (var i = 0; i < fresh.Length; i++)
            {
                fresh[i] = new DumbBuffer(_card, mode.HDisplay, mode.VDisplay);
                fresh[i].Pixels.Clear();
            }

            if (Atomic)
            {
                blob = _card.CreateBlob(&mode, sizeof(Drm.ModeInfo));
                var w = (ulong)mode.HDisplay;
                var h = (ulong)mode.VDisplay;
                ReadOnlySpan<(uint, uint, ulong)> sets =
                [
                    (_connectorId, _props["connector.CRTC_ID"], _crtcId),
                    (_crtcId, _props["crtc.MODE_ID"], blob),
                    (_crtcId, _props["crtc.ACTIVE"], 1),
                    (_planeId, _props["plane.FB_ID"], fresh[0].FramebufferId),
                    (_planeId, _props["plane.CRTC_ID"], _crtcId),
                    (_planeId, _props["plane.SRC_X"], 0),
                    (_planeId, _props["plane.SRC_Y"], 0),
                    (_planeId, _props["plane.SRC_W"], w << 16),
                    (_planeId, _props["plane.SRC_H"], h << 16),
                    (_planeId, _props["plane.CRTC_X"], 0),
                    (_planeId, _props["plane.CRTC_Y"], 0),
                    (_planeId, _props["plane.CRTC_W"], w),
                    (_planeId, _props["plane.CRTC_H"], h),
                ];
                var e = _card.Atomic(sets, Drm.AtomicAllowModeset | Drm.AtomicTestOnly);
                if (e == 0)
                {
                    e = _card.Atomic(sets, Drm.AtomicAllowModeset);
                }

                if (e != 0)
                {
                    throw _card.Error(e, $"atomic modeset of {ToMode(mode)} on {Connector}");
                }
            }
            else
            {
                var conn = _connectorId;
                var c = new Drm.CrtcArg { CrtcId = _crtcId, FbId = fresh[0].FramebufferId, SetConnectorsPtr = (ulong)&conn, CountConnectors = 1, ModeValid = 1, Mode = mode };
                _card.Call(Drm.ModeSetCrtc, &c, $"DRM_IOCTL_MODE_SETCRTC {ToMode(mode)} on {Connector}");
            }
        }
        catch (Exception x)
        {
            foreach (var b in fresh)
            {
                b?.Dispose();
            }

            if (blob != 0)
            {
                _card.DestroyBlob(blob);
            }

            if (x is DeviceUnavailableException)
            {
                Fail(x);
            }

            throw;
        }

        foreach (var b in _buffers)
        {
            b.Dispose();
        }

        if (_modeBlob != 0)
        {
            _card.DestroyBlob(_modeBlob);
        }

        _buffers = fresh;
        _modeBlob = blob;
        _front = 0;
        Mode = ToMode(mode);
        Connected = true;
    }

    private Exception Fail(Exception x)
    {
        _failure = x.Message;
        return x;
    }

    private void ThrowIfFailed()
    {
        if (_failure.Length > 0)
        {
            throw new DeviceUnavailableException(Card, _failure);
        }

        ObjectDisposedException.ThrowIf(_buffers.Length == 0, this);
    }
}
