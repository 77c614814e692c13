using System.Diagnostics;
using System.Net.Sockets;

namespace Room.Testing.Network;

/// <summary>Debian's Janus, started in the foreground inside a namespace from config files written for the test.</summary>
public sealed class JanusServer : IDisposable
{
    public const long Room = 1234;
    private readonly Process _process;
    private readonly string _directory;

    private JanusServer(Process process, string directory, Uri uri)
    {
        _process = process;
        _directory = directory;
        WebSocketUri = uri;
    }

    public Uri WebSocketUri { get; }
    public string LogFile => Path.Combine(_directory, "janus.log");

    public static bool IsInstalled => File.Exists("/usr/bin/janus") && Directory.Exists(LibDir);

    private const string LibDir = "/usr/lib/x86_64-linux-gnu/janus";

    /// <summary>Starts Janus in <paramref name="ns"/> with VideoRoom <see cref="Room"/> set up as <paramref name="room"/> says (the tests' defaults when null).</summary>
    public static async Task<JanusServer> StartAsync(NetNs ns, CancellationToken cancellationToken, JanusRoomSettings? room = null)
    {
        room ??= new JanusRoomSettings();
        var dir = Directory.CreateTempSubdirectory("room-rtc-janus-").FullName;
        var plugins = Directory.CreateDirectory(Path.Combine(dir, "plugins")).FullName;
        var transports = Directory.CreateDirectory(Path.Combine(dir, "transports")).FullName;
        var empty = Directory.CreateDirectory(Path.Combine(dir, "empty")).FullName;
        File.CreateSymbolicLink(Path.Combine(plugins, "libjanus_videoroom.so"), Path.Combine(LibDir, "plugins", "libjanus_videoroom.so"));
        File.CreateSymbolicLink(Path.Combine(transports, "libjanus_websockets.so"), Path.Combine(LibDir, "transports", "libjanus_websockets.so"));
        await File.WriteAllTextAsync(Path.Combine(dir, "janus.jcfg"), $$"""
            general: {
                configs_folder = "{{dir}}"
                plugins_folder = "{{plugins}}"
                transports_folder = "{{transports}}"
                events_folder = "{{empty}}"
                loggers_folder = "{{empty}}"
                debug_level = 4
                admin_secret = "room-test"
            }
            certificates: {
            }
            media: {
                rtp_port_range = "30000-39999"
            }
            nat: {
                nice_debug = false
                ice_enforce_list = "{{ns.Delay?.NsInterface ?? ns.NsInterface}}"
            }
            plugins: {
            }
            transports: {
            }
            loggers: {
            }
            events: {
            }
            """, cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(dir, "janus.transport.websockets.jcfg"), $$"""
            general: {
                json = "compact"
                ws = true
                ws_port = 8188
                ws_ip = "{{ns.NsAddress}}"
                wss = false
            }
            admin: {
                admin_ws = false
                admin_wss = false
            }
            """, cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(dir, "janus.plugin.videoroom.jcfg"), $$"""
            general: {
            }
            room-{{Room}}: {
                description = "Room test"
                publishers = 8
                bitrate = {{room.BitrateBps}}
                fir_freq = {{room.PliIntervalSeconds}}
                audiocodec = "opus"
                videocodec = "vp8"
            }
            """, cancellationToken);
        var process = ns.Start("/usr/bin/janus", $"-F {dir} -C {Path.Combine(dir, "janus.jcfg")} -o", Path.Combine(dir, "janus.log"));
        var server = new JanusServer(process, dir, new Uri($"ws://{ns.NsAddress}:8188/"));
        // Wait until the WebSocket port accepts connections.
        for (int i = 0; i < 200; i++)
        {
            if (process.HasExited) throw new InvalidOperationException("janus exited: " + File.ReadAllText(server.LogFile));
            using var probe = new TcpClient();
            try
            {
                await probe.ConnectAsync(ns.NsAddress, 8188, cancellationToken);
                return server;
            }
            catch (SocketException)
            {
                await Task.Delay(50, cancellationToken);
            }
        }
        server.Dispose();
        throw new TimeoutException("janus did not listen");
    }

    public void Dispose() => ServerProcess.Stop(_process, _directory);
}

/// <summary>
/// What the test room asks of its publishers: the bitrate cap Janus sends them in REMB (0: none) and how often Janus
/// asks each publisher for a keyframe by itself (fir_freq, seconds; 0: only when a subscriber asks).
/// </summary>
public sealed record JanusRoomSettings(int BitrateBps = 2_500_000, int PliIntervalSeconds = 5);
