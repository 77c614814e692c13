using System.Diagnostics;

namespace Room.Testing;

/// <summary>Runs a command-line tool (RAUC, the image build's scripts, nft, ssh-keygen ...) as a real process to its end.</summary>
public static class ToolRun
{
    /// <summary>Runs a program to its end (3 minutes at most) and returns its exit code and output.</summary>
    public static async Task<(int Code, string Out, string Err)> RunAsync(string exe, IEnumerable<string> args,
        IReadOnlyDictionary<string, string>? env = null, string? stdin = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        var psi = new ProcessStartInfo(exe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }

        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"{exe} did not start");
        await p.StandardInput.WriteAsync(stdin ?? "");
        p.StandardInput.Close();
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{exe} {string.Join(' ', args)} did not finish within 3 minutes");
        }

        return (p.ExitCode, await o, await e);
    }

    /// <summary><see cref="RunAsync"/>, failing with the program's output when it exits non-zero.</summary>
    public static async Task<string> RunOkAsync(string exe, IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null)
    {
        var list = args.ToList();
        var (code, o, e) = await RunAsync(exe, list, env);
        return code == 0 ? o : throw new InvalidOperationException($"{exe} {string.Join(' ', list)} failed ({code}): {e}{o}");
    }
}
