using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Room.Fleet.Channel;
using Room.Fleet.Jobs;
using Room.Fleet.Rollout;
using Room.Testing.Rauc;

namespace Room.Fleet.Tests;

/// <summary>
/// A staged rollout to a group of three simulated rooms (each its own real RAUC, the update agent, the boot check)
/// over mosquitto, with one canary: the canary installs, reboots, reports healthy, then the others follow; a canary
/// that fails its health check halts the rollout and ends on its old slot.
/// </summary>
public sealed class CanaryRolloutTests : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);
    private readonly MosquittoBroker _broker = new();
    private readonly RaucService _signer = new([new("good", "dev", "room-box-amd64", "plain", "1.6.0")]);
    private readonly List<SimulatedRoom> _rooms = [];
    private BundleServer _server = null!;
    private X509Certificate2 _operator = null!;

    public async Task InitializeAsync()
    {
        await _broker.InitializeAsync();
        await _signer.StartAsync();
        _server = await BundleServer.StartAsync(_broker.Pki);
        _server.Content = await File.ReadAllBytesAsync(_signer.Bundle("good"));
        _operator = _broker.Pki.IssueSigner("fleet-operator:alice");
        foreach (var name in MosquittoBroker.RoomNames)
        {
            _rooms.Add(new SimulatedRoom(name, _broker, _signer.Keys, "1.4.0", "floor-2"));
        }

        await Task.WhenAll(_rooms.Select(r => r.StartAsync()));
    }

    private static string Hash(string file) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file)));

    private async Task<(RolloutResult Result, List<RolloutEvent> Events)> RollOutAsync(string id)
    {
        await using var admin = new FleetAdminClient(_broker.Options("fleet-admin:ops"));
        await admin.ConnectAsync(CancellationToken.None);
        // The group's rooms from their retained status.
        var rooms = await WaitForGroupAsync(admin, "floor-2", 3);
        Assert.Equal(MosquittoBroker.RoomNames, rooms);
        var events = new List<RolloutEvent>();
        var result = await new CanaryRollout(admin, _operator, TimeProvider.System)
            .RunAsync(id, _server.Bundle("1.6.0"), rooms, canaryPercent: 33, maxFailures: 0, e => { lock (events) { events.Add(e); } }, CancellationToken.None)
            .WaitAsync(Patience);
        foreach (var r in rooms)
        {
            await admin.ClearRoomJobAsync(r, CancellationToken.None);
        }

        return (result, events);
    }

    private static async Task<IReadOnlyList<string>> WaitForGroupAsync(FleetAdminClient admin, string group, int count)
    {
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        admin.StatusReceived += _ =>
        {
            if (CanaryRollout.RoomsOf(admin, group).Count >= count)
            {
                all.TrySetResult();
            }
        };
        if (CanaryRollout.RoomsOf(admin, group).Count < count)
        {
            await all.Task.WaitAsync(Patience);
        }

        return CanaryRollout.RoomsOf(admin, group);
    }

    [Fact]
    public async Task The_canary_installs_reboots_and_reports_healthy_then_the_others_follow()
    {
        var (result, events) = await RollOutAsync("rollout-1");

        Assert.False(result.Halted, result.HaltReason + ": " + string.Join("; ", events.OfType<RolloutEvent.RoomFinished>()));
        Assert.All(MosquittoBroker.RoomNames, r => Assert.Equal(RoomOutcome.Succeeded, result.Rooms[r]));
        Assert.All(_rooms, r => Assert.Equal("B", r.BootedSlot));
        lock (events)
        {
            // The rest started only after the canary finished healthy.
            var canaryDone = events.FindIndex(e => e is RolloutEvent.RoomFinished { Room: "device:room-1", Outcome: RoomOutcome.Succeeded });
            var restStarted = events.FindIndex(e => e is RolloutEvent.StageStarted { Stage: "rest" });
            Assert.InRange(canaryDone, 0, restStarted - 1);
            Assert.Equal(["device:room-2", "device:room-3"], ((RolloutEvent.StageStarted)events[restStarted]).Rooms);
            Assert.DoesNotContain(events.Take(restStarted), e => e is RolloutEvent.RoomProgress { Room: not "device:room-1" });
        }
    }

    /// <summary>roomctl fleet with the admin's and the signer's certificates in its environment.</summary>
    private async Task<(int Code, string Output, string Error)> RoomctlFleetAsync(params string[] words)
    {
        var admin = _broker.Options("fleet-admin:ops");
        using var signer = _broker.Pki.IssueSigner("fleet-operator:alice");
        string signerCert = Path.Combine(_broker.Dir, "signer.pem"), signerKey = Path.Combine(_broker.Dir, "signer.key");
        await File.WriteAllTextAsync(signerCert, signer.ExportCertificatePem());
        using (var key = signer.GetECDsaPrivateKey()!)
        {
            await File.WriteAllTextAsync(signerKey, key.ExportPkcs8PrivateKeyPem());
        }

        var env = new Dictionary<string, string>
        {
            ["ROOM_FLEET_BROKER"] = $"127.0.0.1:{_broker.Port}",
            ["ROOM_FLEET_CA"] = admin.CaFile,
            ["ROOM_FLEET_CERT"] = admin.CertificateFile,
            ["ROOM_FLEET_KEY"] = admin.KeyFile,
            ["ROOM_FLEET_SIGNER_CERT"] = signerCert,
            ["ROOM_FLEET_SIGNER_KEY"] = signerKey,
        };
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await global::Room.Cli.Fleet.RunAsync(words, false, n => env.GetValueOrDefault(n), TextWriter.Synchronized(output), error, CancellationToken.None)
            .WaitAsync(Patience);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task A_canary_that_fails_its_health_check_halts_the_rollout_and_ends_on_its_old_slot()
    {
        _rooms[0].HealthProblem = "no camera";
        var others = _rooms.Skip(1).Select(r => (Hash(r.Rauc.SlotA), Hash(r.Rauc.SlotB))).ToList();
        await using (var admin = new FleetAdminClient(_broker.Options("fleet-admin:ops")))
        {
            await admin.ConnectAsync(CancellationToken.None);
            await WaitForGroupAsync(admin, "floor-2", 3);
        }

        // roomctl fleet push BUNDLE --url URL --version 1.6.0 --compatible room-box-amd64 --to floor-2 --canary 33%
        var bundle = _signer.Bundle("good");
        var (code, output, error) = await RoomctlFleetAsync("push", bundle, "--url", _server.Bundle().Url.ToString(), "--version", "1.6.0",
            "--compatible", "room-box-amd64", "--to", "floor-2", "--canary", "33%");

        Assert.True(code == 1, $"roomctl fleet push exited {code}: {error}{output}");
        Assert.Contains("canary: device:room-1\n", output, StringComparison.Ordinal);
        Assert.Contains("devices: no camera", output, StringComparison.Ordinal);
        Assert.Contains("halted: 1 of 1 canaries failed; the other 2 rooms were not updated", output, StringComparison.Ordinal);
        Assert.DoesNotContain("rest:", output, StringComparison.Ordinal);
        // The canary went back to its old slot (booted B, failed, marked bad, rebooted into A) ...
        await _rooms[0].BootFinishedAsync(3).WaitAsync(Patience);
        Assert.Equal("A", _rooms[0].BootedSlot);
        // ... and the others were never touched.
        Assert.Equal(others, _rooms.Skip(1).Select(r => (Hash(r.Rauc.SlotA), Hash(r.Rauc.SlotB))).ToList());
        Assert.All(_rooms.Skip(1), r => Assert.Equal(1, r.Boots));

        // roomctl fleet list: the canary online on its old version with the failure; the others untouched.
        var list = await RoomctlFleetAsync("list");
        Assert.Equal(0, list.Code);
        var lines = list.Output.Split('\n');
        Assert.Contains(lines, l => l.StartsWith("device:room-1 ", StringComparison.Ordinal) && l.Contains("online", StringComparison.Ordinal)
            && l.Contains("1.4.0", StringComparison.Ordinal) && l.Contains("slot A", StringComparison.Ordinal) && l.Contains("failed", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("device:room-2 ", StringComparison.Ordinal) && l.Contains("1.4.0", StringComparison.Ordinal) && !l.Contains("rollout", StringComparison.Ordinal));
    }

    public async Task DisposeAsync()
    {
        foreach (var r in _rooms)
        {
            await r.DisposeAsync();
        }

        await _server.DisposeAsync();
        await _broker.DisposeAsync();
    }

    public void Dispose()
    {
        _operator?.Dispose();
        _signer.Dispose();
    }
}
