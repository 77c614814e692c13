using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Room.Appliance.Framing;
using Room.Bus;
using Room.Devices;

namespace Room.Appliance.Camera;

/// <summary>
/// The camera the room sends and controls: selection, absolute and relative PTZ with range checks, presets,
/// auto-framing. Positions are read back from the device after each move.
/// </summary>
public sealed class CameraService : IDisposable
{
    private readonly IDeviceProvider _devices;
    private readonly PresetStore _presets;
    private readonly ILogger<CameraService> _logger;
    private readonly FramingSupport _framing;
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _motion = new(1, 1);
    private readonly string _preferred;
    private string _selected;
    private bool _selectedWorks = true;
    private PtzPosition _position;
    private bool _autoFraming;

    public CameraService(IDeviceProvider devices, PresetStore presets, FramingSupport framing, IOptions<RoomOptions> options, ILogger<CameraService> logger)
    {
        _framing = framing;
        _devices = devices;
        _presets = presets;
        _logger = logger;
        var preferred = options.Value.DefaultCamera;
        _preferred = preferred;
        _selected = devices.Cameras.Any(c => c.Id == preferred) ? preferred : devices.Cameras.Count > 0 ? devices.Cameras[0].Id : "";
        // Cameras (and the selected one's limits) change on hot-plug: announce them like every other change.
        devices.DevicesChanged += OnDevicesChanged;
    }

    public event EventHandler? Changed;

    public void Dispose()
    {
        _devices.DevicesChanged -= OnDevicesChanged;
        _motion.Dispose();
    }

    /// <summary>
    /// Hot-plug: a room that had no camera selects the first one plugged in (the configured default when it is that
    /// one), and a selected camera that comes back has its position read again (it may have been moved meanwhile).
    /// </summary>
    private void OnDevicesChanged(object? sender, EventArgs e)
    {
        bool refresh;
        lock (_gate)
        {
            if (Find(_selected) is null && _devices.Cameras.Count > 0)
            {
                _selected = _devices.Cameras.Any(c => c.Id == _preferred) ? _preferred : _devices.Cameras[0].Id;
                _selectedWorks = false;
                _logger.LogInformation("Camera {Id} plugged in: selected", _selected);
            }

            var works = Find(_selected) is { } camera && Works(camera);
            refresh = works && !_selectedWorks;
            _selectedWorks = works;
        }

        RaiseChanged();
        if (refresh)
        {
            _ = RefreshAfterReplugAsync();
        }
    }

    private async Task RefreshAfterReplugAsync()
    {
        try
        {
            await RefreshAsync();
        }
        catch (Exception ex) when (ex is IOException or TimeoutException)
        {
            _logger.LogWarning("Camera {Id} plugged back but did not answer: {Message}", _selected, ex.Message);
        }
    }

    private static bool Works(ICamera camera)
    {
        try
        {
            return camera.Describe().Health is DeviceHealth.Ok or DeviceHealth.Degraded;
        }
        catch (DeviceUnavailableException)
        {
            return false;
        }
    }

    public CameraSnapshot Snapshot
    {
        get
        {
            lock (_gate)
            {
                var camera = Find(_selected);
                var limits = camera?.Limits ?? PtzLimits.Fixed;
                return new CameraSnapshot(
                    [.. _devices.Cameras.Select(c => (c.Id, c.Name))],
                    _selected,
                    _position,
                    limits,
                    _selected.Length == 0 ? [] : _presets.Names(_selected),
                    _autoFraming);
            }
        }
    }

    /// <summary>Reads the selected camera's position once (at start-up and after re-plugging).</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken = default)
    {
        var camera = Find(_selected);
        if (camera is null)
        {
            return;
        }

        try
        {
            var p = await camera.GetPositionAsync(cancellationToken);
            Update(p);
        }
        catch (DeviceUnavailableException ex)
        {
            _logger.LogWarning("{Message}", ex.Message);
        }
    }

    public async Task SelectAsync(string id)
    {
        if (Find(id) is null)
        {
            throw new RoomBusException(BusErrors.UnknownCamera, $"No camera '{Limit(id)}'. Known: {string.Join(", ", _devices.Cameras.Select(c => c.Id))}.");
        }

        lock (_gate)
        {
            _selected = id;
            _selectedWorks = Find(id) is { } chosen && Works(chosen);
        }

        await RefreshAsync();
        RaiseChanged();
    }

    public async Task MoveToAsync(double pan, double tilt, double zoom)
    {
        var camera = Selected();
        RequireFinite(pan, tilt, zoom);
        var target = new PtzPosition(pan, tilt, zoom);
        var limits = camera.Limits;
        RequireMovable(camera, pan != 0 || tilt != 0 || zoom != 0);
        if (!limits.Contains(target) || (!limits.CanPan && pan != 0) || (!limits.CanTilt && tilt != 0) || (!limits.CanZoom && zoom != 0))
        {
            throw new RoomBusException(BusErrors.OutOfRange,
                $"({pan:0.##}, {tilt:0.##}, {zoom:0.##}) is outside the camera's range: pan {limits.PanMin:0.##}..{limits.PanMax:0.##}, tilt {limits.TiltMin:0.##}..{limits.TiltMax:0.##}, zoom 0..1.");
        }

        StopAutoFraming();
        await MoveAsync(camera, target);
    }

