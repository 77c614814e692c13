using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Time.Testing;
using Room.Fleet.Channel;
using Room.Fleet.Download;
using Room.Fleet.Install;
using Room.Fleet.Jobs;
using Room.Fleet.Reboot;
using Room.Testing.Rauc;

namespace Room.Fleet.Tests;

/// <summary>
/// After the reboot, with the real RAUC and the tryboot backend over fake firmware files (Room.Testing's RaucService):
/// a healthy new slot is marked good and reported as a success only then; a failed health check or a fallback (also
/// after a power cut) is reported as a failure and the room ends on its old slot. Each test gets its own slots.
/// </summary>
public sealed class BootCheckTests : IAsyncLifetime, IDisposable
{
    private readonly RaucService _rauc = new([new("good", "dev", "room-box-amd64", "plain", "1.6.0")]);
    private readonly string _data = Directory.CreateTempSubdirectory("room-fleet-boot-").FullName;
    private RaucClient _client = null!;
    private int _reboots;

    private UpdateJournal Journal => new(Path.Combine(_data, "journal"));

    private VersionFloor Floor => new(Path.Combine(_data, "floor"));

    public async Task InitializeAsync()
    {
        await _rauc.StartAsync();
        _client = await RaucClient.ConnectAsync(_rauc.BusAddress);
    }

    /// <summary>What the agent does up to the reboot: install into B, journal "rebooting".</summary>
    private async Task InstallAndRebootIntoNewSlotAsync()
    {
        await _client.InstallAsync(_rauc.Bundle("good"), null, CancellationToken.None);
        Journal.Write(new JournalEntry("job-1", "1.6.0", false, "B", "A", JournalPhase.Rebooting));
        await RebootAsync();
    }

    private async Task RebootAsync()
    {
        _client.Dispose();
        await _rauc.RebootAsync();
        _client = await RaucClient.ConnectAsync(_rauc.BusAddress);
    }

    private BootCheck Check(params IHealthCheck[] checks) => new(Journal, _client, Floor, checks, () =>
    {
        _reboots++;
        return Task.CompletedTask;
    });

    private static HealthCheck Healthy(string name) => new HealthCheck(name, _ => Task.FromResult<string?>(null));

    [Fact]
    public async Task A_healthy_new_slot_is_marked_good_and_only_then_reported_as_a_success()
    {
        await InstallAndRebootIntoNewSlotAsync();
        Assert.Equal("B", await _client.GetBootSlotAsync());

        var outcome = await Check(Healthy("roomd"), Healthy("panel")).RunAsync(CancellationToken.None);

        Assert.Equal(UpdatePhase.Succeeded, outcome!.Phase);
        Assert.Equal(BundleVersion.Parse("1.6.0"), Floor.Stored);
        Assert.Equal(JournalPhase.Succeeded, Journal.Read()!.Phase);
        // Committed: a plain reboot (or a power cut) starts B again.
        Assert.Equal("B", await _rauc.RebootAsync());
        Assert.Equal(0, _reboots);
    }

    [Fact]
    public async Task A_new_slot_that_fails_a_health_check_is_marked_bad_and_the_room_ends_on_its_old_slot()
    {
        await InstallAndRebootIntoNewSlotAsync();
        var outcome = await Check(Healthy("roomd"), new HealthCheck("devices", _ => Task.FromResult<string?>("no camera"))).RunAsync(CancellationToken.None);

        Assert.Equal(UpdatePhase.Failed, outcome!.Phase);
        Assert.Contains("devices: no camera", outcome.Message, StringComparison.Ordinal);
        Assert.Equal(1, _reboots);
        Assert.Null(Floor.Stored);

        await RebootAsync(); // the reboot the check asked for
        Assert.Equal("A", await _client.GetBootSlotAsync());
        var after = await Check(Healthy("roomd")).RunAsync(CancellationToken.None);
        Assert.Equal(UpdatePhase.Failed, after!.Phase);
        Assert.Equal(outcome.Message, after.Message);
    }

