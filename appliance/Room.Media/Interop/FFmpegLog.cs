using System.Runtime.InteropServices;

namespace Room.Media.Interop;

/// <summary>
/// FFmpeg's log, captured per thread while a codec or device is being probed, so that a refusal carries FFmpeg's own
/// explanation ("Cannot open a VA display from DRM device ...", "Could not find a valid device") instead of a bare
/// error code. Outside a capture every message is dropped (the level check that the default logger does is ours now).
/// </summary>
internal static unsafe class FFmpegLog
{
    private const int MaxLines = 16;

    [ThreadStatic]
    private static List<string>? t_lines;

    private static int s_installed;

    public static void Install()
    {
        if (Interlocked.Exchange(ref s_installed, 1) == 0)
        {
            FFmpeg.av_log_set_callback(&OnLog);
        }
    }

    /// <summary>Starts capturing this thread's FFmpeg messages (error .. verbose) until the scope is disposed.</summary>
    public static Scope Capture()
    {
        FFmpeg.EnsureSupported();
        var previous = t_lines;
        var mine = new List<string>();
        t_lines = mine;
        return new Scope(previous, mine);
    }

    [UnmanagedCallersOnly]
    private static void OnLog(void* avcl, int level, byte* fmt, nint vl)
    {
        var lines = t_lines;
        if (lines is null || level > FFmpeg.AV_LOG_VERBOSE || lines.Count >= MaxLines || fmt is null)
        {
            return;
        }

        const int size = 512;
        var line = stackalloc byte[size];
        var prefix = 0;
        if (FFmpeg.av_log_format_line2(avcl, level, fmt, vl, line, size, &prefix) < 0)
        {
            return;
        }

        var text = Marshal.PtrToStringUTF8((IntPtr)line)?.Trim();
        if (!string.IsNullOrEmpty(text) && !lines.Contains(text))
        {
            lines.Add(text);
        }
    }

    public readonly struct Scope(List<string>? previous, List<string> mine) : IDisposable
    {
        /// <summary>What FFmpeg said so far in this scope, one message after another ("" if nothing).</summary>
        public string Text
        {
            get
            {
                if (mine.Count == 0)
                {
                    return "";
                }

                var joined = string.Join(" / ", mine);
                return joined.Length <= 400 ? joined : joined[..400] + "...";
            }
        }

        /// <summary>"what: FFmpeg's messages (error text)".</summary>
        public string Explain(string what, int err)
        {
            var said = Text;
            return said.Length > 0 ? $"{what}: {said} ({FFmpeg.ErrorText(err)})" : $"{what}: {FFmpeg.ErrorText(err)}";
        }

        /// <summary>Ends the scope; what it captured is also kept by an enclosing scope.</summary>
        public void Dispose()
        {
            if (previous is not null)
            {
                foreach (var line in mine)
                {
                    if (previous.Count < MaxLines && !previous.Contains(line))
                    {
                        previous.Add(line);
                    }
                }
            }

            t_lines = previous;
        }
    }
}
