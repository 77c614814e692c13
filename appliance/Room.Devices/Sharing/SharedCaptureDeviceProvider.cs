using System.Runtime.CompilerServices;

namespace Room.Devices.Sharing;

/// <summary>
/// Presents a provider's cameras as <see cref="SharedCaptureCamera"/>s, so that every part of roomd can read a
/// camera at the same time. Each device keeps one wrapper for its lifetime (hot-plug hands back the same one).
/// </summary>
public sealed class SharedCaptureDeviceProvider(IDeviceProvider inner) : IDeviceProvider, IDisposable
{
    private readonly ConditionalWeakTable<ICamera, SharedCaptureCamera> _wrappers = [];
    private readonly Lock _gate = new();
    private IReadOnlyList<ICamera>? _source;
    private IReadOnlyList<ICamera> _cameras = [];

    public IDeviceProvider Inner => inner;

    public IReadOnlyList<ICamera> Cameras
    {
        get
        {
            var now = inner.Cameras;
            lock (_gate)
            {
                // Providers hand out a new list when devices change; wrap each list once.
                if (!ReferenceEquals(now, _source))
                {
                    _cameras = [.. now.Select(c => c as SharedCaptureCamera ?? _wrappers.GetValue(c, static c => new SharedCaptureCamera(c)))];
                    _source = now;
                }

                return _cameras;
            }
        }
    }

    public IReadOnlyList<IMicrophone> Microphones => inner.Microphones;

    public IReadOnlyList<ISpeaker> Speakers => inner.Speakers;

    public IReadOnlyList<IDisplay> Displays => inner.Displays;

    public IRoomControls? Controls => inner.Controls;

    public event EventHandler? DevicesChanged
    {
        add => inner.DevicesChanged += value;
        remove => inner.DevicesChanged -= value;
    }

    public Task StartAsync(CancellationToken cancellationToken) => inner.StartAsync(cancellationToken);

    /// <summary>Stops the inner provider's hot-plug following and releases its devices.</summary>
    public void Dispose() => (inner as IDisposable)?.Dispose();
}