    [Fact]
    public async Task A_power_cut_during_the_health_checks_falls_back_and_is_reported_as_a_failure()
    {
        await InstallAndRebootIntoNewSlotAsync();
        // Power lost before the checks finished: nothing marked the slot good.
        await RebootAsync();

        Assert.Equal("A", await _client.GetBootSlotAsync());
        var outcome = await Check(Healthy("roomd")).RunAsync(CancellationToken.None);
        Assert.Equal(UpdatePhase.Failed, outcome!.Phase);
        Assert.Contains("did not boot", outcome.Message, StringComparison.Ordinal);
        Assert.Null(Floor.Stored);
    }

    [Fact]
    public async Task A_power_cut_before_the_agent_rebooted_leaves_the_install_waiting_not_failed()
    {
        await _client.InstallAsync(_rauc.Bundle("good"), null, CancellationToken.None);
        Journal.Write(new JournalEntry("job-1", "1.6.0", false, "B", "A", JournalPhase.Installed));
        File.Delete(_rauc.RebootParam); // a power cut: /run's reboot parameter is gone, no tryboot
        await RebootAsync();

        var outcome = await Check(Healthy("roomd")).RunAsync(CancellationToken.None);
        Assert.Equal(UpdatePhase.WaitingForReboot, outcome!.Phase);
        Assert.Equal(JournalPhase.Installed, Journal.Read()!.Phase);
    }

    [Fact]
    public async Task Without_a_journal_there_is_nothing_to_report()
    {
        Assert.Null(await Check(Healthy("roomd")).RunAsync(CancellationToken.None));
        File.WriteAllText(Journal.Path, "{ not json");
        Assert.Null(await Check(Healthy("roomd")).RunAsync(CancellationToken.None));
    }

    private sealed class Room : IRoomActivity
    {
        public bool InMeeting { get; private set; } = true;

        public IReadOnlyList<CalendarMeeting> Calendar => [];

        public event EventHandler? Changed;

        public void EndMeeting()
        {
            InMeeting = false;
            Changed?.Invoke(this, EventArgs.Empty);
        }
    }

    [Fact]
    public async Task The_agent_reboots_into_an_installed_update_only_after_the_call_ends_and_then_reports_success()
    {
        await _client.InstallAsync(_rauc.Bundle("good"), null, CancellationToken.None);
        Journal.Write(new JournalEntry("job-1", "1.6.0", false, "B", "A", JournalPhase.Installed));
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-07T02:30:00Z", CultureInfo.InvariantCulture));
        var policy = new RebootPolicy(new MaintenanceWindow(new TimeOnly(2, 0), TimeSpan.FromHours(2)), TimeZoneInfo.Utc);
        var room = new Room();
        using var http = new HttpClient();
        using var agent = new UpdateAgent(new AgentRoom("device:room-1", [], "room-box-amd64", BundleVersion.Parse("1.4.0")),
            new JobVerifier([], time), new BundleDownloader(http, new DownloadOptions { Directory = Path.Combine(_data, "dl") }, time),
            _client, Floor, Journal);
        var waiting = new TaskCompletionSource<UpdateProgress>(TaskCreationOptions.RunContinuationsAsynchronously);
        agent.Changed += p =>
        {
            if (p.Phase == UpdatePhase.WaitingForReboot)
            {
                waiting.TrySetResult(p);
            }
        };
        var rebooted = false;
        var run = agent.RebootWhenAllowedAsync(new RebootScheduler(policy, room, time), () =>
        {
            rebooted = true;
            return Task.CompletedTask;
        }, CancellationToken.None);

        Assert.Contains("call to end", (await waiting.Task.WaitAsync(TimeSpan.FromSeconds(60))).Message, StringComparison.Ordinal);
        Assert.False(rebooted);
        Assert.Equal(JournalPhase.Installed, Journal.Read()!.Phase);

        room.EndMeeting();
        await run.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(rebooted);
        Assert.Equal(JournalPhase.Rebooting, Journal.Read()!.Phase);
        Assert.Equal(UpdatePhase.Rebooting, agent.Current!.Phase);

        await RebootAsync();
        var outcome = await Check(Healthy("roomd")).RunAsync(CancellationToken.None);
        Assert.Equal(UpdatePhase.Succeeded, outcome!.Phase);
    }

