using System.Diagnostics;
using System.Globalization;
using Tmds.DBus.Protocol;

namespace Room.Testing;

/// <summary>
/// Debian's real systemd-timedated and systemd-timesyncd on a private dbus-daemon (<see cref="BusAddress"/>), each in
/// a mount namespace of its own so that nothing they write reaches the machine:
/// <list type="bullet">
/// <item>timedated is started by the bus when first called (as on a box; it leaves when idle) with an overlay over /etc
/// whose writes land in <see cref="EtcChanges"/>, and without CAP_SYS_TIME, so it cannot tell the kernel a time zone
/// or set the clock;</item>
/// <item>timesyncd runs as its own user without any capability (it cannot set the clock) in a network namespace that
/// has only loopback (its NTP requests go nowhere), reads <see cref="SyncDirectory"/> as
/// /run/systemd/timesyncd.conf.d, and keeps its clock file on a tmpfs;</item>
/// <item>a stand-in for systemd's manager (org.freedesktop.systemd1, which only PID 1 provides) answers RestartUnit
/// for <see cref="TimesyncUnit"/> as systemd does: it replies with a job, then stops timesyncd and starts it again.</item>
/// </list>
/// </summary>
public sealed class TimeLab : IDisposable
{
    public const string TimesyncUnit = "systemd-timesyncd.service";
    private const string TimedateName = "org.freedesktop.timedate1";
    private const string TimesyncName = "org.freedesktop.timesync1";

    private readonly LabProcesses _processes = new();
    private readonly List<string> _restarts = [];
    private DBusConnection? _manager;
    private Process? _timesyncd;
    private string _timesyncdScript = "";

