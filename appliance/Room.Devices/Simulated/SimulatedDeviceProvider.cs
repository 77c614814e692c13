namespace Room.Devices.Simulated;

/// <summary>The simulated room: two PTZ cameras, a microphone array, a speaker, a display and GPIO controls.</summary>
public sealed class SimulatedDeviceProvider : IDeviceProvider
{
    public SimulatedDeviceProvider()
    {
        Cameras =
        [
            new SimulatedCamera("sim:camera-front", "Front camera (simulated)"),
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

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Simulates unplugging (false) or plugging back (true) a camera.</summary>
    public void SetCameraPresent(string id, bool present)
    {
        var camera = Cameras.OfType<SimulatedCamera>().FirstOrDefault(c => c.Id == id)
            ?? throw new ArgumentException($"No simulated camera {id}.", nameof(id));
        camera.Present = present;
        DevicesChanged?.Invoke(this, EventArgs.Empty);
    }
}
