using System.Collections.Concurrent;
using System.Diagnostics;

namespace Room.Testing;

/// <summary>
/// The processes a lab starts (a private dbus-daemon and the operating-system daemons on it), with what they print kept
/// for failure messages; all stopped on dispose.
/// </summary>
public sealed class LabProcesses : IDisposable
{
    private readonly List<Process> _processes = [];
    private readonly ConcurrentQueue<string> _log = new();

    /// <summary>What the processes printed, each line after its name.</summary>
    public string Log => string.Join('\n', _log);

    /// <summary>
    /// Starts a dbus-daemon on DIRECTORY/bus that any user may connect to (daemons that drop their privileges), with
    /// <paramref name="serviceDirectory"/> for activatable services; returns its address.
    /// </summary>
    public async Task<string> StartBusAsync(string directory, string? serviceDirectory = null)
    {
        var socket = Path.Combine(directory, "bus");
        var config = Path.Combine(directory, "bus.conf");
        await File.WriteAllTextAsync(config, PrivateBus.Config(socket, anyUser: true, serviceDirectory));
        var bus = Start("dbus", "dbus-daemon", ["--config-file", config, "--nofork", "--print-address"], followStdout: false);
        var address = (await bus.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException("dbus-daemon printed no address:\n" + Log)).Trim();
        File.SetUnixFileMode(socket, (UnixFileMode)0b111_111_111);
        return address;
    }

    /// <summary>Starts <paramref name="file"/> and follows its output into <see cref="Log"/> (stdout too unless the caller reads it).</summary>
    public Process Start(string name, string file, IEnumerable<string> args, bool followStdout = true)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        var p = Process.Start(psi) ?? throw new InvalidOperationException($"{file} did not start.");
        lock (_processes)
        {
            _processes.Add(p);
        }

        if (followStdout)
        {
            p.OutputDataReceived += (_, e) => { if (e.Data is not null) _log.Enqueue($"{name}: {e.Data}"); };
            p.BeginOutputReadLine();
        }

        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) _log.Enqueue($"{name}: {e.Data}"); };
        p.BeginErrorReadLine();
        return p;
    }

    /// <summary>Waits (a minute at most) until <paramref name="name"/> has an owner on the bus; fails early when <paramref name="daemon"/> exits.</summary>
    public async Task WaitForNameAsync(string busAddress, string name, Process? daemon)
    {
        var waited = Stopwatch.StartNew();
        while ((await ToolRun.RunAsync("busctl", [$"--address={busAddress}", "status", name])).Code != 0)
        {
            if (daemon is { HasExited: true })
            {
                throw new InvalidOperationException($"{name}'s daemon exited with {daemon.ExitCode}:\n{Log}");
            }

            if (waited.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new TimeoutException($"{name} did not appear on the bus:\n{Log}");
            }

            await Task.Delay(50);
        }
    }

    public void Dispose()
    {
        lock (_processes)
        {
            foreach (var p in _processes)
            {
                ServerProcess.Stop(p);
            }

            _processes.Clear();
        }
    }
}
