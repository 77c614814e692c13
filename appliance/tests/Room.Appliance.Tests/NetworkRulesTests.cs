using Room.Appliance.Administration;
using Room.Appliance.Administration.Network;

namespace Room.Appliance.Tests;

/// <summary>The network and proxy rules, and roomd's .network file: what is accepted, what is refused and how.</summary>
public sealed class NetworkRulesTests
{
    [Fact]
    public void A_static_configuration_renders_to_a_networkd_file_that_reads_back_the_same()
    {
        var config = NetworkRules.Validate("static", "192.0.2.10", 24, "192.0.2.1", ["192.0.2.53", "2001:db8::53"]);
        var text = NetworkdFile.Render("lan0", config);
        Assert.Contains("[Match]\nName=lan0\n", text, StringComparison.Ordinal);
        Assert.Contains("Address=192.0.2.10/24\nGateway=192.0.2.1\nDNS=192.0.2.53\nDNS=2001:db8::53\n", text, StringComparison.Ordinal);
        Assert.Equal(config, NetworkdFile.Parse(text, "lan0"));

        var dhcp = NetworkRules.Validate("dhcp", "", 0, "", []);
        Assert.Contains("DHCP=ipv4", NetworkdFile.Render("lan0", dhcp), StringComparison.Ordinal);
        Assert.Equal(dhcp, NetworkdFile.Parse(NetworkdFile.Render("lan0", dhcp), "lan0"));
    }

    [Theory]
    [InlineData(31u, "10.0.0.0", "10.0.0.1")]
    [InlineData(32u, "10.0.0.7", "")]
    [InlineData(8u, "10.1.2.3", "10.255.255.254")]
    public void Point_to_point_and_wide_subnets_are_accepted(uint prefix, string address, string gateway) =>
        Assert.Equal(NetworkMode.Static, NetworkRules.Validate("static", address, prefix, gateway, []).Mode);

    [Theory]
    [InlineData("static", "10.0.0.5", 24u, "10.0.1.1", AdminRefusalKind.InvalidArgument, "outside the subnet")]
    [InlineData("static", "10.0.0.5", 33u, "", AdminRefusalKind.OutOfRange, "1..32")]
    [InlineData("static", "10.0.0.5", 0u, "", AdminRefusalKind.OutOfRange, "1..32")]
    [InlineData("static", "10.0.0.256", 24u, "", AdminRefusalKind.InvalidArgument, "not an IPv4 address")]
    [InlineData("static", "10.0.0.5.1", 24u, "", AdminRefusalKind.InvalidArgument, "not an IPv4 address")]
    [InlineData("static", "0x0a.0.0.5", 24u, "", AdminRefusalKind.InvalidArgument, "not an IPv4 address")]
    [InlineData("static", "10.0.0.255", 24u, "", AdminRefusalKind.InvalidArgument, "broadcast")]
    [InlineData("static", "0.0.0.0", 8u, "", AdminRefusalKind.InvalidArgument, "cannot be a host")]
    [InlineData("dhcp", "", 24u, "", AdminRefusalKind.InvalidArgument, "DHCP")]
    [InlineData("DHCP", "", 0u, "", AdminRefusalKind.InvalidArgument, "dhcp or static")]
    public void Malformed_network_input_is_refused_with_a_named_kind(string mode, string address, uint prefix, string gateway, AdminRefusalKind kind, string why)
    {
        var ex = Assert.Throws<AdminRefusedException>(() => NetworkRules.Validate(mode, address, prefix, gateway, []));
        Assert.Equal(kind, ex.Kind);
        Assert.Contains(why, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("[Match]\nName=lan0\n[Network]\nDHCP=ipv4\n")]
    [InlineData(NetworkdFile.Marker + "\n[Match]\nName=eth9\n[Network]\nDHCP=ipv4\n")]
    [InlineData(NetworkdFile.Marker + "\n[Match]\nName=lan0\n[Network]\nDHCP=ipv4\nAddress=10.0.0.5/24\n")]
    [InlineData(NetworkdFile.Marker + "\n[Match]\nName=lan0\n[Network]\nDHCP=no\nAddress=10.0.0.5\n")]
    [InlineData(NetworkdFile.Marker + "\n[Match]\nName=lan0\n[Network]\nDHCP=no\nAddress=10.0.0.5/40\n")]
    [InlineData(NetworkdFile.Marker + "\n[Match]\nName=lan0\n[Network]\nDHCP=no\nAddress=10.0.0.5/24\nGateway=10.9.9.9\n")]
    [InlineData(NetworkdFile.Marker + "\n[Match]\nName=lan0\n[Network]\nDHCP=yes\n")]
    [InlineData(NetworkdFile.Marker + "\n[Match]\nName=lan0\n[Network]\nDHCP=ipv4\nIPForward=yes\n")]
    [InlineData(NetworkdFile.Marker + "\n[Match]\nName=lan0\n[Network]\nDHCP=ipv4\nDHCP=no\n")]
    [InlineData(NetworkdFile.Marker + "\n[Match]\nName=lan0\n[Network]\nDHCP=ipv4\nnonsense\n")]
    [InlineData(NetworkdFile.Marker + "\n[Match]\nName=lan0\n[Network]\nDHCP=ipv4\nDNS=not-an-ip\n")]
    public void A_network_file_that_is_not_roomds_own_is_reported_not_half_read(string text)
    {
        var ex = Assert.Throws<AdminRefusedException>(() => NetworkdFile.Parse(text, "lan0"));
        Assert.Equal(AdminRefusalKind.Failed, ex.Kind);
        Assert.StartsWith("The network file is not roomd's", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://proxy.example:3128", "http://proxy.example:3128")]
    [InlineData("http://proxy.example:3128/", "http://proxy.example:3128")]
    [InlineData("http://PROXY.example", "http://proxy.example")]
    [InlineData("http://[2001:db8::1]:8080", "http://[2001:db8::1]:8080")]
    [InlineData("", "")]
    public void A_proxy_URL_is_normalised(string url, string expected) => Assert.Equal(expected, AdminSettingsRules.Proxy(url));

    [Fact]
    public void Stored_settings_with_a_broken_proxy_drop_just_the_proxy()
    {
        var dropped = new List<string>();
        var s = AdminSettingsRules.Sanitize(new AdminSettings { Proxy = "http://u:p@x:1", RoomName = "Saal" }, dropped);
        Assert.Null(s.Proxy);
        Assert.Equal("Saal", s.RoomName);
        Assert.Single(dropped);
        Assert.DoesNotContain("u:p", dropped[0], StringComparison.Ordinal);
    }
}
