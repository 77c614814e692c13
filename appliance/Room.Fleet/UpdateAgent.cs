using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Room.Fleet.Channel;
using Room.Fleet.Download;
using Room.Fleet.Install;
using Room.Fleet.Jobs;
using Room.Fleet.Reboot;

namespace Room.Fleet;

/// <summary>What the agent needs to know about the room it runs on.</summary>
public sealed record AgentRoom(string Room, IReadOnlyCollection<string> Groups, string Compatible, BundleVersion Running);

/// <summary>
/// The update agent: takes a job (from the fleet channel), refuses it before anything is touched when it is malformed,
/// forged, not for this room, for another compatible or not newer than the floor (unless an admin-signed rollback);
/// otherwise downloads the bundle to the data partition and installs it into the inactive slot through RAUC, which
/// checks its signature and compatible again. Each step is reported as <see cref="Current"/> (roomd's Update interface)
/// and, with a channel, in the room's retained status. A failed step leaves the room on its running version.
/// </summary>
public sealed class UpdateAgent : IDisposable
{
    private readonly AgentRoom _room;
    private readonly JobVerifier _verifier;
    private readonly BundleDownloader _downloader;
    private readonly RaucClient _rauc;
    private readonly VersionFloor _floor;
    private readonly UpdateJournal _journal;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _busy = new(1, 1);
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private readonly UpdateStatusBoard? _board;
    private FleetChannel? _channel;
    private int _lastPublishedPercent = -1;

    public UpdateAgent(AgentRoom room, JobVerifier verifier, BundleDownloader downloader, RaucClient rauc, VersionFloor floor,
        UpdateJournal journal, ILogger<UpdateAgent>? logger = null, UpdateStatusBoard? board = null)
    {
        _board = board;
        _room = room;
        _verifier = verifier;
        _downloader = downloader;
        _rauc = rauc;
        _floor = floor;
        _journal = journal;
        _logger = logger ?? NullLogger<UpdateAgent>.Instance;
    }

    /// <summary>The last job's progress (null before any).</summary>
    public UpdateProgress? Current { get; private set; }

    /// <summary>Raised after <see cref="Current"/> changed.</summary>
    public event Action<UpdateProgress>? Changed;

    /// <summary>Takes jobs from <paramref name="channel"/> and reports there.</summary>
    public void Attach(FleetChannel channel)
    {
        ArgumentNullException.ThrowIfNull(channel);
        _channel = channel;
        channel.JobReceived += job => HandleAsync(job.Document, CancellationToken.None);
    }

    /// <summary>The room's status as of now (version, compatible, slots, update progress).</summary>
    public async Task<FleetStatus> StatusAsync()
    {
        IReadOnlyList<SlotState>? slots = null;
        string? booted = null;
        try
        {
            slots = await _rauc.GetSlotStatusAsync().ConfigureAwait(false);
            booted = await _rauc.GetBootSlotAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is Tmds.DBus.Protocol.DBusErrorReplyException or Tmds.DBus.Protocol.DBusConnectionException or ObjectDisposedException)
        {
            _logger.LogWarning("RAUC's slot status is not available: {Error}", e.Message);
        }

        return new FleetStatus(_room.Room, true, _room.Running.ToString(), _room.Compatible, booted, slots, null, Current);
    }

