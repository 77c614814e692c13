using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Room.Fleet.Channel;
using Room.Testing;

namespace Room.Fleet.Tests;

/// <summary>
/// Debian's mosquitto on 127.0.0.1 (a free port) in a private folder: TLS only, client certificates from the test CA
/// required (the CN is the user name), no anonymous clients, and the ACL shipped in deploy/mosquitto/acl.example with
/// the test's group lines appended. Rooms: device:room-1 .. device:room-3 (groups "floor-2" for rooms 1-3, "lab" for
/// room 3); admin: fleet-admin:ops.
/// </summary>
public sealed class MosquittoBroker : IAsyncLifetime
{
    private Process? _process;
    private readonly List<string> _log = [];

    public string Dir { get; } = Directory.CreateTempSubdirectory("room-fleet-mqtt-").FullName;

    public TestPki Pki { get; private set; } = null!;

    public int Port { get; private set; }

    public static string ShippedAcl => Path.Combine(RepoPaths.Root, "appliance/Room.Fleet/deploy/mosquitto/acl.example");

    public static readonly string[] RoomNames = ["device:room-1", "device:room-2", "device:room-3"];

    public async Task InitializeAsync()
    {
        Pki = new TestPki(Path.Combine(Dir, "pki"));
        var (cert, key) = Pki.IssueServer("broker");
        foreach (var r in RoomNames.Append("fleet-admin:ops").Append("fleet-admin:intruder"))
        {
            Pki.IssueClient(r);
        }

        var acl = Path.Combine(Dir, "acl");
        File.WriteAllText(acl, File.ReadAllText(ShippedAcl) + """

            user device:room-1
            topic read room/v1/groups/floor-2/jobs
            user device:room-2
            topic read room/v1/groups/floor-2/jobs
            user device:room-3
            topic read room/v1/groups/floor-2/jobs
            topic read room/v1/groups/lab/jobs

            """);
        for (var attempt = 0; ; attempt++)
        {
            Port = FreePort();
            var conf = Path.Combine(Dir, "mosquitto.conf");
            File.WriteAllText(conf, $"""
                per_listener_settings false
                allow_anonymous false
                persistence false
                user root
                log_dest stderr
                log_type error
                log_type warning
                log_type notice
                log_type information
                listener {Port} 127.0.0.1
                cafile {Pki.CaFile}
                certfile {cert}
                keyfile {key}
                require_certificate true
                use_identity_as_username true
                acl_file {acl}

                """);
            var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var psi = new ProcessStartInfo("mosquitto", ["-c", conf])
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            _process = Process.Start(psi) ?? throw new InvalidOperationException("mosquitto did not start");
            _process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is null)
                {
                    ready.TrySetException(new InvalidOperationException("mosquitto exited: " + string.Join('\n', _log)));
                    return;
                }

                lock (_log)
                {
                    _log.Add(e.Data);
                }

                if (e.Data.Contains(" running", StringComparison.Ordinal))
                {
                    ready.TrySetResult();
                }
            };
            _process.OutputDataReceived += (_, _) => { };
            _process.BeginErrorReadLine();
            _process.BeginOutputReadLine();
            try
            {
                await ready.Task.WaitAsync(TimeSpan.FromSeconds(60));
                return;
            }
            catch (InvalidOperationException) when (attempt < 5 && Log.Contains("in use", StringComparison.Ordinal))
            {
                // Another test process took the port between our probe and mosquitto's bind: try another one.
                ServerProcess.Stop(_process);
                _log.Clear();
            }
        }
    }

    public string Log
    {
        get
        {
            lock (_log)
            {
                return string.Join('\n', _log);
            }
        }
    }

    /// <summary>Client options for <paramref name="identity"/> (its certificate from the test CA) at <paramref name="port"/> (default: the broker's).</summary>
    public FleetChannelOptions Options(string identity, int? port = null, IEnumerable<string>? groups = null)
    {
        var file = Path.Combine(Pki.Dir, string.Concat(identity.Select(c => char.IsAsciiLetterOrDigit(c) || c == '-' ? c : '_')));
        return new FleetChannelOptions
        {
            Host = "127.0.0.1",
            Port = port ?? Port,
            CaFile = Pki.CaFile,
            CertificateFile = file + ".pem",
            KeyFile = file + ".key",
            Groups = [.. groups ?? []],
            KeepAliveSeconds = 60,
        };
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public Task DisposeAsync()
    {
        if (_process is not null)
        {
            ServerProcess.Stop(_process);
        }

        Pki?.Dispose();
        Directory.Delete(Dir, recursive: true);
        return Task.CompletedTask;
    }
}
