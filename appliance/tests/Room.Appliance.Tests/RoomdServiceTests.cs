using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Room.Bus;
using Room.Bus.Client;
using Room.Testing;

namespace Room.Appliance.Tests;

/// <summary>roomd as a system service: systemd notify and watchdog, logs, configuration sources, its unit, the network.</summary>
public sealed class RoomdServiceTests : IDisposable
{
    private static readonly TimeSpan s_patience = TimeSpan.FromSeconds(30);
    private readonly PrivateBus _bus = new();

    public void Dispose() => _bus.Dispose();

    private string StateDir => Path.Combine(_bus.Directory, "state");

    /// <summary>
    /// Runs roomd as the child of a process called "systemd" (perl renames itself; perl-base is essential in Debian),
    /// which is how Microsoft.Extensions.Hosting.Systemd recognises a service, with a notify socket as systemd gives one.
    /// </summary>
    private static readonly string[] s_underSystemd =
    [
        "perl", "-e",
        "$0 = 'systemd'; my $pid = fork(); if (!$pid) { exec @ARGV or exit 127 } $SIG{TERM} = sub { kill 'TERM', $pid }; waitpid($pid, 0); exit($? >> 8)",
    ];

    [Fact]
    public async Task Under_systemd_roomd_reports_ready_only_once_on_the_bus_then_feeds_the_watchdog_and_reports_stopping()
    {
        var socketPath = Path.Combine(_bus.Directory, "notify");
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(socketPath));
        var messages = new BlockingCollection<string>();
        using var stop = new CancellationTokenSource();
        var reader = Task.Run(async () =>
        {
            var buffer = new byte[4096];
            while (!stop.IsCancellationRequested)
            {
                var n = await notify.ReceiveAsync(buffer, SocketFlags.None, stop.Token);
                messages.Add(Encoding.UTF8.GetString(buffer, 0, n));
            }
        });

        using var client = await RoomBusClient.ConnectAsync(_bus.Address);
        await using var roomd = RoomdProcess.Start(new RoomdLaunch(_bus.Address, StateDir)
        {
            Prefix = s_underSystemd,
            Environment = new Dictionary<string, string?> { ["NOTIFY_SOCKET"] = socketPath, ["WATCHDOG_USEC"] = "400000" },
        });

        var ready = Next(messages, m => m.Contains("READY=1", StringComparison.Ordinal), roomd);
        Assert.True(await client.IsRoomdPresentAsync(), "READY=1 came before roomd owned its name");
        Next(messages, m => m.Contains("WATCHDOG=1", StringComparison.Ordinal), roomd);
        Next(messages, m => m.Contains("WATCHDOG=1", StringComparison.Ordinal), roomd);

        // Journald's format: a syslog priority in front of each line (<6> = information).
        Assert.Contains(roomd.Log.Split('\n'), l => l.StartsWith("<6>", StringComparison.Ordinal) && l.Contains("roomd serving", StringComparison.Ordinal));

