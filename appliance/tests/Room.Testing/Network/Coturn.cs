using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Room.Testing.Network;

/// <summary>
/// coturn from Debian, in the foreground inside a namespace, with one static long-term user: UDP and TCP on 3478 and,
/// given a certificate, TLS on 5349. Relays from the namespace's address.
/// </summary>
public sealed class Coturn : IDisposable
{
    public const string User = "room", Password = "relay-secret", Realm = "room.test";
    public const int TlsPort = 5349;
    private readonly Process _process;

    private Coturn(Process process, IPEndPoint endPoint)
    {
        _process = process;
        EndPoint = endPoint;
    }

    /// <summary>UDP and TCP (port 3478) on the first listening address.</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>TLS (port 5349) on the first listening address, when started with a certificate.</summary>
    public IPEndPoint TlsEndPoint => new(EndPoint.Address, TlsPort);

    public static bool IsInstalled => File.Exists("/usr/bin/turnserver");

    /// <param name="extra">More turnserver options (e.g. short lifetimes).</param>
    /// <param name="tls">A certificate and key (PEM files) to serve TLS with; null: no TLS.</param>
    /// <param name="listen">Addresses to listen on (default: the namespace's veth address).</param>
    public static async Task<Coturn> StartAsync(NetNs ns, CancellationToken ct, string extra = "", (string CertFile, string KeyFile)? tls = null,
        IReadOnlyList<IPAddress>? listen = null)
    {
        ArgumentNullException.ThrowIfNull(ns);
        listen ??= [ns.NsAddress];
        string listening = string.Join(' ', listen.Select(a => $"--listening-ip={a}"));
        string secure = tls is { } t ? $"--tls-listening-port={TlsPort} --cert={t.CertFile} --pkey={t.KeyFile} --no-dtls" : "--no-tls --no-dtls";
        var p = ns.Start("/usr/bin/turnserver",
            $"-n {listening} --relay-ip={ns.NsAddress} --listening-port=3478 --min-port=49152 --max-port=49400 " +
            $"--lt-cred-mech --user={User}:{Password} --realm={Realm} --fingerprint {secure} --no-cli --log-file=stdout --simple-log {extra}");
        var server = new Coturn(p, new IPEndPoint(listen[0], 3478));
        // Wait until it answers a Binding request over UDP (TCP and TLS listeners are up by then).
        using var udp = new UdpClient(new IPEndPoint(ns.HostAddress, 0));
        var request = new byte[20];
        request[1] = 1; // Binding request, no attributes
        request[4] = 0x21; request[5] = 0x12; request[6] = 0xA4; request[7] = 0x42;
        for (int i = 0; i < 100; i++)
        {
            if (p.HasExited) throw new InvalidOperationException("turnserver exited");
            udp.Send(request, request.Length, new IPEndPoint(ns.NsAddress, 3478));
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
            wait.CancelAfter(100);
            try
            {
                await udp.ReceiveAsync(wait.Token);
                if (tls is not null) await WaitForTcpAsync(new IPEndPoint(ns.NsAddress, TlsPort), ct);
                return server;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
            }
        }

        server.Dispose();
        throw new TimeoutException("turnserver did not answer");
    }

    private static async Task WaitForTcpAsync(IPEndPoint endPoint, CancellationToken ct)
    {
        while (true)
        {
            using var tcp = new TcpClient();
            try
            {
                await tcp.ConnectAsync(endPoint, ct);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50, ct);
            }
        }
    }

    public void Dispose() => ServerProcess.Stop(_process);
}
