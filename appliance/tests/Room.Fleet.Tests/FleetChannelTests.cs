using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;
using Room.Fleet.Channel;

namespace Room.Fleet.Tests;

/// <summary>The fleet channel against a real mosquitto with mutual TLS and the shipped ACL.</summary>
public sealed class FleetChannelTests(MosquittoBroker broker) : IClassFixture<MosquittoBroker>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private FleetChannel Room(string identity, int? port = null, IEnumerable<string>? groups = null) =>
        new(broker.Options(identity, port, groups), NullLogger<FleetChannel>.Instance);

    private async Task<FleetAdminClient> AdminAsync()
    {
        var admin = new FleetAdminClient(broker.Options("fleet-admin:ops"));
        await admin.ConnectAsync(CancellationToken.None);
        return admin;
    }

    /// <summary>Waits until the admin has seen a status of <paramref name="room"/> that matches.</summary>
    private static async Task<FleetStatus> StatusAsync(FleetAdminClient admin, string room, Func<FleetStatus, bool> match)
    {
        var seen = new TaskCompletionSource<FleetStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnStatus(FleetStatus s)
        {
            if (s.Room == room && match(s))
            {
                seen.TrySetResult(s);
            }
        }

        admin.StatusReceived += OnStatus;
        try
        {
            if (admin.Rooms.TryGetValue(room, out var now) && match(now))
            {
                return now;
            }

            return await seen.Task.WaitAsync(Patience);
        }
        finally
        {
            admin.StatusReceived -= OnStatus;
        }
    }

    [Fact]
    public async Task A_rooms_status_is_retained_for_an_admin_who_connects_later()
    {
        await using (var room = Room("device:room-1"))
        {
            var mine = new FleetStatus("ignored", true, "1.4.0-retained", "room-box-amd64", "A");
            await room.ConnectAsync(mine, CancellationToken.None);
            Assert.Equal("device:room-1", room.Room);
            await room.DisconnectAsync(mine, CancellationToken.None);
        }

        // The room has gone (cleanly: it said offline itself); an admin who connects now still learns its last status.
        await using var admin = await AdminAsync();
        var status = await StatusAsync(admin, "device:room-1", s => s.Version == "1.4.0-retained");
        Assert.False(status.Online);
        Assert.Equal("A", status.BootedSlot);
        Assert.Equal("room-box-amd64", status.Compatible);
    }

    [Fact]
    public async Task An_abrupt_disconnect_leaves_the_last_will_offline_retained()
    {
        await using var admin = await AdminAsync();
        using var relay = new TcpRelay(broker.Port);
        await using var room = Room("device:room-2", relay.Port);
        await room.ConnectAsync(new FleetStatus("device:room-2", true, "2.0.0-will"), CancellationToken.None);
        var online = await StatusAsync(admin, "device:room-2", s => s.Version == "2.0.0-will" && s.Online);
        Assert.True(online.Online);

        relay.CutAll(); // no DISCONNECT: the broker sees the socket die

        var offline = await StatusAsync(admin, "device:room-2", s => s.Version == "2.0.0-will" && !s.Online);
        Assert.False(offline.Online);
        // Retained: an admin who connects afterwards sees the room offline too.
        await using var later = await AdminAsync();
        Assert.False((await StatusAsync(later, "device:room-2", s => s.Version == "2.0.0-will")).Online);
    }

    [Fact]
    public async Task A_room_whose_broker_disappears_reports_offline_then_comes_back_by_itself()
    {
        await using var admin = await AdminAsync();
        using var relay = new TcpRelay(broker.Port);
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var room = Room("device:room-2", relay.Port);
        var retries = new List<TimeSpan>();
        var retrying = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        room.Retrying += (delay, _) =>
        {
            lock (retries)
            {
                retries.Add(delay);
            }

            retrying.TrySetResult();
        };
        using var stop = new CancellationTokenSource();
        var run = room.RunAsync(() => Task.FromResult(new FleetStatus("device:room-2", true, "2.2.0-back")), time, stop.Token);
        await StatusAsync(admin, "device:room-2", s => s.Version == "2.2.0-back" && s.Online);

        relay.Refusing = true; // the broker is gone: the connection drops and new ones fail
        relay.CutAll();
        await StatusAsync(admin, "device:room-2", s => s.Version == "2.2.0-back" && !s.Online);
        await retrying.Task.WaitAsync(Patience);

        relay.Refusing = false; // back
        lock (retries)
        {
            time.Advance(retries[^1]);
        }

        await StatusAsync(admin, "device:room-2", s => s.Version == "2.2.0-back" && s.Online);
        lock (retries)
        {
            Assert.InRange(retries[0], TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));
        }

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
    }

    [Fact]
    public async Task A_room_cannot_publish_under_another_rooms_topics()
    {
        await using var admin = await AdminAsync();
        await using var victim = Room("device:room-2");
        await victim.ConnectAsync(new FleetStatus("device:room-2", true, "2.1.0-victim"), CancellationToken.None);
        await StatusAsync(admin, "device:room-2", s => s.Version == "2.1.0-victim");

        await using var intruder = Room("device:room-1");
        await intruder.ConnectAsync(new FleetStatus("device:room-1", true, "1.0.0-intruder"), CancellationToken.None);
        var forged = new FleetStatus("device:room-2", false, "6.6.6-forged").ToJson();
        var onStatus = await Assert.ThrowsAsync<FleetPublishException>(() =>
            intruder.PublishRawAsync(FleetTopics.Status("device:room-2"), forged, retain: true, CancellationToken.None));
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, onStatus.Code);
        var onJobs = await Assert.ThrowsAsync<FleetPublishException>(() =>
            intruder.PublishRawAsync(FleetTopics.Jobs("device:room-2"), forged, retain: true, CancellationToken.None));
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, onJobs.Code);
        await Assert.ThrowsAsync<FleetPublishException>(() =>
            intruder.PublishRawAsync(FleetTopics.GroupJobs("floor-2"), forged, retain: true, CancellationToken.None));

        // The intruder's own status still goes through; the admin sees it after anything the broker took before it,
        // and room-2's status is still its own.
        await intruder.PublishStatusAsync(new FleetStatus("device:room-1", true, "1.0.1-after"), CancellationToken.None);
        await StatusAsync(admin, "device:room-1", s => s.Version == "1.0.1-after");
        Assert.Equal("2.1.0-victim", admin.Rooms["device:room-2"].Version);
        Assert.True(admin.Rooms["device:room-2"].Online);
    }

    [Fact]
    public async Task A_room_cannot_read_another_rooms_jobs()
    {
        await using var admin = await AdminAsync();
        await using var snoop = Room("device:room-1");
        var delivered = new List<(string Topic, string Payload)>();
        var ownJob = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        snoop.RawMessageReceived += (topic, payload) =>
        {
            var text = System.Text.Encoding.UTF8.GetString(payload);
            lock (delivered)
            {
                delivered.Add((topic, text));
            }

            if (text == "own-job")
            {
                ownJob.TrySetResult();
            }
        };
        await snoop.ConnectAsync(new FleetStatus("device:room-1", true, "1.0.0"), CancellationToken.None);

        // mosquitto 2.0 grants these subscriptions (newer ones refuse them); either way its ACL must deliver nothing.
        foreach (var filter in new[] { FleetTopics.Jobs("device:room-2"), "room/v1/rooms/+/jobs", "room/v1/#", "#", FleetTopics.GroupJobs("lab") })
        {
            try
            {
                await snoop.SubscribeRawAsync(filter, CancellationToken.None);
            }
            catch (FleetSubscribeException e)
            {
                Assert.Equal(MqttClientSubscribeResultCode.NotAuthorized, e.Code);
            }
        }

        await admin.PublishJobToRoomAsync("device:room-2", "room-2-secret"u8.ToArray(), CancellationToken.None);
        await admin.PublishJobToGroupAsync("lab", "lab-secret"u8.ToArray(), CancellationToken.None);
        await admin.PublishJobToRoomAsync("device:room-1", "own-job"u8.ToArray(), CancellationToken.None);
        await ownJob.Task.WaitAsync(Patience);
        lock (delivered)
        {
            Assert.Contains(delivered, d => d.Payload == "own-job");
            Assert.DoesNotContain(delivered, d => d.Payload is "room-2-secret" or "lab-secret");
            Assert.DoesNotContain(delivered, d => d.Topic.Contains("room-2", StringComparison.Ordinal) || d.Topic.Contains("lab", StringComparison.Ordinal));
        }

        await admin.ClearRoomJobAsync("device:room-1", CancellationToken.None);
        await admin.ClearRoomJobAsync("device:room-2", CancellationToken.None);
    }

    [Fact]
    public async Task A_room_gets_the_jobs_of_its_groups_and_only_those()
    {
        await using var admin = await AdminAsync();
        var got = new Dictionary<string, List<string>>();
        var rooms = new List<FleetChannel>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        string[][] groups = [["floor-2"], ["floor-2"], ["floor-2", "lab"]];
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var name = MosquittoBroker.RoomNames[i];
                var room = Room(name, groups: groups[i]);
                got[name] = [];
                room.JobReceived += j =>
                {
                    lock (got)
                    {
                        got[name].Add(System.Text.Encoding.UTF8.GetString(j.Document));
                        if (got.Values.All(l => l.Contains("end")))
                        {
                            done.TrySetResult();
                        }
                    }

                    return Task.CompletedTask;
                };
                await room.ConnectAsync(new FleetStatus(name, true, "3.0.0"), CancellationToken.None);
                rooms.Add(room);
            }

            await admin.PublishJobToGroupAsync("lab", "lab-job"u8.ToArray(), CancellationToken.None);
            await admin.PublishJobToGroupAsync("floor-2", "floor-job"u8.ToArray(), CancellationToken.None);
            foreach (var name in MosquittoBroker.RoomNames)
            {
                await admin.PublishJobToRoomAsync(name, "end"u8.ToArray(), CancellationToken.None);
            }

            await done.Task.WaitAsync(Patience);
            lock (got)
            {
                Assert.Equal(["floor-job", "end"], got["device:room-1"]);
                Assert.Equal(["floor-job", "end"], got["device:room-2"]);
                Assert.Equal(["lab-job", "floor-job", "end"], got["device:room-3"]);
            }
        }
        finally
        {
            foreach (var r in rooms)
            {
                await r.DisposeAsync();
            }

            foreach (var name in MosquittoBroker.RoomNames)
            {
                await admin.ClearRoomJobAsync(name, CancellationToken.None);
            }

            await admin.PublishJobToGroupAsync("lab", [], CancellationToken.None);
            await admin.PublishJobToGroupAsync("floor-2", [], CancellationToken.None);
        }
    }

    [Fact]
    public async Task A_client_whose_certificate_is_from_another_CA_is_refused()
    {
        using var foreign = new TestPki(Path.Combine(broker.Dir, "foreign"), "Foreign CA");
        var (cert, key) = foreign.IssueClient("device:room-1");
        var options = broker.Options("device:room-1");
        options.CertificateFile = cert;
        options.KeyFile = key;
        await using var room = new FleetChannel(options, NullLogger<FleetChannel>.Instance);
        await Assert.ThrowsAnyAsync<Exception>(() => room.ConnectAsync(new FleetStatus("device:room-1", true, "9.9.9-foreign"), CancellationToken.None));
        Assert.False(room.IsConnected);
    }

    [Fact]
    public async Task A_broker_whose_certificate_is_not_from_the_fleet_CA_is_refused()
    {
        using var foreign = new TestPki(Path.Combine(broker.Dir, "foreign-trust"), "Other CA");
        var options = broker.Options("device:room-1");
        options.CaFile = foreign.CaFile; // the room trusts another CA than the broker's
        await using var room = new FleetChannel(options, NullLogger<FleetChannel>.Instance);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => room.ConnectAsync(new FleetStatus("device:room-1", true, "9.9.9-mitm"), CancellationToken.None));
        Assert.Contains("is not trusted", e.Message, StringComparison.Ordinal);
        Assert.Contains("Other CA", e.Message, StringComparison.Ordinal);
        Assert.False(room.IsConnected);
    }

    private static async Task<(int Code, string Output, string Error)> RoomctlFleetAsync(IReadOnlyDictionary<string, string> env, params string[] words)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await global::Room.Cli.Fleet.RunAsync(words, false, n => env.GetValueOrDefault(n), output, error, CancellationToken.None).WaitAsync(Patience);
        return (code, output.ToString(), error.ToString());
    }

    private Dictionary<string, string> AdminEnv()
    {
        var admin = broker.Options("fleet-admin:ops");
        return new()
        {
            ["ROOM_FLEET_BROKER"] = $"127.0.0.1:{broker.Port}",
            ["ROOM_FLEET_CA"] = admin.CaFile,
            ["ROOM_FLEET_CERT"] = admin.CertificateFile,
            ["ROOM_FLEET_KEY"] = admin.KeyFile,
        };
    }

    [Fact]
    public async Task Roomctl_fleet_list_shows_each_rooms_retained_status()
    {
        await using (var room = Room("device:room-3", groups: ["lab"]))
        {
            await room.ConnectAsync(new FleetStatus("device:room-3", true, "3.1.4", "room-box-amd64", "B"), CancellationToken.None);
        }

        var (code, output, error) = await RoomctlFleetAsync(AdminEnv(), "list");
        Assert.True(code == 0, error);
        Assert.Contains(output.Split('\n'), l => l.StartsWith("device:room-3 ", StringComparison.Ordinal) && l.Contains("3.1.4", StringComparison.Ordinal)
            && l.Contains("slot B", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("push", "b.raucb", "--url", "http://plain.test/b", "--version", "1.6.0", "--compatible", "c", "--to", "g")]
    [InlineData("push", "b.raucb", "--url", "https://a.test/b", "--version", "one", "--compatible", "c", "--to", "g")]
    [InlineData("push", "b.raucb", "--url", "https://a.test/b", "--version", "1.6.0", "--compatible", "c", "--to", "g", "--canary", "0%")]
    [InlineData("push", "b.raucb", "--url", "https://a.test/b", "--version", "1.6.0", "--compatible", "c")]
    [InlineData("push", "b.raucb", "--url", "https://a.test/b", "--version", "1.6.0", "--compatible", "c", "--to", "a/b")]
    [InlineData("push", "b.raucb", "--frobnicate")]
    [InlineData("rollback")]
    public async Task Roomctl_fleet_refuses_bad_usage_with_exit_2_and_publishes_nothing(params string[] words)
    {
        var (code, output, error) = await RoomctlFleetAsync(AdminEnv(), words);
        Assert.Equal(2, code);
        Assert.StartsWith("roomctl: ", error, StringComparison.Ordinal);
        Assert.DoesNotContain("rollout-", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Roomctl_fleet_without_its_environment_says_what_is_missing()
    {
        var (code, _, error) = await RoomctlFleetAsync(new Dictionary<string, string>(), "list");
        Assert.Equal(2, code);
        Assert.Contains("ROOM_FLEET_BROKER", error, StringComparison.Ordinal);
    }
}
