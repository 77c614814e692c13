using System.Net.Sockets;
using System.Security.Cryptography;

namespace Room.MeetingServer.Tests.Support;

/// <summary>
/// Debian's Janus (installed by make deps) on a loopback port with the meeting server's settings: signed-token auth
/// (token_auth_secret) and a VideoRoom admin_key, no static rooms. Its own config folder in a temp directory.
/// </summary>
public sealed class JanusInstance : IAsyncDisposable
{
    private const string LibDir = "/usr/lib/x86_64-linux-gnu/janus";
    private readonly ChildProcess _janus;
    private readonly string _dir;

    public Uri Url { get; }

    public string TokenSecret { get; }

    public string AdminKey { get; }

    /// <summary>Where the meeting server has Janus record its rooms (null: no recording).</summary>
    public string? RecordDirectory { get; private init; }

    public string Log => _janus.Log;

    private JanusInstance(ChildProcess janus, string dir, Uri url, string secret, string adminKey)
    {
        _janus = janus;
        _dir = dir;
        Url = url;
        TokenSecret = secret;
        AdminKey = adminKey;
    }

    public static async Task<JanusInstance> StartAsync(bool record = false)
    {
        string dir = Repo.TempDir("room-ms-janus");
        string plugins = Directory.CreateDirectory(Path.Combine(dir, "plugins")).FullName;
        string transports = Directory.CreateDirectory(Path.Combine(dir, "transports")).FullName;
        string empty = Directory.CreateDirectory(Path.Combine(dir, "empty")).FullName;
        File.CreateSymbolicLink(Path.Combine(plugins, "libjanus_videoroom.so"), Path.Combine(LibDir, "plugins", "libjanus_videoroom.so"));
        File.CreateSymbolicLink(Path.Combine(transports, "libjanus_websockets.so"), Path.Combine(LibDir, "transports", "libjanus_websockets.so"));
        string secret = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)), adminKey = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        int port = Repo.FreePort();
        await File.WriteAllTextAsync(Path.Combine(dir, "janus.jcfg"), $$"""
            general: {
                configs_folder = "{{dir}}"
                plugins_folder = "{{plugins}}"
                transports_folder = "{{transports}}"
                events_folder = "{{empty}}"
                loggers_folder = "{{empty}}"
                debug_level = 4
                token_auth = true
                token_auth_secret = "{{secret}}"
                admin_secret = "{{Convert.ToHexString(RandomNumberGenerator.GetBytes(16))}}"
            }
            certificates: {
            }
            media: {
            }
            nat: {
                nice_debug = false
                ice_enforce_list = "lo"
            }
            plugins: {
            }
            transports: {
            }
            loggers: {
            }
            events: {
            }
            """);
        await File.WriteAllTextAsync(Path.Combine(dir, "janus.transport.websockets.jcfg"), $$"""
            general: {
                json = "compact"
                ws = true
                ws_port = {{port}}
                ws_ip = "127.0.0.1"
                wss = false
            }
            admin: {
                admin_ws = false
                admin_wss = false
            }
            """);
        await File.WriteAllTextAsync(Path.Combine(dir, "janus.plugin.videoroom.jcfg"), $$"""
            general: {
                admin_key = "{{adminKey}}"
                lock_rtp_forward = true
            }
            """);
        var janus = new ChildProcess("/usr/bin/janus", ["-F", dir, "-C", Path.Combine(dir, "janus.jcfg")]);
        var instance = new JanusInstance(janus, dir, new Uri($"ws://127.0.0.1:{port}/"), secret, adminKey)
        {
            RecordDirectory = record ? Directory.CreateDirectory(Path.Combine(dir, "recordings")).FullName : null,
        };
        // Janus says nothing reliable when its WebSocket is up: wait until the port accepts (a Janus that exits fails here).
        for (int i = 0; ; i++)
        {
            try
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync("127.0.0.1", port);
                return instance;
            }
            catch (SocketException) when (i < 600)
            {
                await Task.Delay(50);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _janus.Dispose();
        await Task.Yield();
        Directory.Delete(_dir, true);
    }
}