    /// <summary>Handles one job document; returns the final progress (also reported).</summary>
    public async Task<UpdateProgress> HandleAsync(byte[] document, CancellationToken cancellationToken)
    {
        await _busy.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var floor = _floor.Current(_room.Running);
            var (verified, refusal) = _verifier.Verify(document, new RoomIdentity(_room.Room, _room.Groups, _room.Compatible, _room.Running, floor));
            // A retained job delivered again (a reconnect, the boot after its install): it was handled already, and
            // checking it again (now against the raised floor) must not overwrite its outcome.
            var id = verified?.Job.Id ?? refusal!.JobId;
            if (id is not null && (_seen.Contains(id) || _journal.Read()?.JobId == id))
            {
                return Current ?? new UpdateProgress(id, UpdatePhase.Accepted, 0, "already handled");
            }

            if (refusal is not null)
            {
                if (refusal.JobId is not null)
                {
                    _seen.Add(refusal.JobId);
                }

                _logger.LogWarning("Update job refused: {Refusal}", refusal);
                return await ReportAsync(new UpdateProgress(refusal.JobId ?? "", UpdatePhase.Refused, 0, refusal.ToString())).ConfigureAwait(false);
            }

            var job = verified!.Job;
            _seen.Add(job.Id);

            _logger.LogInformation("Update job {Job} from {Signer}: {Version} from {Url}", job.Id, verified.Signer, job.Bundle.Version, job.Bundle.Url);
            await ReportAsync(new UpdateProgress(job.Id, UpdatePhase.Accepted, 0, $"version {job.Bundle.Version} signed by {verified.Signer}")).ConfigureAwait(false);
            string bundle;
            try
            {
                bundle = await _downloader.DownloadAsync(job.Bundle, e =>
                {
                    if (e is DownloadEvent.Progress p)
                    {
                        if (p.Bytes * 2 >= p.Total)
                        {
                            StepHook?.Invoke(UpdatePhase.Downloading); // tests: killed half-way through the download
                        }

                        _ = ReportAsync(new UpdateProgress(job.Id, UpdatePhase.Downloading, (int)(p.Bytes * 100 / p.Total)), throttle: true);
                    }
                }, cancellationToken).ConfigureAwait(false);
            }
            catch (DownloadException e)
            {
                return await ReportAsync(new UpdateProgress(job.Id, UpdatePhase.Failed, 0, $"download: {e.Error}: {e.Message}")).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return await ReportAsync(new UpdateProgress(job.Id, UpdatePhase.Cancelled, 0, "cancelled during the download")).ConfigureAwait(false);
            }

            var previous = await _rauc.GetBootSlotAsync().ConfigureAwait(false);
            await ReportAsync(new UpdateProgress(job.Id, UpdatePhase.Installing, 0)).ConfigureAwait(false);
            try
            {
                await _rauc.InstallAsync(bundle, p => _ = ReportAsync(new UpdateProgress(job.Id, UpdatePhase.Installing, p.Percent, p.Message), throttle: true),
                    cancellationToken).ConfigureAwait(false);
            }
            catch (RaucInstallException e)
            {
                _downloader.Discard(job.Bundle);
                return await ReportAsync(new UpdateProgress(job.Id, UpdatePhase.Failed, 0, "install refused by RAUC: " + e.Message)).ConfigureAwait(false);
            }

            _downloader.Discard(job.Bundle);
            _journal.Write(new JournalEntry(job.Id, job.Bundle.Version, job.Rollback, previous == "A" ? "B" : "A", previous, JournalPhase.Installed));
            return await ReportAsync(new UpdateProgress(job.Id, UpdatePhase.WaitingForReboot, 100, $"version {job.Bundle.Version} installed; reboots in the maintenance window")).ConfigureAwait(false);
        }
        finally
        {
            _busy.Release();
        }
    }

    /// <summary>
    /// With an installed update pending: waits until the reboot policy allows it (reporting why it waits), writes
    /// "rebooting" to the journal, and reboots. Returns at once when nothing is pending.
    /// </summary>
    public async Task RebootWhenAllowedAsync(RebootScheduler scheduler, Func<Task> reboot, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        ArgumentNullException.ThrowIfNull(reboot);
        if (_journal.Read() is not { Phase: JournalPhase.Installed } entry)
        {
            return;
        }

        await scheduler.WaitForSlotAsync(d =>
        {
            if (d is RebootDecision.Wait w)
            {
                var why = w.Reason switch
                {
                    RebootBlock.InMeeting => "waiting for the call to end",
                    RebootBlock.CalendarMeetingNear => "a calendar meeting is near",
                    _ => "waiting for the maintenance window",
                };
                _ = ReportAsync(new UpdateProgress(entry.JobId, UpdatePhase.WaitingForReboot, 100,
                    w.NotBefore is { } t ? $"{why}; reboots at {t:u} at the earliest" : why));
            }
        }, cancellationToken).ConfigureAwait(false);
        _journal.Write(entry with { Phase = JournalPhase.Rebooting });
        await ReportAsync(new UpdateProgress(entry.JobId, UpdatePhase.Rebooting, 100, $"rebooting into version {entry.Version}")).ConfigureAwait(false);
        await reboot().ConfigureAwait(false);
    }

    /// <summary>Reports an outcome found outside a job (the boot check's after a reboot).</summary>
    public Task<UpdateProgress> ReportOutcomeAsync(UpdateProgress progress) => ReportAsync(progress);

    /// <summary>Called at each reported step (and once half of the download is in); tests throw from it to kill the agent there.</summary>
    internal Action<UpdatePhase>? StepHook { get; set; }

    /// <summary>Publishes <paramref name="progress"/> (throttled ones only at 10 % steps) and returns it.</summary>
    private async Task<UpdateProgress> ReportAsync(UpdateProgress progress, bool throttle = false)
    {
        if (throttle && progress.Percent / 10 == _lastPublishedPercent / 10 && Current?.Phase == progress.Phase)
        {
            return progress;
        }

        if (!throttle)
        {
            StepHook?.Invoke(progress.Phase);
        }

        _lastPublishedPercent = progress.Percent;
        Current = progress;
        Changed?.Invoke(progress);
        _board?.Post(progress);
        if (_channel is { IsConnected: true } channel)
        {
            try
            {
                await channel.PublishStatusAsync(await StatusAsync().ConfigureAwait(false), CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is FleetPublishException or MQTTnet.Exceptions.MqttCommunicationException or InvalidOperationException)
            {
                _logger.LogWarning("Fleet status not published: {Error}", e.Message);
            }
        }

        return progress;
    }

    public void Dispose() => _busy.Dispose();
}
