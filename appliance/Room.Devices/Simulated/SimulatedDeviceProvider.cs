namespace Room.Devices.Simulated;

/// <summary>Options of the simulated room (`Devices:Simulated:*` in roomd's configuration).</summary>
public sealed record SimulatedDeviceOptions
{
    /// <summary>
    /// A text file naming the simulated cameras and microphones that are unplugged, one id per line ("sim:camera-front");
    /// roomd follows it while it runs, as the Linux provider follows udev. Lets `make run` and roomd's tests unplug and
    /// re-plug devices mid-call without restarting roomd. Null = nothing is ever unplugged.
    /// </summary>
    public string? HotplugFile { get; init; }

    /// <summary>
    /// A YUV4MPEG2 clip (8-bit 4:2:0) the front camera plays in a loop in place of its drawn room: a busy picture
    /// for benchmarks (the call-quality bench gives roomd and Chromium the same one). Null = the drawn room.
    /// </summary>
    public string? VideoClip { get; init; }
}

/// <summary>The simulated room: two PTZ cameras, a microphone array, a speaker, a display and GPIO controls.</summary>
public sealed class SimulatedDeviceProvider : IDeviceProvider, IDisposable
{
    private readonly SimulatedDeviceOptions _options;
    private readonly Lock _gate = new();
    private FileSystemWatcher? _watcher;

    public SimulatedDeviceProvider(SimulatedDeviceOptions? options = null)
    {
        _options = options ?? new SimulatedDeviceOptions();
        Cameras =
        [
            new SimulatedCamera("sim:camera-front", "Front camera (simulated)", clip: _options.VideoClip),
            new SimulatedCamera("sim:camera-wide", "Wide camera (simulated)", new PtzLimits(-45, 45, -20, 20, true, true, true)),
        ];
        Microphones = [new SimulatedMicrophone("sim:mic-array", "Ceiling microphone array (simulated)", channels: 8)];
        Speakers = [new SimulatedSpeaker("sim:speaker", "Room speaker (simulated)")];
        Displays = [new SimulatedDisplay("sim:HDMI-A-1", "HDMI-A-1 (simulated)")];
        Controls = new SimulatedRoomControls();
    }

    public IReadOnlyList<ICamera> Cameras { get; }

    public IReadOnlyList<IMicrophone> Microphones { get; }

    public IReadOnlyList<ISpeaker> Speakers { get; }

    public IReadOnlyList<IDisplay> Displays { get; }

    public IRoomControls? Controls { get; }

    public event EventHandler? DevicesChanged;

    /// <summary>Applies the hot-plug file and follows it (when one is configured).</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_options.HotplugFile is not { Length: > 0 } file)
        {
            return Task.CompletedTask;
        }

        var full = Path.GetFullPath(file);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        lock (_gate)
        {
            if (_watcher is null)
            {
                _watcher = new FileSystemWatcher(dir, Path.GetFileName(full))
                {
                    NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size,
                };
                _watcher.Changed += (_, _) => ApplyHotplugFile();
                _watcher.Created += (_, _) => ApplyHotplugFile();
                _watcher.Deleted += (_, _) => ApplyHotplugFile();
                _watcher.Renamed += (_, _) => ApplyHotplugFile();
                _watcher.EnableRaisingEvents = true;
            }
        }

        ApplyHotplugFile();
        return Task.CompletedTask;
    }

    /// <summary>Simulates unplugging (false) or plugging back (true) a camera.</summary>
    public void SetCameraPresent(string id, bool present)
    {
        var camera = Cameras.OfType<SimulatedCamera>().FirstOrDefault(c => c.Id == id)
            ?? throw new ArgumentException($"No simulated camera {id}.", nameof(id));
        camera.Present = present;
        DevicesChanged?.Invoke(this, EventArgs.Empty);
    }

    /// <summary>Simulates unplugging (false) or plugging back (true) a microphone.</summary>
    public void SetMicrophonePresent(string id, bool present)
    {
        var mic = Microphones.OfType<SimulatedMicrophone>().FirstOrDefault(m => m.Id == id)
            ?? throw new ArgumentException($"No simulated microphone {id}.", nameof(id));
        mic.Present = present;
        DevicesChanged?.Invoke(this, EventArgs.Empty);
    }

    /// <summary>
    /// Reads the hot-plug file and sets each simulated camera and microphone present unless it is listed; raises
    /// <see cref="DevicesChanged"/> when anything changed. A missing or unreadable file means everything is plugged in;
    /// lines that name no simulated device are ignored.
    /// </summary>
    public void ApplyHotplugFile()
    {
        if (_options.HotplugFile is not { Length: > 0 } file)
        {
            return;
        }

        var changed = false;
        lock (_gate)
        {
            var unplugged = ReadIds(file);
            foreach (var camera in Cameras.OfType<SimulatedCamera>())
            {
                var present = !unplugged.Contains(camera.Id);
                changed |= camera.Present != present;
                camera.Present = present;
            }

            foreach (var mic in Microphones.OfType<SimulatedMicrophone>())
            {
                var present = !unplugged.Contains(mic.Id);
                changed |= mic.Present != present;
                mic.Present = present;
            }
        }

        if (changed)
        {
            DevicesChanged?.Invoke(this, EventArgs.Empty);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _watcher?.Dispose();
            _watcher = null;
        }
    }

    private static HashSet<string> ReadIds(string file)
    {
        try
        {
            return [.. File.ReadLines(file).Select(l => l.Trim()).Where(l => l.Length > 0 && l[0] != '#')];
        }
        catch (IOException)
        {
            return [];
        }
        catch (UnauthorizedAccessException)
        {
            return [];
        }
    }
}