    private sealed class Killed : Exception
    {
    }

    [Fact]
    public async Task An_agent_killed_at_any_step_of_an_install_leaves_the_room_on_its_old_version_reporting_truthfully()
    {
        using var pki = new TestPki(Path.Combine(_data, "pki"));
        await using var server = await BundleServer.StartAsync(pki);
        server.Content = await File.ReadAllBytesAsync(_rauc.Bundle("good"));
        using var signer = pki.IssueSigner("fleet-operator:alice");
        using var http = BundleDownloader.CreateHttpClient(pki.Ca);
        UpdatePhase[] steps = [UpdatePhase.Accepted, UpdatePhase.Downloading, UpdatePhase.Installing, UpdatePhase.WaitingForReboot, UpdatePhase.Rebooting];
        var idle = new RebootPolicy(new MaintenanceWindow(new TimeOnly(0, 0), TimeSpan.FromHours(24)), TimeZoneInfo.Utc);
        for (var i = 0; i < steps.Length; i++)
        {
            var step = steps[i];
            var data = Path.Combine(_data, "kill-" + step);
            var journal = new UpdateJournal(Path.Combine(data, "journal"));
            var floor = new VersionFloor(Path.Combine(data, "floor"));
            UpdateAgent NewAgent() => new(new AgentRoom("device:room-1", [], "room-box-amd64", BundleVersion.Parse("1.4.0")),
                new JobVerifier(new X509Certificate2Collection(pki.Ca), TimeProvider.System),
                new BundleDownloader(http, new DownloadOptions { Directory = Path.Combine(data, "downloads"), ReserveBytes = 0 }, TimeProvider.System),
                _client, floor, journal);
            var now = DateTimeOffset.UtcNow;
            var job = SignedJob.Create(new UpdateJob($"job-kill-{i}", now.AddMinutes(-1), now.AddHours(1), ["device:room-1"], [], server.Bundle("1.6.0")), signer);

            using (var agent = NewAgent())
            {
                agent.StepHook = phase =>
                {
                    if (phase == step)
                    {
                        throw new Killed();
                    }
                };
                await Assert.ThrowsAsync<Killed>(async () =>
                {
                    await agent.HandleAsync(job, CancellationToken.None);
                    await agent.RebootWhenAllowedAsync(new RebootScheduler(idle, new NoActivity(), TimeProvider.System), () => Task.CompletedTask, CancellationToken.None);
                });
            }

            // The power goes (a killed roomd is restarted the same way): /run's reboot parameter is gone, RAUC restarts.
            File.Delete(_rauc.RebootParam);
            await RebootAsync();

            Assert.Equal("A", await _client.GetBootSlotAsync());
            var outcome = await Check(Healthy("roomd")).RunAsync(CancellationToken.None);
            Assert.Null(floor.Stored); // nothing claims the new version
            Assert.True(outcome is null || outcome.Phase is UpdatePhase.WaitingForReboot or UpdatePhase.Failed,
                $"killed at {step}: reported {outcome}");
            if (outcome is { Phase: UpdatePhase.Failed })
            {
                Assert.Contains("runs its old version", outcome.Message, StringComparison.Ordinal);
            }

            // The restarted agent gets the retained job again: it does what a kill before the install interrupted
            // (the download resumes), and leaves a job the journal already holds as it is.
            var pending = journal.Read();
            using var again = NewAgent();
            var second = await again.HandleAsync(job, CancellationToken.None);
            Assert.Equal(pending is null ? UpdatePhase.WaitingForReboot : UpdatePhase.Accepted, second.Phase);
            Assert.Equal("A", await _client.GetBootSlotAsync());
        }
    }

    private sealed class NoActivity : IRoomActivity
    {
        public bool InMeeting => false;

        public IReadOnlyList<CalendarMeeting> Calendar => [];

        public event EventHandler? Changed
        {
            add { }
            remove { }
        }
    }

    public Task DisposeAsync()
    {
        _client.Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _rauc.Dispose();
        Directory.Delete(_data, recursive: true);
    }
}