    public async Task MoveByAsync(double pan, double tilt, double zoom)
    {
        var camera = Selected();
        RequireFinite(pan, tilt, zoom);
        var limits = camera.Limits;
        RequireMovable(camera, true);
        if (Math.Abs(pan) > 360 || Math.Abs(tilt) > 180 || Math.Abs(zoom) > 1)
        {
            throw new RoomBusException(BusErrors.OutOfRange, "A relative move is at most 360 degrees of pan, 180 of tilt and 1 of zoom.");
        }

        PtzPosition current;
        lock (_gate)
        {
            current = _position;
        }

        StopAutoFraming();
        await MoveAsync(camera, limits.Clamp(new PtzPosition(current.Pan + pan, current.Tilt + tilt, current.Zoom + zoom)));
    }

    public async Task StorePresetAsync(string name)
    {
        PresetStore.ValidateName(name);
        var camera = Selected();
        var position = await Guard(camera, () => camera.GetPositionAsync());
        _presets.Store(camera.Id, name, position);
        _logger.LogInformation("Stored preset {Name} on {Camera} at {Position}", name, camera.Id, position);
        RaiseChanged();
    }

    public async Task RecallPresetAsync(string name)
    {
        var camera = Selected();
        var position = _presets.Get(camera.Id, name);
        StopAutoFraming();
        await MoveAsync(camera, camera.Limits.Clamp(position));
        _logger.LogInformation("Recalled preset {Name} on {Camera}", name, camera.Id);
    }

    public Task DeletePresetAsync(string name)
    {
        var camera = Selected();
        _presets.Delete(camera.Id, name);
        RaiseChanged();
        return Task.CompletedTask;
    }

    public Task SetAutoFramingAsync(bool enabled)
    {
        var camera = Selected();
        if (enabled && _framing.Detector is null)
        {
            throw new RoomBusException(BusErrors.NotSupported, $"Auto-framing is not available: {_framing.UnavailableReason}.");
        }

        if (enabled && !(camera.Limits.CanPan || camera.Limits.CanZoom))
        {
            throw new RoomBusException(BusErrors.NotSupported, $"Camera {camera.Id} cannot pan or zoom, so it cannot frame automatically.");
        }

        lock (_gate)
        {
            if (_autoFraming == enabled)
            {
                return Task.CompletedTask;
            }

            _autoFraming = enabled;
        }

        RaiseChanged();
        return Task.CompletedTask;
    }

    /// <summary>A person steering the camera takes over from the auto-framer.</summary>
    private void StopAutoFraming()
    {
        lock (_gate)
        {
            if (!_autoFraming)
            {
                return;
            }

            _autoFraming = false;
        }

        _logger.LogInformation("Auto-framing off: the camera was moved by hand");
        RaiseChanged();
    }

    /// <summary>Moves for the auto-framer (which has already clamped the target).</summary>
    internal Task FrameAsync(PtzPosition target) => MoveAsync(Selected(), target);

    private async Task MoveAsync(ICamera camera, PtzPosition target)
    {
        await _motion.WaitAsync();
        try
        {
            await Guard(camera, () => camera.MoveToAsync(target));
            var reached = await Guard(camera, () => camera.GetPositionAsync());
            Update(reached);
        }
        finally
        {
            _motion.Release();
        }
    }

    private static async Task<T> Guard<T>(ICamera camera, Func<ValueTask<T>> action)
    {
        try
        {
            return await action();
        }
        catch (DeviceUnavailableException ex)
        {
            throw new RoomBusException(BusErrors.DeviceUnavailable, ex.Message);
        }
        catch (IOException ex)
        {
            throw new RoomBusException(BusErrors.DeviceUnavailable, $"Camera {camera.Id} did not answer: {ex.Message}");
        }
        catch (TimeoutException ex)
        {
            throw new RoomBusException(BusErrors.DeviceUnavailable, $"Camera {camera.Id} did not answer: {ex.Message}");
        }
    }

    private static Task<bool> Guard(ICamera camera, Func<ValueTask> action) =>
        Guard(camera, async () =>
        {
            await action();
            return true;
        });

    private void Update(PtzPosition p)
    {
        lock (_gate)
        {
            if (_position == p)
            {
                return;
            }

            _position = p;
        }

        RaiseChanged();
    }

    private ICamera Selected()
    {
        string id;
        lock (_gate)
        {
            id = _selected;
        }

        return Find(id) ?? throw new RoomBusException(BusErrors.UnknownCamera, "No camera is connected.");
    }

    private ICamera? Find(string id) => _devices.Cameras.FirstOrDefault(c => c.Id == id);

    private static void RequireFinite(double pan, double tilt, double zoom)
    {
        if (!double.IsFinite(pan) || !double.IsFinite(tilt) || !double.IsFinite(zoom))
        {
            throw new RoomBusException(BusErrors.OutOfRange, "Pan, tilt and zoom must be finite numbers.");
        }
    }

    private static void RequireMovable(ICamera camera, bool moving)
    {
        var l = camera.Limits;
        if (moving && !(l.CanPan || l.CanTilt || l.CanZoom))
        {
            throw new RoomBusException(BusErrors.NotSupported, $"Camera {camera.Id} has no pan, tilt or zoom.");
        }
    }

    private static string Limit(string s) => s.Length > 64 ? s[..64] + "…" : s;

    private void RaiseChanged() => Changed?.Invoke(this, EventArgs.Empty);
}

public sealed record CameraSnapshot(
    IReadOnlyList<(string Id, string Name)> Cameras,
    string Selected,
    PtzPosition Position,
    PtzLimits Limits,
    IReadOnlyList<string> Presets,
    bool AutoFraming);
