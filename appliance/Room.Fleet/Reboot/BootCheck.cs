using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Room.Fleet.Channel;
using Room.Fleet.Install;
using Room.Fleet.Jobs;

namespace Room.Fleet.Reboot;

/// <summary>One check of a freshly booted slot (roomd up, D-Bus answering, devices present, the panel serving, the meeting server reachable).</summary>
public interface IHealthCheck
{
    string Name { get; }

    /// <summary>Null when healthy, else what is wrong.</summary>
    Task<string?> ProblemAsync(CancellationToken cancellationToken);
}

/// <summary>A health check from a delegate.</summary>
public sealed class HealthCheck(string name, Func<CancellationToken, Task<string?>> check) : IHealthCheck
{
    public string Name { get; } = name;

    public Task<string?> ProblemAsync(CancellationToken cancellationToken) => check(cancellationToken);
}

/// <summary>
/// After each boot: reads the update journal and reports the truth. Booted into the new slot: run the health checks,
/// and only when all pass mark the slot good in RAUC, raise the version floor and report success; when one fails, mark
/// it bad and ask for a reboot (the boot loader then starts the old slot) and report failure. Booted the old slot after
/// the agent rebooted into the new one (a fallback, also after a power cut): report failure. Each outcome is written to
/// the journal before it is reported, so a power cut at any point reports it again, never a different story.
/// </summary>
public sealed class BootCheck(UpdateJournal journal, RaucClient rauc, VersionFloor floor, IEnumerable<IHealthCheck> checks,
    Func<Task> reboot, ILogger<BootCheck>? logger = null)
{
    private readonly ILogger _logger = logger ?? NullLogger<BootCheck>.Instance;

    /// <summary>The pending update's outcome after this boot; null when no update is pending or reported.</summary>
    public async Task<UpdateProgress?> RunAsync(CancellationToken cancellationToken)
    {
        var entry = journal.Read();
        if (entry is null)
        {
            return null;
        }

        switch (entry.Phase)
        {
            case JournalPhase.Succeeded:
                return new UpdateProgress(entry.JobId, UpdatePhase.Succeeded, 100, entry.Message);
            case JournalPhase.Failed:
                return new UpdateProgress(entry.JobId, UpdatePhase.Failed, 0, entry.Message);
        }

        var booted = await rauc.GetBootSlotAsync().ConfigureAwait(false);
        if (booted != entry.TargetSlot)
        {
            if (entry.Phase == JournalPhase.Installed)
            {
                // Never rebooted into it (a power cut before the maintenance window): the install waits in the other slot.
                return new UpdateProgress(entry.JobId, UpdatePhase.WaitingForReboot, 100, $"version {entry.Version} installed; reboots in the maintenance window");
            }

            return Fail(entry, $"version {entry.Version} did not boot: the room fell back to slot {booted} and runs its old version");
        }

        var problems = new List<string>();
        foreach (var check in checks)
        {
            string? problem;
            try
            {
                problem = await check.ProblemAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                problem = e.Message;
            }

            if (problem is not null)
            {
                problems.Add($"{check.Name}: {problem}");
            }
        }

        if (problems.Count > 0)
        {
            var message = $"version {entry.Version} failed its health checks ({string.Join("; ", problems)}); back to slot {entry.PreviousSlot}";
            _logger.LogError("Update {Job}: {Message}", entry.JobId, message);
            await rauc.MarkAsync("bad", "booted").ConfigureAwait(false);
            var failed = Fail(entry, message);
            await reboot().ConfigureAwait(false);
            return failed;
        }

        await rauc.MarkAsync("good", "booted").ConfigureAwait(false);
        floor.Record(BundleVersion.Parse(entry.Version), entry.Rollback);
        var ok = $"version {entry.Version} booted from slot {booted} and passed its health checks";
        journal.Write(entry with { Phase = JournalPhase.Succeeded, Message = ok });
        _logger.LogInformation("Update {Job}: {Message}", entry.JobId, ok);
        return new UpdateProgress(entry.JobId, UpdatePhase.Succeeded, 100, ok);
    }

    private UpdateProgress Fail(JournalEntry entry, string message)
    {
        journal.Write(entry with { Phase = JournalPhase.Failed, Message = message });
        return new UpdateProgress(entry.JobId, UpdatePhase.Failed, 0, message);
    }
}
