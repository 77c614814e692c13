using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using Room.Fleet.Channel;
using Room.Fleet.Download;
using Room.Fleet.Install;
using Room.Fleet.Jobs;
using Room.Fleet.Reboot;
using Room.Testing.Rauc;

namespace Room.Fleet.Tests;

/// <summary>
/// A room box as far as updates go: its own real RAUC service with file-backed slots and the tryboot backend, its data
/// folder (journal, floor, downloads), and roomd's update agent on the fleet channel. After an install it "reboots"
/// (RAUC restarted as the firmware would boot), and at each boot runs the boot check with a health check the test
/// controls, then connects and reports as roomd would. Its running version is the booted slot's bundle version.
/// </summary>
public sealed class SimulatedRoom : IAsyncDisposable
{
    private static readonly RebootPolicy AlwaysOpen = new(new MaintenanceWindow(new TimeOnly(0, 0), TimeSpan.FromHours(24)), TimeZoneInfo.Utc);
    private readonly MosquittoBroker _broker;
    private readonly X509Certificate2Collection _trust;
    private readonly HttpClient _http;
    private readonly string _initialVersion;
    private readonly string[] _groups;
    private RaucClient? _client;
    private FleetChannel? _channel;
    private UpdateAgent? _agent;
    private Task _rebooting = Task.CompletedTask;

    public SimulatedRoom(string name, MosquittoBroker broker, string keysFrom, string initialVersion, params string[] groups)
    {
        Name = name;
        _broker = broker;
        _groups = groups;
        _initialVersion = initialVersion;
        _trust = new X509Certificate2Collection(broker.Pki.Ca);
        _http = BundleDownloader.CreateHttpClient(broker.Pki.Ca);
        Rauc = new RaucService([], keysFrom);
    }

    public string Name { get; }

    public RaucService Rauc { get; }

    public string Data => Path.Combine(Rauc.Dir, "data");

    /// <summary>Set to a problem to make the next boot's health check fail.</summary>
    public string? HealthProblem { get; set; }

    public int Boots { get; private set; }

    private readonly List<(int Boots, TaskCompletionSource Done)> _bootWaiters = [];

    /// <summary>Completes once boot number <paramref name="boots"/> has finished (its check run and reported).</summary>
    public Task BootFinishedAsync(int boots)
    {
        lock (_bootWaiters)
        {
            var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_finishedBoots >= boots)
            {
                tcs.SetResult();
            }
            else
            {
                _bootWaiters.Add((boots, tcs));
            }

            return tcs.Task;
        }
    }

    private int _finishedBoots;

    private void BootFinished()
    {
        lock (_bootWaiters)
        {
            _finishedBoots++;
            foreach (var w in _bootWaiters.Where(w => w.Boots <= _finishedBoots).ToList())
            {
                w.Done.TrySetResult();
                _bootWaiters.Remove(w);
            }
        }
    }

    public async Task StartAsync()
    {
        await Rauc.StartAsync();
        await BootAsync();
    }

    private async Task BootAsync()
    {
        Boots++;
        _client = await RaucClient.ConnectAsync(Rauc.BusAddress);
        var booted = await _client.GetBootSlotAsync();
        var running = (await _client.GetSlotStatusAsync()).FirstOrDefault(s => s.BootName == booted)?.Version ?? _initialVersion;
        var journal = new UpdateJournal(Path.Combine(Data, "journal"));
        var floor = new VersionFloor(Path.Combine(Data, "floor"));
        _agent = new UpdateAgent(new AgentRoom(Name, _groups, "room-box-amd64", BundleVersion.Parse(running)),
            new JobVerifier(_trust, TimeProvider.System),
            new BundleDownloader(_http, new DownloadOptions { Directory = Path.Combine(Data, "downloads"), ReserveBytes = 0 }, TimeProvider.System),
            _client, floor, journal);
        _channel = new FleetChannel(_broker.Options(Name, groups: _groups), NullLogger<FleetChannel>.Instance);
        _agent.Attach(_channel);
        _agent.Changed += p =>
        {
            if (p.Phase == UpdatePhase.WaitingForReboot && _rebooting.IsCompleted)
            {
                _rebooting = Task.Run(RebootIntoUpdateAsync);
            }
        };

        var check = new BootCheck(journal, _client, floor,
            [new HealthCheck("devices", _ => Task.FromResult(HealthProblem))], () => Task.CompletedTask);
        var outcome = await check.RunAsync(CancellationToken.None);
        await _channel.ConnectAsync(await _agent.StatusAsync(), CancellationToken.None);
        if (outcome is not null)
        {
            await _agent.ReportOutcomeAsync(outcome);
            if (outcome.Phase == UpdatePhase.Failed && booted != "A" && (await _client.GetBootSlotAsync()) == booted
                && new UpdateJournal(Path.Combine(Data, "journal")).Read() is { TargetSlot: var t } && t == booted)
            {
                // The check marked the new slot bad and asked for a reboot: the firmware starts the old slot.
                _rebooting = Task.Run(RebootAsync);
            }
        }

        BootFinished();
    }

    private async Task RebootIntoUpdateAsync()
    {
        await _agent!.RebootWhenAllowedAsync(new RebootScheduler(AlwaysOpen, new Idle(), TimeProvider.System), RebootAsync, CancellationToken.None);
    }

    /// <summary>Stops roomd's side (the broker sees the room drop), reboots RAUC as the firmware would, and boots again.</summary>
    private async Task RebootAsync()
    {
        await ShutdownAsync();
        await Rauc.RebootAsync();
        await BootAsync();
    }

    private async Task ShutdownAsync()
    {
        if (_channel is not null)
        {
            await _channel.DisposeAsync();
        }

        _agent?.Dispose();
        _client?.Dispose();
        _channel = null;
        _agent = null;
        _client = null;
    }

    /// <summary>The slot RAUC booted (after any reboots so far).</summary>
    public string BootedSlot => Rauc.BootedSlot;

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _rebooting.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
        }

        await ShutdownAsync();
        _http.Dispose();
        Rauc.Dispose();
    }

    private sealed class Idle : IRoomActivity
    {
        public bool InMeeting => false;

        public IReadOnlyList<CalendarMeeting> Calendar => [];

        public event EventHandler? Changed
        {
            add { }
            remove { }
        }
    }
}
