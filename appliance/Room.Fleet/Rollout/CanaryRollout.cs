using System.Security.Cryptography.X509Certificates;
using Room.Fleet.Channel;
using Room.Fleet.Jobs;

namespace Room.Fleet.Rollout;

/// <summary>How a room's part of a rollout ended.</summary>
public enum RoomOutcome
{
    /// <summary>Booted the new version and reported healthy (Succeeded, running the bundle's version).</summary>
    Succeeded,

    /// <summary>Refused the job, failed it, or fell back to its old slot.</summary>
    Failed,

    /// <summary>Not asked: the rollout halted before it reached this room.</summary>
    NotStarted,
}

/// <summary>What the rollout is doing, for roomctl fleet push's output.</summary>
public abstract record RolloutEvent
{
    public sealed record StageStarted(string Stage, IReadOnlyList<string> Rooms) : RolloutEvent;

    public sealed record RoomProgress(string Room, UpdateProgress Progress) : RolloutEvent;

    public sealed record RoomFinished(string Room, RoomOutcome Outcome, string? Message) : RolloutEvent;

    public sealed record Halted(string Reason) : RolloutEvent;
}

/// <summary>The result: each room's outcome, and whether the rollout halted (and why).</summary>
public sealed record RolloutResult(IReadOnlyDictionary<string, RoomOutcome> Rooms, bool Halted, string? HaltReason);

/// <summary>
/// A staged rollout of one bundle to a list of rooms (a group's, from their retained status): first the canaries
/// (<paramref name="canaryPercent"/> of the rooms, at least one), each with its own signed job; the rest only when every
/// canary has booted the new version and reported healthy, and fewer than <paramref name="maxFailures"/>+1 failed. A
/// failure in the second stage beyond the threshold halts too (the rooms already asked go on; nothing new is sent).
/// </summary>
public sealed class CanaryRollout(FleetAdminClient admin, X509Certificate2 signer, TimeProvider time)
{
    public async Task<RolloutResult> RunAsync(string rolloutId, BundleRef bundle, IReadOnlyList<string> rooms, int canaryPercent, int maxFailures,
        Action<RolloutEvent>? onEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rooms);
        ArgumentOutOfRangeException.ThrowIfNegative(maxFailures);
        if (canaryPercent is < 1 or > 100)
        {
            throw new ArgumentOutOfRangeException(nameof(canaryPercent), canaryPercent, "the canary share is 1-100 %");
        }

        var outcomes = rooms.ToDictionary(r => r, _ => RoomOutcome.NotStarted, StringComparer.Ordinal);
        var canaryCount = Math.Max(1, (int)Math.Ceiling(rooms.Count * canaryPercent / 100.0));
        var canaries = rooms.Take(canaryCount).ToList();
        var rest = rooms.Skip(canaryCount).ToList();

        var failures = await StageAsync("canary", canaries, rolloutId, bundle, outcomes, onEvent, cancellationToken).ConfigureAwait(false);
        if (failures > 0)
        {
            var reason = $"{failures} of {canaries.Count} canaries failed; the other {rest.Count} rooms were not updated";
            onEvent?.Invoke(new RolloutEvent.Halted(reason));
            return new RolloutResult(outcomes, true, reason);
        }

        if (rest.Count > 0)
        {
            failures = await StageAsync("rest", rest, rolloutId, bundle, outcomes, onEvent, cancellationToken).ConfigureAwait(false);
            if (failures > maxFailures)
            {
                var reason = $"{failures} of {rest.Count} rooms failed (threshold {maxFailures})";
                onEvent?.Invoke(new RolloutEvent.Halted(reason));
                return new RolloutResult(outcomes, true, reason);
            }
        }

        return new RolloutResult(outcomes, false, null);
    }

    /// <summary>Sends each room its job and waits until every one has succeeded or failed; returns the failures.</summary>
    private async Task<int> StageAsync(string stage, List<string> rooms, string rolloutId, BundleRef bundle, Dictionary<string, RoomOutcome> outcomes,
        Action<RolloutEvent>? onEvent, CancellationToken cancellationToken)
    {
        onEvent?.Invoke(new RolloutEvent.StageStarted(stage, rooms));
        var jobs = rooms.ToDictionary(r => JobId(rolloutId, r), r => r, StringComparer.Ordinal);
        var pending = new Dictionary<string, TaskCompletionSource<RoomOutcome>>(StringComparer.Ordinal);
        foreach (var r in rooms)
        {
            pending[r] = new TaskCompletionSource<RoomOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        void OnStatus(FleetStatus s)
        {
            if (s.Update is not { } u || !jobs.TryGetValue(u.JobId, out var room) || room != s.Room)
            {
                return;
            }

            onEvent?.Invoke(new RolloutEvent.RoomProgress(room, u));
            RoomOutcome? outcome = u.Phase switch
            {
                UpdatePhase.Succeeded when s.Version == bundle.Version => RoomOutcome.Succeeded,
                UpdatePhase.Failed or UpdatePhase.Refused or UpdatePhase.Cancelled => RoomOutcome.Failed,
                _ => null,
            };
            if (outcome is { } o && pending[room].TrySetResult(o))
            {
                onEvent?.Invoke(new RolloutEvent.RoomFinished(room, o, u.Message));
            }
        }

        admin.StatusReceived += OnStatus;
        try
        {
            var now = time.GetUtcNow();
            foreach (var room in rooms)
            {
                var job = new UpdateJob(JobId(rolloutId, room), now, now.AddDays(7), [room], [], bundle);
                await admin.PublishJobToRoomAsync(room, SignedJob.Create(job, signer), cancellationToken).ConfigureAwait(false);
            }

            foreach (var room in rooms)
            {
                outcomes[room] = await pending[room].Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            admin.StatusReceived -= OnStatus;
        }

        return rooms.Count(r => outcomes[r] == RoomOutcome.Failed);
    }

    public static string JobId(string rolloutId, string room) => $"{rolloutId}/{room}";

    /// <summary>The rooms of <paramref name="group"/> as their retained status says, in a stable order.</summary>
    public static IReadOnlyList<string> RoomsOf(FleetAdminClient admin, string group)
    {
        ArgumentNullException.ThrowIfNull(admin);
        return [.. admin.Rooms.Values.Where(s => s.Groups?.Contains(group) == true).Select(s => s.Room).Order(StringComparer.Ordinal)];
    }
}
