using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Room.Appliance.Administration;

/// <summary>
/// The administrator's settings on the data partition (STATE/settings.json), written atomically (<see cref="AtomicFile"/>).
/// Read once at start: a broken file is reported and the last good version used; values that break a rule are dropped.
/// </summary>
public sealed class AdminSettingsStore
{
    public const string FileName = "settings.json";

    private readonly Lock _gate = new();
    private readonly ILogger _logger;
    private AdminSettings _current;

    public AdminSettingsStore(string stateDirectory, ILogger<AdminSettingsStore> logger)
    {
        _logger = logger;
        Path = System.IO.Path.Combine(stateDirectory, FileName);
        _current = Load(Path, logger);
    }

    public string Path { get; }

    public AdminSettings Current
    {
        get
        {
            lock (_gate)
            {
                return _current;
            }
        }
    }

    /// <summary>Raised after the settings changed (written to disk).</summary>
    public event EventHandler? Changed;

    /// <summary>Applies <paramref name="change"/> and writes the result; on a failed write nothing changes.</summary>
    public AdminSettings Update(Func<AdminSettings, AdminSettings> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        AdminSettings next;
        lock (_gate)
        {
            next = change(_current) with { Revision = _current.Revision + 1 };
            try
            {
                AtomicFile.Write(Path, JsonSerializer.SerializeToUtf8Bytes(next, AdminSettingsJson.Default.AdminSettings), (UnixFileMode)0b110_100_000);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                _logger.LogError("Settings could not be saved to {Path}: {Error}", Path, ex.Message);
                throw new AdminRefusedException(AdminRefusalKind.Failed, $"The settings could not be saved: {ex.Message}");
            }

            _current = next;
        }

        Changed?.Invoke(this, EventArgs.Empty);
        return next;
    }

    /// <summary>Forgets every setting (factory reset).</summary>
    public void Reset()
    {
        lock (_gate)
        {
            AtomicFile.Delete(Path);
            _current = new AdminSettings();
        }

        Changed?.Invoke(this, EventArgs.Empty);
    }

    /// <summary>The settings in the file at <paramref name="path"/> (or its last good version), defaults when there are none.</summary>
    public static AdminSettings Load(string path, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(logger);
        var bytes = AtomicFile.Read(path, out var problem);
        if (problem is not null)
        {
            logger.LogError("Settings file broken ({Problem}); {Using}", problem, bytes is null ? "using the installer's defaults" : "using the last good version");
        }

        if (bytes is null)
        {
            return new AdminSettings();
        }

        AdminSettings? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize(bytes, AdminSettingsJson.Default.AdminSettings);
        }
        catch (JsonException ex)
        {
            logger.LogError("Settings file {Path} is intact but not valid settings ({Error}); using the installer's defaults", path, ex.Message);
            return new AdminSettings();
        }

        var dropped = new List<string>();
        var settings = AdminSettingsRules.Sanitize(parsed ?? new AdminSettings(), dropped);
        foreach (var d in dropped)
        {
            logger.LogWarning("Setting ignored, it breaks a rule: {Setting}", d);
        }

        return settings;
    }
}
