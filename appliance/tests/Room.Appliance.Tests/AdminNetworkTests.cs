using Room.Bus;
using Room.Bus.Client;
using Room.Testing;
using Room.Testing.Network;

namespace Room.Appliance.Tests;

/// <summary>
/// Network settings through roomd's Admin interface, applied by a real systemd-networkd in a network namespace of the
/// test's own (roomd runs in it too, as on the box) and read back from the kernel.
/// </summary>
public sealed class AdminNetworkTests
{
    private static string[] NetworkdArgs(NetworkdLab lab) =>
    [
        "--Admin:Network", "networkd",
        "--Admin:NetworkInterface", NetworkdLab.RoomInterface,
        "--Admin:NetworkConfigDirectory", lab.ConfigDirectory,
        "--Admin:NetworkBus", lab.BusAddress,
    ];

    private static Task<RoomdProcess> StartRoomdAsync(NetworkdLab lab) =>
        RoomdProcess.StartAsync(new RoomdLaunch(lab.BusAddress, Path.Combine(lab.Directory, "state"))
        {
            Args = NetworkdArgs(lab),
            Prefix = ["ip", "netns", "exec", lab.RoomNamespace],
        });

    [Fact]
    public async Task A_static_address_set_through_Admin_is_applied_by_networkd_and_DHCP_takes_over_again()
    {
        using var lab = await NetworkdLab.StartAsync(dhcpServer: true);
        var n = lab.Subnet;
        var file = Path.Combine(lab.ConfigDirectory, $"10-room-{NetworkdLab.RoomInterface}.network");
        await using (var roomd = await StartRoomdAsync(lab))
        {
            using var client = await RoomBusClient.ConnectAsync(lab.BusAddress);
            var announced = new System.Collections.Concurrent.ConcurrentQueue<(string Name, string Value)>();
            using var watch = await client.WatchAsync((iface, changed) =>
            {
                if (iface == BusNames.Admin)
                {
                    foreach (var (name, value) in changed)
                    {
                        announced.Enqueue((name, name is "NetworkAddresses" or "NetworkDns" ? string.Join(' ', value.GetArray<string>()) : value.ToString()));
                    }
                }
            });
            var before = (await client.GetStatusAsync()).Admin.Network;
            Assert.Equal(("systemd-networkd", NetworkdLab.RoomInterface, ""), (before.Service, before.Interface, before.Mode));

            await client.SetNetworkAsync("static", $"10.215.{n}.5", 24, lab.PeerAddress, [lab.PeerAddress]);
            var addresses = await lab.WaitForAddressesAsync(a => a.Contains($"10.215.{n}.5/24"), "static address");
            Assert.Equal([$"10.215.{n}.5/24"], addresses);
            Assert.Equal(lab.PeerAddress, lab.RoomDefaultGateway());
            var set = (await client.GetStatusAsync()).Admin.Network;
            Assert.Equal(("static", $"10.215.{n}.5/24", lab.PeerAddress), (set.Mode, set.Address, set.Gateway));
            Assert.Equal([lab.PeerAddress], set.Dns);
            Assert.Contains($"10.215.{n}.5/24", set.Addresses);
            Assert.Contains($"Address=10.215.{n}.5/24", await File.ReadAllTextAsync(file), StringComparison.Ordinal);
            // Announced as PropertiesChanged: the setting at once, the kernel's address when it came.
            await WaitAsync(() => announced.Any(a => a.Name == "NetworkMode") && announced.Any(a => a.Name == "NetworkAddresses" && a.Value.Contains($"10.215.{n}.5/24", StringComparison.Ordinal)),
                () => "PropertiesChanged for NetworkMode and NetworkAddresses: " + string.Join("; ", announced));

            var shown = await CliProcess.RunAsync(lab.BusAddress, "admin");
            Assert.Contains($"network     {NetworkdLab.RoomInterface} via systemd-networkd: static 10.215.{n}.5/24 gateway {lab.PeerAddress} DNS {lab.PeerAddress}; kernel has 10.215.{n}.5/24", shown.Output, StringComparison.Ordinal);

            // Back to DHCP, with roomctl (dnsmasq in the peer namespace leases .100-.150): the static address goes, a lease comes.
            var dhcpSet = await CliProcess.RunAsync(lab.BusAddress, "admin", "network", "dhcp");
            Assert.True(dhcpSet.ExitCode == 0, dhcpSet.Output + dhcpSet.Error);
            addresses = await lab.WaitForAddressesAsync(
                a => a.Count == 1 && a[0].StartsWith($"10.215.{n}.1", StringComparison.Ordinal) && a[0] != $"10.215.{n}.1/24" && a[0].EndsWith("/24", StringComparison.Ordinal),
                "DHCP lease");
            var lease = int.Parse(addresses[0].Split('/')[0].Split('.')[3], System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(lease, 100, 150);
            var dhcp = (await client.GetStatusAsync()).Admin.Network;
            Assert.Equal(("dhcp", "", ""), (dhcp.Mode, dhcp.Address, dhcp.Gateway));
            Assert.Contains(addresses[0], dhcp.Addresses);
            Assert.Contains("DHCPACK", lab.Log, StringComparison.Ordinal);
        }

        // The file is roomd's record: a new roomd reads the DHCP setting back.
        await using var again = await StartRoomdAsync(lab);
        using var c = await RoomBusClient.ConnectAsync(lab.BusAddress);
        Assert.Equal("dhcp", (await c.GetStatusAsync()).Admin.Network.Mode);
    }

    private static async Task WaitAsync(Func<bool> condition, Func<string> what)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(60), what());
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task Malformed_network_settings_are_refused_by_name_and_an_unreachable_networkd_changes_nothing()
    {
        // A bus without networkd: validation refuses before anything is written; a valid request reaches for networkd,
        // fails (Failed) and leaves no file behind.
        using var bus = new PrivateBus();
        var config = Path.Combine(bus.Directory, "network");
        await using var roomd = await RoomdProcess.StartAsync(bus.Address, Path.Combine(bus.Directory, "state"),
            "--Admin:Network", "networkd", "--Admin:NetworkInterface", "lan0", "--Admin:NetworkConfigDirectory", config, "--Admin:NetworkBus", bus.Address);
        using var client = await RoomBusClient.ConnectAsync(bus.Address);
        var before = (await client.GetStatusAsync()).Admin;
        (string Mode, string Address, uint Prefix, string Gateway, string[] Dns, string Error)[] cases =
        [
            ("static", "192.0.2.300", 24, "", [], BusErrors.InvalidArgument),
            ("static", "192.0.2", 24, "", [], BusErrors.InvalidArgument),
            ("static", "192.0.2.010", 24, "", [], BusErrors.InvalidArgument),
            ("static", " 192.0.2.10", 24, "", [], BusErrors.InvalidArgument),
            ("static", "2001:db8::1", 64, "", [], BusErrors.InvalidArgument),
            ("static", "", 24, "", [], BusErrors.InvalidArgument),
            ("static", "192.0.2.10", 0, "", [], BusErrors.OutOfRange),
            ("static", "192.0.2.10", 33, "", [], BusErrors.OutOfRange),
            ("static", "192.0.2.10", 24, "192.0.3.1", [], BusErrors.InvalidArgument),
            ("static", "192.0.2.10", 24, "192.0.2.10", [], BusErrors.InvalidArgument),
            ("static", "192.0.2.10", 24, "192.0.2.255", [], BusErrors.InvalidArgument),
            ("static", "192.0.2.0", 24, "", [], BusErrors.InvalidArgument),
            ("static", "127.0.0.5", 8, "", [], BusErrors.InvalidArgument),
            ("static", "224.0.0.5", 24, "", [], BusErrors.InvalidArgument),
            ("static", "192.0.2.10", 24, "gateway", [], BusErrors.InvalidArgument),
            ("static", "192.0.2.10", 24, "", ["dns.example"], BusErrors.InvalidArgument),
            ("static", "192.0.2.10", 24, "", ["192.0.2.1", "192.0.2.1"], BusErrors.InvalidArgument),
            ("static", "192.0.2.10", 24, "", ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"], BusErrors.OutOfRange),
            ("dhcp", "192.0.2.10", 24, "", [], BusErrors.InvalidArgument),
            ("dhcp", "", 0, "192.0.2.1", [], BusErrors.InvalidArgument),
            ("manual", "", 0, "", [], BusErrors.InvalidArgument),
            ("", "", 0, "", [], BusErrors.InvalidArgument),
        ];
        foreach (var (mode, address, prefix, gateway, dns, error) in cases)
        {
            var ex = await Assert.ThrowsAsync<RoomBusException>(() => client.SetNetworkAsync(mode, address, prefix, gateway, dns));
            Assert.True(error == ex.ErrorName, $"{mode} {address}/{prefix} gw {gateway} dns [{string.Join(',', dns)}]: {ex.ErrorName} {ex.Message}");
            Assert.False(string.IsNullOrWhiteSpace(ex.Message));
        }

        Assert.False(Directory.Exists(config) && Directory.EnumerateFileSystemEntries(config).Any());

        var unreachable = await Assert.ThrowsAsync<RoomBusException>(() => client.SetNetworkAsync("static", "192.0.2.10", 24, "192.0.2.1", []));
        Assert.Equal(BusErrors.Failed, unreachable.ErrorName);
        Assert.Contains("systemd-networkd", unreachable.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(config));
        Assert.Equal(before.Network, (await client.GetStatusAsync()).Admin.Network);
        Assert.Equal("", (await client.GetStatusAsync()).Admin.Network.Mode);
    }

    [Fact]
    public async Task SetNetwork_is_refused_as_not_supported_when_roomd_manages_no_network()
    {
        using var bus = new PrivateBus();
        await using var roomd = await RoomdProcess.StartAsync(bus.Address, Path.Combine(bus.Directory, "state"));
        using var client = await RoomBusClient.ConnectAsync(bus.Address);
        var ex = await Assert.ThrowsAsync<RoomBusException>(() => client.SetNetworkAsync("dhcp", "", 0, "", []));
        Assert.Equal(BusErrors.NotSupported, ex.ErrorName);
        Assert.Equal(NetworkStatus.Empty, (await client.GetStatusAsync()).Admin.Network);
    }
}
