using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Room.ControllerUi.Interop;

namespace Room.ControllerUi.Tests;

/// <summary>
/// The real panel process on a free loopback port: only the allowed local user's connections are served (another user,
/// switched to with setpriv, gets its connection closed), and only requests that name the panel as a loopback host.
/// </summary>
public sealed class PanelAccessTests
{
    private static bool IsRoot => Environment.UserName == "root";

    private static async Task<(ChildProcess Panel, int Port)> StartPanelAsync(params string[] extra)
    {
        var port = Repo.FreePort();
        var panel = new ChildProcess(Repo.Panel, ["--urls", $"http://127.0.0.1:{port}", "--bus", "unix:path=/nonexistent/room-bus", .. extra]);
        // Wait until it accepts connections (whether it then serves this user is what the tests look at).
        var sw = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync(IPAddress.Loopback, port);
                return (panel, port);
            }
            catch (SocketException) when (sw.Elapsed < TimeSpan.FromSeconds(60) && !panel.HasExited)
            {
                await Task.Delay(50);
            }
        }
    }

    private static Task<(int Code, string Out, string Err)> CurlAs(string? user, int port, params string[] extra)
    {
        var command = new List<string>();
        if (user is not null)
        {
            command.AddRange(["setpriv", $"--reuid={user}", "--regid=nogroup", "--clear-groups"]);
        }

        command.AddRange(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "30", .. extra, $"http://127.0.0.1:{port}/healthz"]);
        return Room.Testing.SystemTypeBus.RunAsync(null, [.. command]);
    }

    [SkippableFact]
    public async Task Only_the_panels_own_user_is_served_by_default_another_local_user_gets_nothing()
    {
        Skip.IfNot(IsRoot, "needs root to connect as another user");
        var (panel, port) = await StartPanelAsync();
        using (panel)
        {
            var own = await CurlAs(null, port);
            Assert.True(own.Out == "200", $"{own.Out} {own.Err}\n{panel.Output}");

            var other = await CurlAs("nobody", port);
            Assert.NotEqual(0, other.Code);
            Assert.Equal("000", other.Out); // no HTTP answer at all: the connection was closed
            Assert.Contains("Refused a connection", panel.Output, StringComparison.Ordinal);
        }
    }

    [SkippableFact]
    public async Task The_configured_kiosk_user_is_served_and_no_one_else()
    {
        Skip.IfNot(IsRoot, "needs root to connect as another user");
        var (panel, port) = await StartPanelAsync("--ControllerUi:AllowedUsers:0", "nobody");
        using (panel)
        {
            var kiosk = await CurlAs("nobody", port);
            Assert.True(kiosk.Out == "200", $"{kiosk.Out} {kiosk.Err}\n{panel.Output}");
            var root = await CurlAs(null, port);
            Assert.Equal("000", root.Out);
        }
    }

    [SkippableFact]
    public async Task Requests_must_name_a_loopback_host_and_come_from_the_panels_own_origin()
    {
        Skip.IfNot(IsRoot, "runs curl as the panel's user; the panel runs as the test's user");
        var (panel, port) = await StartPanelAsync();
        using (panel)
        {
            Assert.Equal("400", (await CurlAs(null, port, "-H", "Host: rebind.example")).Out);
            Assert.Equal("403", (await CurlAs(null, port, "-H", "Origin: http://rebind.example")).Out);
            Assert.Equal("403", (await CurlAs(null, port, "-H", $"Origin: http://127.0.0.1:{port + 1}")).Out);
            Assert.Equal("200", (await CurlAs(null, port, "-H", $"Origin: http://127.0.0.1:{port}")).Out);
            Assert.Equal("200", (await CurlAs(null, port, "-H", $"Host: localhost:{port}")).Out);
        }
    }

    [SkippableFact]
    public async Task An_unknown_allowed_user_stops_the_panel_at_start()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "reads /etc/passwd");
        using var panel = new ChildProcess(Repo.Panel, ["--urls", $"http://127.0.0.1:{Repo.FreePort()}", "--bus", "unix:path=/nonexistent/room-bus", "--ControllerUi:AllowedUsers:0", "no-such-user-here"]);
        Assert.True(await panel.ExitedAsync(TimeSpan.FromSeconds(60)), "the panel kept running");
        Assert.Contains("no-such-user-here", panel.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Socket_table_rows_parse_and_malformed_ones_are_skipped()
    {
        // As in /proc/net/tcp: 127.0.0.1:45678 -> 127.0.0.1:8080, uid 1001.
        var row = LoopbackPeers.ParseLine("   3: 0100007F:B26E 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1001        0 123456 1 0000000000000000 20 4 30 10 -1");
        Assert.NotNull(row);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 45678), row.Value.Local);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 8080), row.Value.Remote);
        Assert.Equal(1001u, row.Value.Uid);

        // /proc/net/tcp6: ::1 is three zero words and 01000000.
        var v6 = LoopbackPeers.ParseEndPoint("00000000000000000000000001000000:1F90");
        Assert.Equal(new IPEndPoint(IPAddress.IPv6Loopback, 8080), v6);

        foreach (var bad in new[] { "", "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
            "   3: 0100007F 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1001 0 1", "   3: 0100007F:ZZZZ 0100007F:1F90 01 0:0 0:0 0 1001 0 1",
            "   3: 01007F:B26E 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1001 0 1", "   3: 0100007F:B26E 0100007F:1F90 01 0:0 0:0 0 -1 0 1" })
        {
            Assert.Null(LoopbackPeers.ParseLine(bad));
        }
    }

    [Fact]
    public void The_real_socket_table_names_this_process_as_the_owner_of_its_own_connection()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var client = new TcpClient();
        client.Connect((IPEndPoint)listener.LocalEndpoint);
        using var accepted = listener.AcceptTcpClient();
        var uid = LoopbackPeers.FindUid((IPEndPoint)accepted.Client.RemoteEndPoint!, (IPEndPoint)accepted.Client.LocalEndPoint!);
        var own = uint.Parse(File.ReadLines("/proc/self/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal)).Split('\t', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(own, uid);
    }
}
