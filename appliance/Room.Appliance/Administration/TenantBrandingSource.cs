using Microsoft.Extensions.Options;
using Room.MeetingClient;

namespace Room.Appliance.Administration;

/// <summary>
/// The branding of the tenant this box is enrolled with, as <c>roomctl enroll</c> keeps it beside the box's key
/// (<see cref="TenantBranding"/>: <c>branding.json</c>, <c>branding-logo</c>). Read again when the files change (their
/// time and size), so a new enrolment shows on the panel without restarting roomd. Nothing, when there is none.
/// </summary>
public sealed class TenantBrandingSource : IDisposable
{
    private readonly IOptions<Meeting.MeetingServerCallOptions> options;
    private readonly FileSystemWatcher? _watcher;
    private readonly Lock _gate = new();
    private (DateTime, long, DateTime, long) _seen;
    private (TenantBranding? Branding, byte[] Logo) _current = (null, []);

    public TenantBrandingSource(IOptions<Meeting.MeetingServerCallOptions> options)
    {
        this.options = options;
        string dir = options.Value.IdentityDirectory;
        if (Directory.Exists(dir))
        {
            // Announced at once when roomctl enroll writes new files (and at the System interface's recheck otherwise).
            _watcher = new FileSystemWatcher(dir) { NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size };
            _watcher.Created += OnFile;
            _watcher.Changed += OnFile;
            _watcher.Deleted += OnFile;
            _watcher.Renamed += OnFile;
            _watcher.EnableRaisingEvents = true;
        }
    }

    /// <summary>Raised when a file in the key folder changed (the branding may have).</summary>
    public event EventHandler? Changed;

    private void OnFile(object sender, FileSystemEventArgs e) => Changed?.Invoke(this, EventArgs.Empty);

    public void Dispose() => _watcher?.Dispose();

    public (TenantBranding? Branding, byte[] Logo) Current
    {
        get
        {
            string dir = options.Value.IdentityDirectory;
            var json = new FileInfo(Path.Combine(dir, TenantBranding.File));
            var logo = new FileInfo(Path.Combine(dir, TenantBranding.LogoFile));
            var seen = (json.Exists ? json.LastWriteTimeUtc : default, json.Exists ? json.Length : -1, logo.Exists ? logo.LastWriteTimeUtc : default, logo.Exists ? logo.Length : -1);
            lock (_gate)
            {
                if (seen != _seen)
                {
                    _seen = seen;
                    var b = json.Exists ? TenantBranding.Load(dir) : null;
                    byte[] bytes = [];
                    try
                    {
                        bytes = b?.LogoType is not null && logo.Exists && logo.Length <= TenantBranding.MaxLogoBytes ? File.ReadAllBytes(logo.FullName) : [];
                    }
                    catch (IOException)
                    {
                    }

                    _current = (b, TenantBranding.ImageType(bytes) is null ? [] : bytes);
                }

                return _current;
            }
        }
    }
}
