using System.Diagnostics;
using System.Security.Cryptography;

namespace Room.ImageBuild.Tests;

/// <summary>Runs the image build's scripts and Debian's tools as real processes.</summary>
internal static class Tool
{
    public static string ImageBuild(string relative) => Path.Combine(Room.Testing.RepoPaths.Root, "image-build", relative);

    public static async Task<(int Code, string Out, string Err)> RunAsync(string exe, IEnumerable<string> args,
        IReadOnlyDictionary<string, string>? env = null, string? stdin = null)
    {
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

    public static async Task<string> RunOkAsync(string exe, IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null)
    {
        var (code, o, e) = await RunAsync(exe, args, env);
        Assert.True(code == 0, $"{exe} {string.Join(' ', args)} failed ({code}): {e}{o}");
        return o;
    }

    public static string Sha256(string file) =>
        File.Exists(file) ? Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file))) : "(none)";
}
