using System.Diagnostics;

namespace Room.ControllerUi.Tests;

/// <summary>
/// A private dbus-daemon with a session-like configuration on a unix socket in a temporary folder. It can be
/// stopped and started again on the same address, to test what happens when the bus itself goes away.
/// </summary>
public sealed class TestBus : IDisposable
{
    private readonly string _config;
    private Process? _daemon;

    public TestBus()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("room-ui-bus-").FullName;
        var socket = Path.Combine(Directory, "bus");
        Address = "unix:path=" + socket;
        _config = Path.Combine(Directory, "bus.conf");
        File.WriteAllText(_config, $"""
            <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
             "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
            <busconfig>
              <type>session</type>
              <listen>{Address}</listen>
              <auth>EXTERNAL</auth>
              <policy context="default">
                <allow send_destination="*" eavesdrop="true"/>
                <allow eavesdrop="true"/>
                <allow own="*"/>
              </policy>
            </busconfig>
            """);
        Start();
    }

    public string Address { get; }

    public string Directory { get; }

    public void Start()
    {
        var socket = Address["unix:path=".Length..];
        if (File.Exists(socket))
        {
            File.Delete(socket);
        }

        var psi = new ProcessStartInfo("dbus-daemon", ["--config-file=" + _config, "--print-address", "--nofork"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        _daemon = Process.Start(psi) ?? throw new InvalidOperationException("dbus-daemon did not start.");
        _daemon.ErrorDataReceived += (_, _) => { };
        _daemon.BeginErrorReadLine();

        // It prints its address once it listens.
        var line = _daemon.StandardOutput.ReadLine();
        if (string.IsNullOrEmpty(line))
        {
            throw new InvalidOperationException("dbus-daemon printed no address.");
        }
    }

    public void Stop()
    {
        if (_daemon is { HasExited: false } d)
        {
            d.Kill();
            d.WaitForExit();
        }

        _daemon?.Dispose();
        _daemon = null;
    }

    public void Dispose()
    {
        Stop();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
