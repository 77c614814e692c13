using System.Diagnostics;
using System.Globalization;

namespace Room.CallQuality.Bench;

/// <summary>
/// A busy looped clip for Chromium's fake camera (--use-file-for-fake-video-capture): its default pattern is mostly
/// flat and leaves the encoder below its target. ffmpeg's moving test pattern with temporal noise, 4 s of y4m.
/// </summary>
internal static class Clip
{
    public static string? Make(string folder, int width, int height, int fps)
    {
        var path = Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"busy-{width}x{height}-{fps}.y4m"));
        if (File.Exists(path)) return path;
        if (!File.Exists("/usr/bin/ffmpeg")) return null;
        var psi = new ProcessStartInfo("/usr/bin/ffmpeg")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            ArgumentList =
            {
                "-loglevel", "error", "-f", "lavfi", "-i", string.Create(CultureInfo.InvariantCulture, $"testsrc2=size={width}x{height}:rate={fps}"),
                "-vf", "noise=alls=12:allf=t", "-t", "4", "-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", "-y", path + ".part",
            },
        };
        using var p = Process.Start(psi)!;
        string error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException("ffmpeg could not make the clip: " + error);
        File.Move(path + ".part", path);
        return path;
    }
}
