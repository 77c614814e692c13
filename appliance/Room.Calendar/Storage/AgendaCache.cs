using System.Text.Json;
using System.Text.Json.Serialization;
using Room.Calendar.CalDav;

namespace Room.Calendar.Storage;

/// <summary>
/// The offline copy of every source's last synced state, one JSON file written atomically (a temporary file beside
/// it, flushed to disk, then renamed over it): a crash or power loss leaves the old copy or the new one, never half.
/// Credentials are never part of it.
/// </summary>
public sealed class AgendaCache(string path)
{
    private const int Version = 1;

    public string Path => path;

    public void Save(IReadOnlyList<SourceState> sources, DateTimeOffset lastSync)
    {
        ArgumentNullException.ThrowIfNull(sources);
        var file = new CacheFile
        {
            Version = Version,
            LastSync = lastSync,
            Sources = sources.Select(s => new CachedSource
            {
                Key = s.Key,
                SyncToken = s.SyncToken,
                CTag = s.CTag,
                Resources = s.Resources.Select(r => new CachedResource { Href = r.Key, ETag = r.Value.ETag, Ics = r.Value.Ics }).ToList(),
            }).ToList(),
        };
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var temp = System.IO.Path.Combine(directory, $".{System.IO.Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 65536, FileOptions.None))
            {
                JsonSerializer.Serialize(stream, file, CacheJson.Default.CacheFile);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>The saved states and the time of the sync they came from; null when there is no usable copy.</summary>
    public (IReadOnlyList<SourceState> Sources, DateTimeOffset LastSync)? Load()
    {
        CacheFile? file;
        try
        {
            using var stream = File.OpenRead(path);
            file = JsonSerializer.Deserialize(stream, CacheJson.Default.CacheFile);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"The calendar cache {path} is unreadable: {ex.Message}", ex);
        }

        if (file is null || file.Version != Version)
        {
            throw new InvalidDataException($"The calendar cache {path} has an unknown format.");
        }

        var sources = file.Sources.Select(s => new SourceState(s.Key, s.SyncToken, s.CTag,
            s.Resources.Where(r => r.Href.Length > 0).GroupBy(r => r.Href, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => new CalendarResource(g.First().ETag, g.First().Ics), StringComparer.Ordinal))).ToList();
        return (sources, file.LastSync);
    }

    internal sealed class CacheFile
    {
        public int Version { get; set; }

        public DateTimeOffset LastSync { get; set; }

        public List<CachedSource> Sources { get; set; } = [];
    }

    internal sealed class CachedSource
    {
        public string Key { get; set; } = "";

        public string? SyncToken { get; set; }

        public string? CTag { get; set; }

        public List<CachedResource> Resources { get; set; } = [];
    }

    internal sealed class CachedResource
    {
        public string Href { get; set; } = "";

        public string ETag { get; set; } = "";

        public string Ics { get; set; } = "";
    }
}

[JsonSerializable(typeof(AgendaCache.CacheFile))]
internal sealed partial class CacheJson : JsonSerializerContext;
