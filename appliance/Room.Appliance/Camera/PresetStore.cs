using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Room.Bus;
using Room.Devices;

namespace Room.Appliance.Camera;

/// <summary>
/// Camera presets by camera id and name, kept in the state directory so they survive restarts and re-plugging.
/// Writes are atomic (temp file + rename); an unreadable file is set aside, never silently overwritten.
/// </summary>
public sealed partial class PresetStore
{
    public const int MaxPresetsPerCamera = 32;

    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };

    private readonly string _path;
    private readonly ILogger<PresetStore> _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, SortedDictionary<string, PtzPosition>> _presets;

    public PresetStore(IOptions<RoomOptions> options, ILogger<PresetStore> logger)
    {
        _logger = logger;
        Directory.CreateDirectory(options.Value.StateDirectory);
        _path = Path.Combine(options.Value.StateDirectory, "presets.json");
        _presets = Load();
    }

    public IReadOnlyList<string> Names(string cameraId)
    {
        lock (_gate)
        {
            return _presets.TryGetValue(cameraId, out var p) ? [.. p.Keys] : [];
        }
    }

    public PtzPosition Get(string cameraId, string name)
    {
        lock (_gate)
        {
            if (_presets.TryGetValue(cameraId, out var p) && p.TryGetValue(name, out var position))
            {
                return position;
            }
        }

        throw new RoomBusException(BusErrors.UnknownPreset, $"Camera {cameraId} has no preset '{name}'.");
    }

    public void Store(string cameraId, string name, PtzPosition position)
    {
        ValidateName(name);
        lock (_gate)
        {
            if (!_presets.TryGetValue(cameraId, out var p))
            {
                p = new SortedDictionary<string, PtzPosition>(StringComparer.Ordinal);
                _presets[cameraId] = p;
            }

            if (!p.ContainsKey(name) && p.Count >= MaxPresetsPerCamera)
            {
                throw new RoomBusException(BusErrors.OutOfRange, $"Camera {cameraId} already has {MaxPresetsPerCamera} presets; delete one first.");
            }

            var previous = p.TryGetValue(name, out var old) ? old : (PtzPosition?)null;
            p[name] = position;
            try
            {
                Save();
            }
            catch
            {
                // Keep memory and disk in agreement: the preset is not stored if it could not be saved.
                if (previous is { } prev)
                {
                    p[name] = prev;
                }
                else
                {
                    p.Remove(name);
                }

                throw;
            }
        }
    }

    public void Delete(string cameraId, string name)
    {
        lock (_gate)
        {
            if (!_presets.TryGetValue(cameraId, out var p) || !p.TryGetValue(name, out var old))
            {
                throw new RoomBusException(BusErrors.UnknownPreset, $"Camera {cameraId} has no preset '{name}'.");
            }

            p.Remove(name);
            try
            {
                Save();
            }
            catch
            {
                p[name] = old;
                throw;
            }
        }
    }

    /// <summary>Forgets every preset of every camera (factory reset).</summary>
    public void DeleteAll()
    {
        lock (_gate)
        {
            _presets.Clear();
            File.Delete(_path);
        }
    }

    /// <summary>Names: 1..32 letters, digits, spaces, '-', '_' or '.', not starting or ending with a space.</summary>
    public static void ValidateName(string name)
    {
        if (!ValidName().IsMatch(name))
        {
            throw new RoomBusException(BusErrors.InvalidArgument,
                $"Preset name '{Truncate(name)}' is not valid: use 1 to 32 letters, digits, spaces, '-', '_' or '.'.");
        }
    }

    private static string Truncate(string s) => s.Length > 40 ? s[..40] + "…" : s;

    [GeneratedRegex(@"^[\p{L}\p{N}_.\-]([\p{L}\p{N} _.\-]{0,30}[\p{L}\p{N}_.\-])?$")]
    private static partial Regex ValidName();

    private Dictionary<string, SortedDictionary<string, PtzPosition>> Load()
    {
        if (!File.Exists(_path))
        {
            return [];
        }

        try
        {
            var raw = JsonSerializer.Deserialize<Dictionary<string, Dictionary<string, PtzPosition>>>(File.ReadAllText(_path))
                ?? throw new JsonException("null document");
            return raw.ToDictionary(kv => kv.Key, kv => new SortedDictionary<string, PtzPosition>(kv.Value, StringComparer.Ordinal));
        }
        catch (JsonException ex)
        {
            var aside = _path + ".corrupt-" + DateTime.UtcNow.ToString("yyyyMMddHHmmss");
            File.Move(_path, aside);
            _logger.LogError("Presets file {Path} is unreadable ({Message}); moved it to {Aside} and started with none", _path, ex.Message, aside);
            return [];
        }
    }

    private void Save()
    {
        var temp = _path + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(_presets, s_json));
        File.Move(temp, _path, overwrite: true);
    }
}
