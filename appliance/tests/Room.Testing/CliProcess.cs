using System.Diagnostics;

namespace Room.Testing;

public sealed record CliResult(int ExitCode, string Output, string Error);

/// <summary>Runs roomctl as a real process.</summary>
public static class CliProcess
{
    public static Task<CliResult> RunAsync(string busAddress, params string[] args) => RunWithInputAsync(busAddress, null, args);

    /// <summary>Runs roomctl with <paramref name="stdin"/> as its standard input (PINs go there, never on the command line).</summary>
    public static async Task<CliResult> RunWithInputAsync(string busAddress, string? stdin, params string[] args)
    {
        var psi = Create(busAddress, args);
        psi.RedirectStandardInput = true;
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("roomctl did not start.");
        await process.StandardInput.WriteAsync(stdin ?? "");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(cts.Token);
        return new CliResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Starts a long-running roomctl (e.g. watch); the caller reads its output and kills it.</summary>
    public static Process Start(string busAddress, params string[] args) =>
        Process.Start(Create(busAddress, args)) ?? throw new InvalidOperationException("roomctl did not start.");

    private static ProcessStartInfo Create(string busAddress, string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(RepoPaths.Output("appliance/Room.Cli", "roomctl.dll"));
        psi.ArgumentList.Add("--bus");
        psi.ArgumentList.Add(busAddress);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        return psi;
    }
}
