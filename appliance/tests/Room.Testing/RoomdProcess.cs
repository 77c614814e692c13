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
    public static Task<RoomdProcess> StartAsync(string busAddress, string stateDirectory, params string[] extraArgs) =>
        StartAsync(new RoomdLaunch(busAddress, stateDirectory) { Args = extraArgs });

    private static readonly TimeSpan StartHangGuard = TimeSpan.FromMinutes(2);

    /// <summary>Starts roomd as <paramref name="launch"/> says and waits until it owns its name on the bus.</summary>
    public static async Task<RoomdProcess> StartAsync(RoomdLaunch launch)
    {
        ArgumentNullException.ThrowIfNull(launch);
        var busAddress = launch.WaitAddress ?? launch.BusAddress;
        var roomd = Start(launch);
        using var client = await RoomBusClient.ConnectAsync(busAddress);
        var deadline = Stopwatch.StartNew();
        while (!await client.IsRoomdPresentAsync())
        {
            if (roomd.HasExited)
            {
                throw new InvalidOperationException($"roomd exited with {roomd.ExitCode}:\n{roomd.Log}");
            }

            // A hang guard, not a speed check (a start takes seconds; at a load of 100 on two cores one took over
            // 30 s): it fails with roomd's log before the runner's 5-minute hang timeout kills everything.
            if (deadline.Elapsed > StartHangGuard)
            {
                throw new TimeoutException($"roomd did not appear on the bus within {StartHangGuard.TotalSeconds:F0} s:\n{roomd.Log}");
            }

            await Task.Delay(50);
        }

        return roomd;
    }

    /// <summary>Starts roomd without waiting (for tests of start-up failures).</summary>
    public static RoomdProcess Start(string busAddress, string stateDirectory, params string[] extraArgs) =>
        Start(new RoomdLaunch(busAddress, stateDirectory) { Args = extraArgs });

    /// <summary>Starts roomd as <paramref name="launch"/> says, without waiting.</summary>
    public static RoomdProcess Start(RoomdLaunch launch)
    {
        ArgumentNullException.ThrowIfNull(launch);
        var command = new List<string>(launch.Prefix) { "dotnet", RepoPaths.Output("appliance/Room.Appliance", "roomd.dll") };
        var psi = new ProcessStartInfo(command[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var c in command.Skip(1))
        {
            psi.ArgumentList.Add(c);
        }

        if (launch.BusAddress is not null)
        {
            psi.ArgumentList.Add("--bus");
            psi.ArgumentList.Add(launch.BusAddress);
        }

        psi.ArgumentList.Add("--state");
        psi.ArgumentList.Add(launch.StateDirectory);
        foreach (var a in launch.Args)
        {
            psi.ArgumentList.Add(a);
        }

        // No /etc/room/room.json from the machine running the tests.
        psi.Environment["ROOM_CONFIG"] = Path.Combine(launch.StateDirectory, "no-such-room.json");
        // As roomd.service starts it: the allocator settings must be in place before the runtime's first threads.
        psi.Environment["GLIBC_TUNABLES"] = RoomdMalloc.Tunables;
        foreach (var (k, v) in launch.Environment)
        {
            psi.Environment[k] = v;
        }

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

    /// <summary>Asks roomd to stop (SIGTERM), as systemd does.</summary>
    public void Terminate()
    {
        if (!_process.HasExited)
        {
            Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])?.WaitForExit();
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

/// <summary>How to start roomd: bus (null: none on the command line), state folder, extra arguments, environment, and
/// a command to run it under (e.g. ip netns exec NAME).</summary>
public sealed record RoomdLaunch(string? BusAddress, string StateDirectory)
{
    public IReadOnlyList<string> Args { get; init; } = [];

    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();

    public IReadOnlyList<string> Prefix { get; init; } = [];

    /// <summary>The bus StartAsync waits on when roomd gets its address from elsewhere (configuration).</summary>
    public string? WaitAddress { get; init; }
}

/// <summary>The glibc allocator settings roomd.service gives roomd (see Room.Appliance Interop/Malloc.cs).</summary>
public static class RoomdMalloc
{
    public const string Tunables = "glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072";
}
