using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Room.ControllerUi.Tests;

/// <summary>Where the repository and the built programs are.</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string Configuration { get; } =
        typeof(Repo).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyConfigurationAttribute), false)
            .OfType<System.Reflection.AssemblyConfigurationAttribute>().FirstOrDefault()?.Configuration ?? "Release";

    public static string Roomd => Path.Combine(Root, "appliance", "Room.Appliance", "bin", Configuration, "net10.0", "roomd.dll");

    public static string Panel => Path.Combine(Root, "controller-ui", "Room.ControllerUi", "bin", Configuration, "net10.0", "Room.ControllerUi.dll");

    /// <summary>artifacts/ of the repository (created on first use: a test run alone has no `make` to make it).</summary>
    public static string Artifacts => Directory.CreateDirectory(Path.Combine(Root, "artifacts")).FullName;

    public static string Screenshots => Directory.CreateDirectory(Path.Combine(Artifacts, "screenshots")).FullName;

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static string FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Room.sln")))
            {
                return d.FullName;
            }
        }

        throw new InvalidOperationException("Room.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>A dotnet program run for a test, its output kept for the failure message.</summary>
public sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private bool _disposed;

    public ChildProcess(string dll, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(dll);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment.Remove("ASPNETCORE_URLS");
        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }

        _process = new Process { StartInfo = psi };
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        if (!_process.Start())
        {
            throw new InvalidOperationException("Could not start " + dll);
        }

        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public bool HasExited => _process.HasExited;

    /// <summary>
    /// Waits until the process has exited and everything it wrote has been read (HasExited turns true before the
    /// last lines of output are delivered); false if it still runs after <paramref name="timeout"/>.
    /// </summary>
    public async Task<bool> ExitedAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public void Kill()
    {
        if (!_disposed && !_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
    }

    public void Dispose()
    {
        Kill();
        _disposed = true;
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}

/// <summary>The real roomd, simulated devices, on the test's bus.</summary>
public sealed class RoomdProcess : IDisposable
{
    public const string AdminPin = "4711";
    public const string RoomName = "Aquarium · 3. OG";

    private readonly string _bus;
    private readonly string _stateDir;
    private readonly DateTimeOffset _now = DateTimeOffset.UtcNow;
    private ChildProcess? _process;

    public RoomdProcess(string bus, string stateDir)
    {
        _bus = bus;
        _stateDir = stateDir;
    }

    public string Output => _process?.Output ?? "";

    /// <summary>roomd's meeting identity folder (as roomctl enroll fills it: key, certificate, the tenant's branding).</summary>
    public string IdentityDirectory => Path.Combine(_stateDir, "meeting-identity");

    /// <summary>Started and not stopped by <see cref="Kill"/> (it may still have exited by itself).</summary>
    public bool IsRunning => _process is not null;

    public void Start()
    {
        if (!File.Exists(Repo.Roomd))
        {
            throw new InvalidOperationException($"roomd is not built: {Repo.Roomd} (dotnet build appliance/Room.Appliance -c {Repo.Configuration}).");
        }

        string[] meetings =
        [
            "Projekt Nordlicht – Statusrunde", "test-loopback://meet.nordwind.example/nordlicht", Iso(_now.AddMinutes(-10)), Iso(_now.AddMinutes(50)),
            "Kundentermin Stadtwerke", "test-loopback://meet.example.org/stadtwerke", Iso(_now.AddMinutes(90)), Iso(_now.AddMinutes(150)),
            "Team-Retro", "test-loopback://meet.nordwind.example/retro", Iso(_now.AddHours(4)), Iso(_now.AddHours(5)),
        ];
        var args = new List<string>
        {
            "--bus", _bus, "--Room:StateDirectory", _stateDir, "--Room:AdminPin", AdminPin, "--Room:Name", RoomName,
            // Network settings go to systemd-networkd over this bus, where none runs: roomd checks them and, for valid
            // ones, answers that networkd did not take them (the real networkd: Room.Appliance.Tests AdminNetworkTests).
            "--Admin:Network", "networkd", "--Admin:NetworkInterface", "lan0",
            "--Admin:NetworkConfigDirectory", Path.Combine(_stateDir, "network"), "--Admin:NetworkBus", _bus,
            "--MeetingServer:IdentityDirectory", IdentityDirectory,
        };
        Directory.CreateDirectory(IdentityDirectory);
        for (var i = 0; i < meetings.Length / 4; i++)
        {
            args.AddRange([$"--Room:Calendar:{i}:Title", meetings[i * 4], $"--Room:Calendar:{i}:Uri", meetings[(i * 4) + 1],
                $"--Room:Calendar:{i}:Start", meetings[(i * 4) + 2], $"--Room:Calendar:{i}:End", meetings[(i * 4) + 3]]);
        }

        _process = new ChildProcess(Repo.Roomd, args);
    }

    public void Kill()
    {
        _process?.Dispose();
        _process = null;
    }

    public void Dispose() => Kill();

    private static string Iso(DateTimeOffset t) => t.ToString("O", CultureInfo.InvariantCulture);
}

/// <summary>The real panel (Room.ControllerUi) as a process.</summary>
public static class PanelProcess
{
    /// <summary>Starts the panel serving <paramref name="url"/> with <paramref name="args"/> and waits until it answers /healthz.</summary>
    public static async Task<ChildProcess> StartAsync(string url, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var panel = new ChildProcess(Repo.Panel, ["--urls", url.TrimEnd('/'), .. args], environment);
        try
        {
            using var http = new HttpClient();
            var until = DateTime.UtcNow + PanelFixture.StartHangGuard;
            while (DateTime.UtcNow < until && !panel.HasExited)
            {
                try
                {
                    using var r = await http.GetAsync(new Uri(new Uri(url), "healthz"));
                    if (r.IsSuccessStatusCode)
                    {
                        return panel;
                    }
                }
                catch (HttpRequestException)
                {
                }

                await Task.Delay(100);
            }

            throw new TimeoutException("The panel did not start:\n" + panel.Output);
        }
        catch
        {
            panel.Dispose();
            throw;
        }
    }
}
