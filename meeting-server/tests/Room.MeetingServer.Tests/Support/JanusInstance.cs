using System.Net.Sockets;
using System.Security.Cryptography;

namespace Room.MeetingServer.Tests.Support;

/// <summary>
/// Debian's Janus (installed by make deps) on a loopback port with the meeting server's settings: signed-token auth
/// (token_auth_secret) and a VideoRoom admin_key, no static rooms, WebSocket over TLS only (wss://) with a certificate
/// that `room-meeting-server janus-certificate` issues from the CA in a meeting server's data directory
/// (meeting-server/janus/write-config.sh, as `make run`). Its own config folder in a temp directory.
/// </summary>
public sealed class JanusInstance : IAsyncDisposable
{
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

    /// <param name="serverDataDirectory">The data directory of the meeting server whose CA issues Janus's certificate (made if new).</param>
    public static async Task<JanusInstance> StartAsync(string serverDataDirectory, bool record = false)
    {
        string dir = Repo.TempDir("room-ms-janus");
        var (issued, issueLog) = await ChildProcess.RunAsync("dotnet", [Repo.ServerDll, "janus-certificate", dir, "127.0.0.1",
            $"--MeetingServer:DataDirectory={serverDataDirectory}", "--MeetingServer:Organisation=Test Org"]);
        if (issued != 0)
        {
            throw new InvalidOperationException($"janus-certificate failed ({issued}): {issueLog}");
        }

        string secret = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)), adminKey = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        int port = Repo.FreePort();
        // The same settings `make run` gives its Janus: one script writes them for both.
        var (code, log) = await ChildProcess.RunAsync(Path.Combine(Repo.Root, "meeting-server", "janus", "write-config.sh"),
            [dir, port.ToString(System.Globalization.CultureInfo.InvariantCulture), secret, adminKey, Path.Combine(dir, "janus.pem"), Path.Combine(dir, "janus.key")]);
        if (code != 0)
        {
            throw new InvalidOperationException($"write-config.sh failed ({code}): {log}");
        }

        var janus = new ChildProcess("/usr/bin/janus", ["-F", dir, "-C", Path.Combine(dir, "janus.jcfg")]);
        var instance = new JanusInstance(janus, dir, new Uri($"wss://127.0.0.1:{port}/"), secret, adminKey)
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
