using Room.Cli;
using Room.Testing;

namespace Room.Appliance.Tests;

/// <summary>
/// roomctl's own code (everything but Program.cs's three lines) run in the test process against a real roomd:
/// for tests that run many commands. Tests of the executable itself (exit codes, stdin, streaming) use <see cref="CliProcess"/>.
/// </summary>
internal static class InProcessRoomctl
{
    public static Task<CliResult> RunAsync(string busAddress, params string[] args) => RunWithInputAsync(busAddress, null, args);

    public static async Task<CliResult> RunWithInputAsync(string busAddress, string? stdin, params string[] args)
    {
        using var input = new StringReader(stdin ?? "");
        await using var output = new StringWriter();
        await using var error = new StringWriter();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var code = await Roomctl.RunAsync(["--bus", busAddress, .. args], input, output, error, timeout.Token);
        return new CliResult(code, output.ToString(), error.ToString());
    }
}
