using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using Room.Fleet.Channel;
using Room.Fleet.Download;
using Room.Fleet.Install;
using Room.Fleet.Jobs;

namespace Room.Fleet.Tests;

/// <summary>
/// The update agent end to end with real parts: a job published by a fleet admin on mosquitto, the bundle fetched from
/// Kestrel over HTTPS, installed by the real RAUC service through its D-Bus API; what the admin sees is the room's
/// retained status. Refusals touch no slot.
/// </summary>
public sealed class UpdateAgentTests(UpdateRig rig) : IClassFixture<UpdateRig>, IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);
    private const string RoomName = "device:room-1";
    private readonly string _data = Directory.CreateTempSubdirectory("room-fleet-agent-").FullName;
    private readonly X509Certificate2 _operator = rig.Broker.Pki.IssueSigner("fleet-operator:alice");
    private RaucClient _rauc = null!;
    private HttpClient _http = null!;
    private UpdateAgent _agent = null!;
    private FleetChannel _channel = null!;
    private FleetAdminClient _admin = null!;
    private readonly List<UpdateProgress> _seen = [];

    private string[] Watched => [rig.Rauc.SlotA, rig.Rauc.SlotB, rig.Rauc.Autoboot, rig.Rauc.RebootParam];

    private static string Hash(string file) => File.Exists(file) ? Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file))) : "(none)";

    private UpdateJournal Journal => new(Path.Combine(_data, "journal"));

    public async Task InitializeAsync()
    {
        _rauc = await RaucClient.ConnectAsync(rig.Rauc.BusAddress);
        _http = BundleDownloader.CreateHttpClient(rig.Broker.Pki.Ca);
        var downloader = new BundleDownloader(_http, new DownloadOptions { Directory = Path.Combine(_data, "downloads"), ReserveBytes = 0 }, TimeProvider.System);
        _agent = new UpdateAgent(new AgentRoom(RoomName, ["floor-2"], "room-box-amd64", BundleVersion.Parse("1.4.0")),
            new JobVerifier(new X509Certificate2Collection(rig.Broker.Pki.Ca), TimeProvider.System),
            downloader, _rauc, new VersionFloor(Path.Combine(_data, "floor")), Journal);
        _agent.Changed += p =>
        {
            lock (_seen)
            {
                _seen.Add(p);
            }
        };
        _channel = new FleetChannel(rig.Broker.Options(RoomName, groups: ["floor-2"]), NullLogger<FleetChannel>.Instance);
        _agent.Attach(_channel);
        await _channel.ConnectAsync(await _agent.StatusAsync(), CancellationToken.None);
        _admin = new FleetAdminClient(rig.Broker.Options("fleet-admin:ops"));
        await _admin.ConnectAsync(CancellationToken.None);
    }

    private UpdateJob Job(string id, string bundle, string version, string compatible = "room-box-amd64")
    {
        var bytes = File.ReadAllBytes(rig.Rauc.Bundle(bundle));
        rig.Server.Content = bytes;
        var now = DateTimeOffset.UtcNow;
        return new UpdateJob(id, now.AddMinutes(-1), now.AddHours(1), [RoomName], [],
            rig.Server.Bundle(version, compatible));
    }

    /// <summary>Publishes the job as the admin and waits until the room's status reports it in a final phase.</summary>
    private async Task<FleetStatus> PushAsync(UpdateJob job)
    {
        var done = new TaskCompletionSource<FleetStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        _admin.StatusReceived += s =>
        {
            if (s.Room == RoomName && s.Update is { } u && u.JobId == job.Id
                && u.Phase is UpdatePhase.Refused or UpdatePhase.Failed or UpdatePhase.WaitingForReboot or UpdatePhase.Succeeded)
            {
                done.TrySetResult(s);
            }
        };
        await _admin.PublishJobToRoomAsync(RoomName, SignedJob.Create(job, _operator), CancellationToken.None);
        return await done.Task.WaitAsync(Patience);
    }

    [Fact]
    public async Task RAUC_installs_a_good_bundle_through_its_DBus_API_and_reports_progress()
    {
        var progress = new List<RaucProgress>();
        await _rauc.InstallAsync(rig.Rauc.Bundle("good"), p => { lock (progress) { progress.Add(p); } }, CancellationToken.None);

        var payload = File.ReadAllBytes(rig.Rauc.Payload);
        Assert.Equal(payload, File.ReadAllBytes(rig.Rauc.SlotB)[..payload.Length]);
        lock (progress)
        {
            Assert.Contains(progress, p => p.Percent == 100);
        }

        var slots = await _rauc.GetSlotStatusAsync();
        Assert.Contains(slots, s => s.Name == "rootfs.1" && s.BootName == "B");
        Assert.Equal("A", await _rauc.GetBootSlotAsync());
    }

    [Fact]
    public async Task A_pushed_job_downloads_and_installs_into_the_other_slot_and_waits_for_the_reboot()
    {
        var slotA = Hash(rig.Rauc.SlotA);
        var status = await PushAsync(Job("job-good", "good", "1.6.0"));

        Assert.Equal(UpdatePhase.WaitingForReboot, status.Update!.Phase);
        Assert.Equal("1.4.0", status.Version); // still running the old version until the reboot
        var payload = File.ReadAllBytes(rig.Rauc.Payload);
        Assert.Equal(payload, File.ReadAllBytes(rig.Rauc.SlotB)[..payload.Length]);
        Assert.Equal(slotA, Hash(rig.Rauc.SlotA));
        Assert.Equal("0 tryboot", File.ReadAllText(rig.Rauc.RebootParam).Trim());
        var entry = Journal.Read();
        Assert.Equal(new JournalEntry("job-good", "1.6.0", false, "B", "A", JournalPhase.Installed), entry);
        lock (_seen)
        {
            Assert.Equal([UpdatePhase.Accepted, UpdatePhase.Downloading, UpdatePhase.Installing, UpdatePhase.WaitingForReboot],
                _seen.Select(p => p.Phase).Distinct());
        }

        Assert.Empty(Directory.GetFiles(Path.Combine(_data, "downloads"))); // the bundle is not kept after the install
    }

    // The agent refuses what its job says (downgrade, another board) before downloading; RAUC refuses what the bundle
    // itself is (a broken signature; a manifest for another board although the job claims this one, the signer erred).
    [Theory]
    [InlineData("job-tampered", "tampered", "1.6.0", "room-box-amd64", UpdatePhase.Failed, "signature verification failed", false)]
    [InlineData("job-arm-lying", "arm", "1.6.0", "room-box-amd64", UpdatePhase.Failed, "compatible", false)]
    [InlineData("job-old", "old", "1.0.0", "room-box-amd64", UpdatePhase.Refused, "not-newer:", true)]
    [InlineData("job-arm", "arm", "1.6.0", "room-box-arm64-rpi4", UpdatePhase.Refused, "wrong-compatible:", true)]
    public async Task A_job_that_must_not_install_is_refused_and_reported_with_no_slot_touched(
        string id, string bundle, string version, string compatible, UpdatePhase phase, string reason, bool refusedBeforeDownload)
    {
        var before = Watched.Select(Hash).ToArray();
        var requests = rig.Server.Ranges.Count;
        var status = await PushAsync(Job(id, bundle, version, compatible));

        Assert.Equal(phase, status.Update!.Phase);
        Assert.Contains(reason, status.Update.Message, StringComparison.OrdinalIgnoreCase);
        if (refusedBeforeDownload)
        {
            Assert.Equal(requests, rig.Server.Ranges.Count);
        }

        Assert.Equal(before, Watched.Select(Hash).ToArray());
        Assert.Null(Journal.Read());
        Assert.Equal("1.4.0", status.Version);
    }

    [Fact]
    public async Task A_forged_job_is_refused_and_reported()
    {
        using var other = new TestPki(Path.Combine(_data, "mallory"), "Mallory CA");
        using var mallory = other.IssueSigner("fleet-admin:mallory");
        var done = new TaskCompletionSource<FleetStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        _admin.StatusReceived += s =>
        {
            if (s.Room == RoomName && s.Update is { Phase: UpdatePhase.Refused } u && u.Message!.StartsWith("untrusted-signer", StringComparison.Ordinal))
            {
                done.TrySetResult(s);
            }
        };
        var before = Watched.Select(Hash).ToArray();
        await _admin.PublishJobToRoomAsync(RoomName, SignedJob.Create(Job("job-forged", "good", "1.6.0"), mallory), CancellationToken.None);
        var status = await done.Task.WaitAsync(Patience);
        Assert.Equal("", status.Update!.JobId); // nothing from an unverified job is repeated as fact
        Assert.Equal(before, Watched.Select(Hash).ToArray());
    }

    public async Task DisposeAsync()
    {
        await _admin.ClearRoomJobAsync(RoomName, CancellationToken.None);
        await _admin.DisposeAsync();
        await _channel.DisposeAsync();
        _agent.Dispose();
        _rauc.Dispose();
        _http.Dispose();
    }

    public void Dispose()
    {
        _operator.Dispose();
        Directory.Delete(_data, recursive: true);
    }
}
