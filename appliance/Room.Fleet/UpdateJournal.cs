using System.Text.Json;
using System.Text.Json.Serialization;
using Room.Fleet.Jobs;

namespace Room.Fleet;

/// <summary>Where an update stands across reboots and power cuts.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<JournalPhase>))]
public enum JournalPhase
{
    /// <summary>Installed into the other slot; RAUC made it the one to try at the next boot.</summary>
    Installed,

    /// <summary>The agent is rebooting into the new slot (written just before the reboot).</summary>
    Rebooting,

    /// <summary>Booted the new version, health checks passed, slot marked good, floor raised: reported as success.</summary>
    Succeeded,

    /// <summary>The health checks failed or the boot fell back to the old slot: reported as failure.</summary>
    Failed,
}

/// <summary>The journal's one record: the job, its version and target slot, where it stands, and what was said.</summary>
public sealed record JournalEntry(string JobId, string Version, bool Rollback, string TargetSlot, string PreviousSlot, JournalPhase Phase, string? Message = null);

/// <summary>
/// The update journal on the data partition: one record, replaced atomically at each step (a power cut leaves the old or
/// the new record, never a mix). After a boot, <see cref="BootCheck"/> reads it to decide what to report: a record in
/// <see cref="JournalPhase.Rebooting"/> or <see cref="JournalPhase.Installed"/> is either the new slot to check
/// and mark good, or a fallback to the old slot to report as a failure.
/// </summary>
public sealed class UpdateJournal(string path)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public string Path { get; } = path;

    /// <summary>The record; null when none, or when the file is unreadable (then nothing is claimed).</summary>
    public JournalEntry? Read()
    {
        try
        {
            var text = DurableFile.Read(Path);
            var e = text is null ? null : JsonSerializer.Deserialize<JournalEntry>(text, Json);
            return e is { JobId.Length: > 0, Version: not null, TargetSlot: not null, PreviousSlot: not null }
                && BundleVersion.TryParse(e.Version, out _) ? e : null;
        }
        catch (Exception e) when (e is JsonException or IOException)
        {
            return null;
        }
    }

    public void Write(JournalEntry entry) => DurableFile.Write(Path, JsonSerializer.Serialize(entry, Json));
}