        roomd.Terminate();
        Next(messages, m => m.Contains("STOPPING=1", StringComparison.Ordinal), roomd, exitAllowed: true);
        Assert.Equal(0, await roomd.WaitForExitAsync(s_patience));
        await stop.CancelAsync();
        await reader.ContinueWith(_ => { }, TaskScheduler.Default);
        Assert.NotNull(ready);
    }

    [Fact]
    public async Task Without_the_bus_roomd_never_reports_ready_nor_feeds_the_watchdog_and_exits()
    {
        // WATCHDOG=1 means "serving on the bus": a roomd that cannot reach the bus must never send it.
        var socketPath = Path.Combine(_bus.Directory, "notify");
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(socketPath));
        await using var roomd = RoomdProcess.Start(new RoomdLaunch("unix:path=" + Path.Combine(_bus.Directory, "no-bus-here"), StateDir)
        {
            Prefix = s_underSystemd,
            Environment = new Dictionary<string, string?> { ["NOTIFY_SOCKET"] = socketPath, ["WATCHDOG_USEC"] = "200000" },
        });
        Assert.Equal(1, await roomd.WaitForExitAsync(s_patience));
        Assert.Contains("cannot connect to the bus", roomd.Log, StringComparison.Ordinal);
        var buffer = new byte[4096];
        notify.Blocking = false;
        var received = new List<string>();
        while (notify.Available > 0)
        {
            received.Add(Encoding.UTF8.GetString(buffer, 0, notify.Receive(buffer)));
        }

        Assert.DoesNotContain(received, m => m.Contains("WATCHDOG=1", StringComparison.Ordinal) || m.Contains("READY=1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Json_logs_carry_the_event_fields_separately()
    {
        await using var roomd = await RoomdProcess.StartAsync(_bus.Address, StateDir, "--Logging:Console:FormatterName", "json");
        using var client = await RoomBusClient.ConnectAsync(_bus.Address);
        JsonElement? serving = null;
        var until = DateTime.UtcNow + s_patience;
        while (serving is null && DateTime.UtcNow < until)
        {
            foreach (var line in roomd.Log.Split('\n').Where(l => l.StartsWith('{')))
            {
                using var doc = JsonDocument.Parse(line);
                if (doc.RootElement.GetProperty("Category").GetString() == "Room.Appliance.Hosting.BusHost")
                {
                    serving = doc.RootElement.Clone();
                }
            }

            await Task.Delay(50);
        }

        Assert.NotNull(serving);
        var e = serving.Value;
        Assert.Equal("Information", e.GetProperty("LogLevel").GetString());
        Assert.Equal(BusNames.Service, e.GetProperty("State").GetProperty("Service").GetString());
        Assert.Equal(_bus.Address, e.GetProperty("State").GetProperty("Address").GetString());
        Assert.All(roomd.Log.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => Assert.StartsWith("{", l, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Configuration_comes_from_the_file_then_the_environment_then_the_command_line()
    {
        var file = Path.Combine(_bus.Directory, "room.json");
        await File.WriteAllTextAsync(file, JsonSerializer.Serialize(new
        {
            Room = new { Name = "Aus der Datei", InitialVolume = 11, AdminPin = "1111" },
            Bus = new { Address = _bus.Address },
        }));
        await using var roomd = await RoomdProcess.StartAsync(new RoomdLaunch(null, StateDir)
        {
            WaitAddress = _bus.Address,
            Environment = new Dictionary<string, string?>
            {
                ["ROOM_CONFIG"] = file,
                ["ROOM_Room__InitialVolume"] = "22",
                ["ROOM_Room__AdminPin"] = "2222",
            },
            Args = ["--Room:AdminPin", "3333"],
        });
        using var client = await RoomBusClient.ConnectAsync(_bus.Address);
        var status = await client.GetStatusAsync();
        Assert.False(roomd.HasExited);
        Assert.Equal("Aus der Datei", status.System.RoomName);   // only in the file; the file also named the bus
        Assert.Equal(22u, status.Meeting.Volume);                // environment over file
        Assert.True(await client.CheckAdminPinAsync("3333"));     // command line over environment
        Assert.False(await client.CheckAdminPinAsync("2222"));
    }

    [Fact]
    public async Task An_unreadable_configuration_file_stops_roomd_with_a_clear_message()
    {
        var file = Path.Combine(_bus.Directory, "room.json");
        await File.WriteAllTextAsync(file, "{ \"Room\": { \"Name\": ");
        await using var roomd = RoomdProcess.Start(new RoomdLaunch(_bus.Address, StateDir) { Environment = new Dictionary<string, string?> { ["ROOM_CONFIG"] = file } });
        Assert.NotEqual(0, await roomd.WaitForExitAsync(s_patience));
        Assert.Contains("room.json", roomd.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_shipped_unit_passes_systemd_analyze_verify()
    {
        var unit = Path.Combine(RepoPaths.Root, "appliance/Room.Appliance/deploy/roomd.service");
        var (code, output) = await SystemdUnits.VerifyAsync(unit, "/usr/lib/room/roomd");
        Assert.True(code == 0 && output.Length == 0, $"systemd-analyze verify roomd.service ({code}):\n{output}");
        var lines = await File.ReadAllLinesAsync(unit);
        Assert.Contains("Type=notify", lines);
        Assert.Contains(lines, l => l.StartsWith("WatchdogSec=", StringComparison.Ordinal));
        Assert.Contains("Restart=always", lines);
    }

    [Fact]
    public async Task A_unit_with_a_mistake_fails_the_same_check()
    {
        var bad = Path.Combine(_bus.Directory, "roomd.service");
        await File.WriteAllTextAsync(bad, (await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "appliance/Room.Appliance/deploy/roomd.service")))
            .Replace("Restart=always", "Restart=whenever", StringComparison.Ordinal));
        var (code, output) = await SystemdUnits.VerifyAsync(bad, "/usr/lib/room/roomd");
        Assert.False(code == 0 && output.Length == 0, "the broken unit passed");
        Assert.Contains("whenever", output, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Address_changes_are_announced_as_PropertiesChanged()
    {
        Skip.If(Environment.UserName != "root", "needs root for a network namespace");
        var ns = $"roomaddr{Environment.ProcessId}";
        await Ip("netns", "add", ns);
        try
        {
            await using var roomd = await RoomdProcess.StartAsync(new RoomdLaunch(_bus.Address, StateDir) { Prefix = ["ip", "netns", "exec", ns] });
            using var client = await RoomBusClient.ConnectAsync(_bus.Address);
            var seen = new BlockingCollection<string[]>();
            using var watch = await client.WatchAsync((iface, changed) =>
            {
                if (iface == BusNames.System && changed.TryGetValue("Addresses", out var a))
                {
                    seen.Add(a.GetArray<string>());
                }
            });
            Assert.DoesNotContain((await client.GetStatusAsync()).System.Addresses, a => a.Contains("10.77.0.1", StringComparison.Ordinal));

            await Ip("-n", ns, "link", "add", "rva", "type", "veth", "peer", "name", "rvb");
            await Ip("-n", ns, "link", "set", "rvb", "up");
            await Ip("-n", ns, "link", "set", "rva", "up");
            await Ip("-n", ns, "addr", "add", "10.77.0.1/24", "dev", "rva");
            Next(seen, a => a.Contains("rva 10.77.0.1/24"), roomd);

            await Ip("-n", ns, "addr", "del", "10.77.0.1/24", "dev", "rva");
            Next(seen, a => !a.Any(x => x.Contains("10.77.0.1", StringComparison.Ordinal)), roomd);
        }
        finally
        {
            await Ip("netns", "del", ns);
        }
    }

    [SkippableFact]
    public async Task A_host_name_change_is_announced_as_PropertiesChanged()
    {
        Skip.If(Environment.UserName != "root", "needs root for a UTS namespace");
        // roomd in a UTS namespace of its own, so renaming its host touches nothing else.
        await using var roomd = await RoomdProcess.StartAsync(new RoomdLaunch(_bus.Address, StateDir) { Prefix = ["unshare", "--uts"] });
        using var client = await RoomBusClient.ConnectAsync(_bus.Address);
        var seen = new BlockingCollection<string>();
        using var watch = await client.WatchAsync((iface, changed) =>
        {
            if (iface == BusNames.System && changed.TryGetValue("Hostname", out var h))
            {
                seen.Add(h.GetString());
            }
        });
        var name = $"room-renamed-{Environment.ProcessId}";
        Assert.NotEqual(name, (await client.GetStatusAsync()).System.Hostname);

        var r = await RoomdContractTests.Run("nsenter", "-t", roomd.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "-u", "hostname", name);
        Assert.True(r.Code == 0, r.Err);

        Next(seen, h => h == name, roomd);
        Assert.Equal(name, (await client.GetStatusAsync()).System.Hostname);
    }

    private static T Next<T>(BlockingCollection<T> items, Func<T, bool> match, RoomdProcess roomd, bool exitAllowed = false)
    {
        var until = DateTime.UtcNow + s_patience;
        while (DateTime.UtcNow < until)
        {
            if (items.TryTake(out var item, 100))
            {
                if (match(item))
                {
                    return item;
                }
            }
            else if (!exitAllowed && roomd.HasExited)
            {
                Assert.Fail("roomd exited:\n" + roomd.Log);
            }
        }

        Assert.Fail("never received the expected message; roomd log:\n" + roomd.Log);
        return default!;
    }

    private static async Task Ip(params string[] args)
    {
        var r = await RoomdContractTests.Run(["ip", .. args]);
        Assert.True(r.Code == 0, $"ip {string.Join(' ', args)}: {r.Err}");
    }
}
