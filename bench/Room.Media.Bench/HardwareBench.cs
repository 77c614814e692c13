using System.Diagnostics;
using Room.Media;
using Room.Media.Audio;
using Room.Media.Interop;

/// <summary>
/// The CPU cost of what Room.Media adds around hardware codecs and odd-rate audio: I420 to NV12 for a VAAPI
/// upload, a full upload/download through a real hardware frames context (Vulkan on lavapipe here, so the transfer
/// itself is a memory copy in software, not a GPU DMA), and 44.1 kHz to 48 kHz resampling per 20 ms block.
/// </summary>
internal static unsafe class HardwareBench
{
    public static void Run()
    {
        Console.WriteLine("== hardware-path plumbing and resampling (CPU time, this machine)");
        foreach (var layer in new[] { VideoLayer.P720, VideoLayer.P1080 })
        {
            Nv12(layer);
        }

        SurfaceRoundTrip(VideoLayer.P720);
        Resample(44100, 2);
        Resample(16000, 1);
        Console.WriteLine();
    }

    private static void Nv12(VideoLayer layer)
    {
        var i420 = new byte[layer.I420Size];
        var frame = FFmpeg.av_frame_alloc();
        frame->Width = layer.Width;
        frame->Height = layer.Height;
        frame->Format = AVPixelFormat.NV12;
        FFmpeg.Check(FFmpeg.av_frame_get_buffer(frame, 32), "av_frame_get_buffer");
        const int n = 200;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        for (var i = 0; i < n; i++)
        {
            PixelCopy.I420ToNv12(i420, frame, layer.Width, layer.Height);
        }

        var ms = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds / n;
        FFmpeg.av_frame_free(&frame);
        Console.WriteLine($"  I420 -> NV12 for a VAAPI upload, {layer.Width}x{layer.Height}: {ms:F2} ms CPU/frame");
    }

    private static void SurfaceRoundTrip(VideoLayer layer)
    {
        using var device = HwDevice.TryOpen("vulkan", null, out var why);
        if (device is null)
        {
            Console.WriteLine("  surface upload/download: no Vulkan device (" + why + ")");
            return;
        }

        using var pool = HwFrames.TryCreate(device, FFmpeg.av_get_pix_fmt("vulkan"), AVPixelFormat.NV12, layer.Width, layer.Height, 4, out why);
        if (pool is null)
        {
            Console.WriteLine("  surface upload/download: " + why);
            return;
        }

        var i420 = new byte[layer.I420Size];
        const int n = 60;
        pool.Upload(i420);
        var wall = Stopwatch.StartNew();
        for (var i = 0; i < n; i++)
        {
            pool.Upload(i420);
            pool.DownloadCurrent();
        }

        Console.WriteLine($"  surface upload+download through FFmpeg's hwcontext (Vulkan on lavapipe, not a GPU), {layer.Width}x{layer.Height}: {wall.Elapsed.TotalMilliseconds / n:F2} ms/frame wall");
    }

    private static void Resample(int rate, int channels)
    {
        var blockFrames = rate / 50;
        var input = new short[blockFrames * channels];
        for (var i = 0; i < blockFrames; i++)
        {
            input.AsSpan(i * channels, channels).Fill((short)(8000 * Math.Sin(2 * Math.PI * 1000 * i / rate)));
        }

        using var blocker = new ResamplingBlocker(rate, channels, blockFrames);
        var count = new int[1];
        Action<ReadOnlySpan<short>, int[]> onBlock = static (_, c) => c[0]++;
        const int n = 5000; // 100 s of audio
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        for (var i = 0; i < n; i++)
        {
            blocker.Push(input, onBlock, count);
        }

        var us = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds * 1000 / n;
        Console.WriteLine($"  resampling {rate / 1000.0:0.#} kHz x{channels} -> 48 kHz: {us:F1} us CPU per 20 ms block ({us / 200:F2} % of one core), {count[0]} blocks out of {n} in");
    }
}
