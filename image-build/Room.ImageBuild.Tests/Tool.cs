using System.Diagnostics;
using System.Security.Cryptography;

namespace Room.ImageBuild.Tests;

/// <summary>Runs the image build's scripts and Debian's tools as real processes.</summary>
internal static class Tool
{
    public static string ImageBuild(string relative) => Path.Combine(Room.Testing.RepoPaths.Root, "image-build", relative);

    public static Task<(int Code, string Out, string Err)> RunAsync(string exe, IEnumerable<string> args,
        IReadOnlyDictionary<string, string>? env = null, string? stdin = null) => Room.Testing.ToolRun.RunAsync(exe, args, env, stdin);

    public static async Task<string> RunOkAsync(string exe, IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null)
    {
        var (code, o, e) = await RunAsync(exe, args, env);
        Assert.True(code == 0, $"{exe} {string.Join(' ', args)} failed ({code}): {e}{o}");
        return o;
    }

    public static string Sha256(string file) =>
        File.Exists(file) ? Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file))) : "(none)";
}