    private TimeLab()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("room-time-").FullName;
        // timesyncd runs as its own user: it must reach the bus socket and read the drop-in folder.
        File.SetUnixFileMode(Directory, (UnixFileMode)0b111_101_101);
        SyncDirectory = Path.Combine(Directory, "timesyncd.conf.d");
        EtcChanges = Path.Combine(Directory, "etc-upper");
        System.IO.Directory.CreateDirectory(SyncDirectory);
        System.IO.Directory.CreateDirectory(EtcChanges);
        System.IO.Directory.CreateDirectory(Path.Combine(Directory, "etc-work"));
    }

    public string Directory { get; }

    public string BusAddress { get; private set; } = "";

    /// <summary>What timedated changed in its view of /etc (the overlay's upper layer).</summary>
    public string EtcChanges { get; }

    /// <summary>The folder timesyncd reads as /run/systemd/timesyncd.conf.d (roomd's Admin:TimeSyncDirectory).</summary>
    public string SyncDirectory { get; }

    /// <summary>The process id of the timesyncd running now.</summary>
    public int TimesyncdPid => _timesyncd?.Id ?? 0;

    /// <summary>The RestartUnit calls the systemd stand-in answered, as "UNIT MODE".</summary>
    public IReadOnlyList<string> Restarts
    {
        get
        {
            lock (_restarts)
            {
                return [.. _restarts];
            }
        }
    }

    public string Log => _processes.Log;

    /// <summary>
    /// Starts the bus, timesyncd and the systemd stand-in; timedated starts on its first call. In timedated's view,
    /// <paramref name="zoneTimedatedLacks"/> (if any) is an empty file, as if its tzdata did not have it.
    /// </summary>
    public static async Task<TimeLab> StartAsync(string? zoneTimedatedLacks = null)
    {
        var lab = new TimeLab();
        try
        {
            await lab.SetUpAsync(zoneTimedatedLacks);
            return lab;
        }
        catch
        {
            lab.Dispose();
            throw;
        }
    }

    private async Task SetUpAsync(string? zoneTimedatedLacks)
    {
        var services = Path.Combine(Directory, "services");
        System.IO.Directory.CreateDirectory(services);
        var bus = Path.Combine(Directory, "bus");
        var timedated = await WriteScriptAsync("timedated.sh", $"""
            mount -t overlay overlay -o 'lowerdir=/etc,upperdir={EtcChanges},workdir={Path.Combine(Directory, "etc-work")}' /etc
            {(zoneTimedatedLacks is null ? "" : $"mount --bind '{await EmptyFileAsync()}' '/usr/share/zoneinfo/{zoneTimedatedLacks}'")}
            export DBUS_SYSTEM_BUS_ADDRESS='unix:path={bus}'
            echo $$ >> '{TimedatedPids}'
            exec setpriv --bounding-set=-sys_time --inh-caps=-sys_time /lib/systemd/systemd-timedated
            """);
        await File.WriteAllTextAsync(Path.Combine(services, TimedateName + ".service"),
            $"[D-BUS Service]\nName={TimedateName}\nExec=/usr/bin/unshare -m {timedated}\n");
        BusAddress = await _processes.StartBusAsync(Directory, services);

        _timesyncdScript = await WriteScriptAsync("timesyncd.sh", $"""
            ip link set lo up
            mkdir -p /run/systemd
            mount -t tmpfs tmpfs /run/systemd
            mkdir -p /run/systemd/netif/links /run/systemd/timesync /run/systemd/timesyncd.conf.d
            chown systemd-timesync:systemd-timesync /run/systemd/timesync
            mount --bind '{SyncDirectory}' /run/systemd/timesyncd.conf.d
            mount -t tmpfs tmpfs /var/lib/systemd
            mkdir /var/lib/systemd/timesync
            chown systemd-timesync:systemd-timesync /var/lib/systemd/timesync
            export DBUS_SYSTEM_BUS_ADDRESS='{BusAddress}'
            exec setpriv --reuid=systemd-timesync --regid=systemd-timesync --clear-groups --bounding-set=-all --inh-caps=-all /lib/systemd/systemd-timesyncd
            """);
        await StartTimesyncdAsync();

        _manager = new DBusConnection(BusAddress);
        await _manager.ConnectAsync();
        _manager.AddMethodHandler(new SystemdManager(this));
        if (!await _manager.TryRequestNameAsync("org.freedesktop.systemd1", RequestNameOptions.None))
        {
            throw new InvalidOperationException("The systemd stand-in could not own org.freedesktop.systemd1.");
        }
    }

    /// <summary>A property of timedated or timesyncd as busctl prints it (e.g. 's "Europe/Berlin"', 'as 2 "a" "b"').</summary>
    public async Task<string> GetPropertyAsync(string service, string name)
    {
        var (path, iface) = service == TimedateName
            ? ("/org/freedesktop/timedate1", TimedateName)
            : ("/org/freedesktop/timesync1", "org.freedesktop.timesync1.Manager");
        return (await ToolRun.RunOkAsync("busctl", [$"--address={BusAddress}", "get-property", service, path, iface, name])).Trim();
    }

    /// <summary>The effective capabilities of the process that owns <paramref name="service"/> on the bus (CapEff, hex).</summary>
    public async Task<ulong> EffectiveCapabilitiesAsync(string service)
    {
        var pid = (await ToolRun.RunOkAsync("busctl", [$"--address={BusAddress}", "call", "org.freedesktop.DBus", "/org/freedesktop/DBus",
            "org.freedesktop.DBus", "GetConnectionUnixProcessID", "s", service])).Trim().Split(' ')[1];
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("CapEff:", StringComparison.Ordinal));
        return ulong.Parse(line["CapEff:".Length..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }

    public void Dispose()
    {
        _manager?.Dispose();
        _processes.Dispose();
        // The bus started timedated detached from itself (its parent is PID 1): each one is stopped by the id it wrote.
        foreach (var pid in File.Exists(TimedatedPids) ? File.ReadAllLines(TimedatedPids) : [])
        {
            StopTimedated(int.Parse(pid, CultureInfo.InvariantCulture));
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Each timedated the bus started writes its process id here (the unshare, script and daemon are one process).</summary>
    private string TimedatedPids => Path.Combine(Directory, "timedated.pids");

    private static void StopTimedated(int pid)
    {
        try
        {
            // Only while that id is still a timedated: one that left when idle may have had its id reused.
            if (File.ReadAllText($"/proc/{pid}/cmdline").StartsWith("/lib/systemd/systemd-timedated", StringComparison.Ordinal))
            {
                using var p = Process.GetProcessById(pid);
                p.Kill();
                p.WaitForExit(5000);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Gone already.
        }
    }

    private async Task StartTimesyncdAsync()
    {
        _timesyncd = _processes.Start("timesyncd", "unshare", ["-m", "-n", _timesyncdScript]);
        await _processes.WaitForNameAsync(BusAddress, TimesyncName, _timesyncd);
    }

    /// <summary>What systemd does for RestartUnit of timesyncd once the job runs: stop the service, start it again.</summary>
    private async Task RestartTimesyncdAsync()
    {
        if (_timesyncd is { HasExited: false } old)
        {
            old.Kill();
            await old.WaitForExitAsync();
        }

        await StartTimesyncdAsync();
    }

    private async Task<string> WriteScriptAsync(string name, string body)
    {
        var path = Path.Combine(Directory, name);
        await File.WriteAllTextAsync(path, "#!/bin/sh\nset -e\nmount --make-rprivate /\n" + body.Replace("\r", "", StringComparison.Ordinal) + "\n");
        File.SetUnixFileMode(path, (UnixFileMode)0b111_101_101);
        return path;
    }

    private async Task<string> EmptyFileAsync()
    {
        var path = Path.Combine(Directory, "empty-zone");
        await File.WriteAllBytesAsync(path, []);
        return path;
    }

    /// <summary>org.freedesktop.systemd1.Manager.RestartUnit for the one unit the lab has; NoSuchUnit for any other.</summary>
    private sealed class SystemdManager(TimeLab lab) : IPathMethodHandler
    {
        private int _jobs;

        public string Path => "/org/freedesktop/systemd1";

        public bool HandlesChildPaths => false;

        public ValueTask HandleMethodAsync(MethodContext context)
        {
            var request = context.Request;
            if (request.InterfaceAsString != "org.freedesktop.systemd1.Manager" || request.MemberAsString != "RestartUnit" || request.SignatureAsString != "ss")
            {
                context.ReplyUnknownMethodError();
                return ValueTask.CompletedTask;
            }

            var reader = request.GetBodyReader();
            var (unit, mode) = (reader.ReadString(), reader.ReadString());
            lock (lab._restarts)
            {
                lab._restarts.Add($"{unit} {mode}");
            }

            if (unit != TimesyncUnit)
            {
                context.ReplyError("org.freedesktop.systemd1.NoSuchUnit", $"Unit {unit} not found.");
                return ValueTask.CompletedTask;
            }

            using var writer = context.CreateReplyWriter("o");
            writer.WriteObjectPath($"/org/freedesktop/systemd1/job/{Interlocked.Increment(ref _jobs)}");
            context.Reply(writer.CreateMessage());
            _ = Task.Run(lab.RestartTimesyncdAsync);
            return ValueTask.CompletedTask;
        }
    }
}
