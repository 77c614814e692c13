using System.Net;
using System.Net.Sockets;

namespace Room.Fleet.Tests;

/// <summary>
/// A TCP relay on 127.0.0.1 to a target port, whose connections the test can cut at once (RST), as a pulled cable or a
/// power cut looks to the far side.
/// </summary>
public sealed class TcpRelay : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly List<(TcpClient, TcpClient)> _pairs = [];
    private readonly CancellationTokenSource _stop = new();

    public TcpRelay(int targetPort)
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _ = AcceptLoopAsync(targetPort);
    }

    public int Port { get; }

    /// <summary>While true, new connections are closed at once (the broker is gone).</summary>
    public bool Refusing { get; set; }

    private async Task AcceptLoopAsync(int targetPort)
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var inbound = await _listener.AcceptTcpClientAsync(_stop.Token);
                if (Refusing)
                {
                    inbound.Client.LingerState = new LingerOption(true, 0);
                    inbound.Close();
                    continue;
                }

                var outbound = new TcpClient();
                await outbound.ConnectAsync(IPAddress.Loopback, targetPort, _stop.Token);
                lock (_pairs)
                {
                    _pairs.Add((inbound, outbound));
                }

                _ = PumpAsync(inbound.GetStream(), outbound.GetStream());
                _ = PumpAsync(outbound.GetStream(), inbound.GetStream());
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to)
    {
        try
        {
            await from.CopyToAsync(to, _stop.Token);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Resets every relayed connection on both sides (no MQTT DISCONNECT reaches the broker).</summary>
    public void CutAll()
    {
        lock (_pairs)
        {
            foreach (var (a, b) in _pairs)
            {
                a.Client.LingerState = new LingerOption(true, 0);
                b.Client.LingerState = new LingerOption(true, 0);
                a.Close();
                b.Close();
            }

            _pairs.Clear();
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        CutAll();
        _listener.Stop();
        _listener.Dispose();
        _stop.Dispose();
    }
}
