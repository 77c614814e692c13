using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Room.MeetingServer.Tests.Support;

/// <summary>Where things are, and a child process whose output lines can be awaited.</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string Configuration { get; } =
        new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent?.Name is { } c && c != "bin" ? c : "Release";

    public static string ServerDll => Path.Combine(Root, "meeting-server", "Room.MeetingServer", "bin", Configuration, "net10.0", "room-meeting-server.dll");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Room.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("no Room.sln above " + AppContext.BaseDirectory);
    }

    /// <summary>A port free right now on loopback (the service started next binds it; a clash fails loudly, not silently).</summary>
    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public static string TempDir(string prefix)
    {
        string d = Path.Combine(Path.GetTempPath(), $"{prefix}-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40]);
        Directory.CreateDirectory(d);
        return d;
    }
}

/// <summary>A started process; its stdout+stderr lines are kept and can be awaited.</summary>
public sealed class ChildProcess : IDisposable
{
    private readonly Process _p;
    private readonly StringBuilder _log = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Done)> _waiters = [];

    public ChildProcess(string file, IEnumerable<string> args, string? stdin = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin is not null, UseShellExecute = false };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[name] = value;
        }

        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        _p = new Process { StartInfo = psi, EnableRaisingEvents = true };
        _p.OutputDataReceived += (_, e) => Line(e.Data);
        _p.ErrorDataReceived += (_, e) => Line(e.Data);
        _p.Exited += (_, _) =>
        {
            lock (_log)
            {
                foreach (var w in _waiters)
                {
                    w.Done.TrySetException(new InvalidOperationException($"{file} exited ({_p.ExitCode}) before the awaited line:\n{_log}"));
                }
            }
        };
        _p.Start();
        _p.BeginOutputReadLine();
        _p.BeginErrorReadLine();
        if (stdin is not null)
        {
            _p.StandardInput.WriteLine(stdin);
            _p.StandardInput.Close();
        }
    }

    private void Line(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
            foreach (var w in _waiters.Where(w => w.Match(line)).ToList())
            {
                w.Done.TrySetResult(line);
                _waiters.Remove(w);
            }
        }
    }

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>The first line (past or future) that matches; fails if the process exits first or after a generous guard.</summary>
    public Task<string> WaitForLineAsync(Func<string, bool> match)
    {
        lock (_log)
        {
            foreach (var line in _log.ToString().Split('\n'))
            {
                if (match(line.TrimEnd('\r')))
                {
                    return Task.FromResult(line.TrimEnd('\r'));
                }
            }

            var tcs = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_p.HasExited)
            {
                tcs.SetException(new InvalidOperationException($"process exited ({_p.ExitCode}):\n{_log}"));
            }
            else
            {
                _waiters.Add((match, tcs));
            }

            return tcs.Task.WaitAsync(TimeSpan.FromMinutes(2));
        }
    }

    public int Id => _p.Id;

    public bool HasExited => _p.HasExited;

    public async Task<int> WaitForExitAsync()
    {
        await _p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        _p.WaitForExit();
        return _p.ExitCode;
    }

    public static async Task<(int Code, string Log)> RunAsync(string file, IEnumerable<string> args, string? stdin = null)
    {
        using var p = new ChildProcess(file, args, stdin);
        int code = await p.WaitForExitAsync();
        return (code, p.Log);
    }

    public void Dispose()
    {
        if (!_p.HasExited)
        {
            _p.Kill(entireProcessTree: true);
            _p.WaitForExit();
        }

        _p.Dispose();
    }
}
