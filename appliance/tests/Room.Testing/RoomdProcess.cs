using System.Collections.Concurrent;
using System.Diagnostics;
using Room.Bus.Client;

namespace Room.Testing;

/// <summary>roomd as a real process on a given bus, with its log captured for failure messages.</summary>
public sealed class RoomdProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _log = new();

    private RoomdProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Record(e.Data);
        _process.ErrorDataReceived += (_, e) => Record(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string Log => string.Join('\n', _log);

    /// <summary>Starts roomd and waits until it owns its name on the bus.</summary>
    public static async Task<RoomdProcess> StartAsync(string busAddress, string stateDirectory, params string[] extraArgs)
    {
        var roomd = Start(busAddress, stateDirectory, extraArgs);
        using var client = await RoomBusClient.ConnectAsync(busAddress);
        var deadline = Stopwatch.StartNew();
        while (!await client.IsRoomdPresentAsync())
        {
            if (roomd.HasExited)
            {
                throw new InvalidOperationException($"roomd exited with {roomd.ExitCode}:\n{roomd.Log}");
            }

            if (deadline.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new TimeoutException($"roomd did not appear on the bus:\n{roomd.Log}");
            }

            await Task.Delay(50);
        }

        return roomd;
    }

    /// <summary>Starts roomd without waiting (for tests of start-up failures).</summary>
    public static RoomdProcess Start(string busAddress, string stateDirectory, params string[] extraArgs)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(RepoPaths.Output("appliance/Room.Appliance", "roomd.dll"));
        psi.ArgumentList.Add("--bus");
        psi.ArgumentList.Add(busAddress);
        psi.ArgumentList.Add("--state");
        psi.ArgumentList.Add(stateDirectory);
        foreach (var a in extraArgs)
        {
            psi.ArgumentList.Add(a);
        }

        // No /etc/room/room.json from the machine running the tests.
        psi.Environment["ROOM_CONFIG"] = Path.Combine(stateDirectory, "no-such-room.json");
        return new RoomdProcess(Process.Start(psi) ?? throw new InvalidOperationException("roomd did not start."));
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    /// <summary>Kills roomd at once (SIGKILL), as a crash would.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10000);
        }
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    private void Record(string? line)
    {
        if (line is not null)
        {
            _log.Enqueue(line);
        }
    }
}
