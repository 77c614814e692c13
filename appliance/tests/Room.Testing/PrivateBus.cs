using System.Diagnostics;

namespace Room.Testing;

/// <summary>
/// A real dbus-daemon on a Unix socket in a temporary folder, with a permissive policy, for one test class.
/// </summary>
public sealed class PrivateBus : IDisposable
{
    private readonly Process _daemon;

    public PrivateBus()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("room-bus-").FullName;
        var socket = Path.Combine(Directory, "bus");
        var config = Path.Combine(Directory, "bus.conf");
        File.WriteAllText(config, Config(socket));
        (_daemon, Address) = StartDaemon(config);
    }

    /// <summary>
    /// A session-type bus on <paramref name="socket"/> where every connection may own and call anything (a test's
    /// own bus); <paramref name="anyUser"/> also lets other users connect (a service that drops its privileges), and
    /// <paramref name="serviceDirectory"/> holds .service files of services the bus starts when first called.
    /// </summary>
    internal static string Config(string socket, bool anyUser = false, string? serviceDirectory = null) => $"""
        <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
         "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
        <busconfig>
          <type>session</type>
          <listen>unix:path={socket}</listen>{(serviceDirectory is null ? "" : $"\n  <servicedir>{serviceDirectory}</servicedir>")}
          <auth>EXTERNAL</auth>
          <policy context="default">{(anyUser ? "\n    <allow user=\"*\"/>" : "")}
            <allow send_destination="*" eavesdrop="true"/>
            <allow eavesdrop="true"/>
            <allow own="*"/>
          </policy>
        </busconfig>
        """;

    /// <summary>Starts dbus-daemon in the foreground with <paramref name="config"/>; returns it and the address it printed.</summary>
    internal static (Process Daemon, string Address) StartDaemon(string config)
    {
        var daemon = Process.Start(new ProcessStartInfo("dbus-daemon", ["--config-file", config, "--nofork", "--print-address"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("dbus-daemon did not start.");
        var line = daemon.StandardOutput.ReadLine();
        if (line is null)
        {
            var error = daemon.StandardError.ReadToEnd();
            ServerProcess.Stop(daemon);
            throw new InvalidOperationException("dbus-daemon printed no address: " + error);
        }

        daemon.ErrorDataReceived += (_, _) => { };
        daemon.BeginErrorReadLine();
        return (daemon, line.Trim());
    }

    /// <summary>The bus address, for --bus and RoomBusClient.ConnectAsync.</summary>
    public string Address { get; }

    /// <summary>A scratch folder that lives as long as the bus.</summary>
    public string Directory { get; }

    public void Dispose() => ServerProcess.Stop(_daemon, Directory);
}
