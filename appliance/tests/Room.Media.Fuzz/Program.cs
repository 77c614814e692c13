// Fuzz harness for Room.Media's parsers of network input (depacketizers, jitter buffers, Opus payloads).
//
// Instrument a published copy (never the shared build output); the instrumented Room.Media.dll only runs
// under a fuzzer:  dotnet publish -c Release -o /tmp/fuzz && sharpfuzz /tmp/fuzz/Room.Media.dll
//   AFL (Debian's afl++, SharpFuzz's out-of-process mode):
//       AFL_SKIP_BIN_CHECK=1 afl-fuzz -i corpus -o findings -t 5000 -m none -- dotnet /tmp/fuzz/Room.Media.Fuzz.dll --afl
//   libFuzzer (libfuzzer-dotnet): libfuzzer-dotnet --target_path=/tmp/fuzz/Room.Media.Fuzz corpus/
//   Replay files (regressions, or a corpus):        Room.Media.Fuzz --replay <file-or-directory>...
//   Random smoke run with a fixed seed (make test): Room.Media.Fuzz --random <count> <seed>
using Room.Media.Audio;
using Room.Media.Rtp;
using SharpFuzz;

if (args.Length > 0 && args[0] == "--replay")
{
    var n = 0;
    foreach (var path in args.Skip(1))
    {
        foreach (var file in Directory.Exists(path) ? Directory.EnumerateFiles(path) : [path])
        {
            Target.Run(File.ReadAllBytes(file));
            n++;
        }
    }

    Console.WriteLine($"replayed {n} inputs without a crash");
    return 0;
}

if (args.Length > 0 && args[0] == "--random")
{
    var count = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 2000;
    var rng = new Random(args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 1);
    for (var i = 0; i < count; i++)
    {
        var input = new byte[rng.Next(0, 4096)];
        rng.NextBytes(input);
        Target.Run(input);
    }

    Console.WriteLine($"ran {count} random inputs without a crash");
    return 0;
}

if (args.Length > 0 && args[0] == "--afl")
{
    Fuzzer.OutOfProcess.Run(stream =>
    {
        using var ms = new MemoryStream();
        stream.CopyTo(ms);
        Target.Run(ms.ToArray());
    });
    return 0;
}

Fuzzer.LibFuzzer.Run(span => Target.Run(span));
return 0;

/// <summary>
/// Input: byte 0 picks the target (H.264 / VP8 jitter buffer + depacketizer, Opus audio jitter buffer); then
/// records of [seq:2][ts:4][flags:1][len:2][payload:len] fed as packets, with reads in between.
/// </summary>
internal static class Target
{
    public static void Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }

        var kind = input[0] % 3;
        var rest = input[1..];
        if (kind == 2)
        {
            var clock = new SteppedClock();
            var audio = new AudioJitterBuffer(timeProvider: clock);
            var pcm = new short[AudioFormat.FrameSamples];
            while (Next(ref rest, out var seq, out var ts, out var flags, out var payload))
            {
                _ = seq;
                audio.Insert(ts, payload);
                if ((flags & 1) != 0)
                {
                    audio.ReadFrame(pcm);
                    clock.Ticks += TimeSpan.TicksPerMillisecond * AudioFormat.FrameMilliseconds;
                }

                if ((flags & 2) != 0)
                {
                    clock.Ticks += TimeSpan.TicksPerMillisecond * 7; // arrival jitter
                }
            }

            return;
        }

        IDepacketizer depack = kind == 0 ? new H264Depacketizer() : new Vp8Depacketizer();
        var jb = new JitterBuffer(depack, new JitterBufferOptions { Capacity = 64 });
        long now = 0;
        Span<ushort> nacks = stackalloc ushort[16];
        while (Next(ref rest, out var seq, out var ts, out var flags, out var payload))
        {
            now += (flags >> 4) * 1_000_000L;
            jb.Insert(seq, ts, (flags & 1) != 0, payload, now);
            jb.CollectNacks(nacks, now);
            while (jb.TryReadFrame(now, out var frame))
            {
                if (frame.Data.Length > 8 << 20)
                {
                    throw new InvalidOperationException("frame larger than the cap");
                }
            }

            // The depacketizer on its own, too.
            depack.IsFrameStart(payload);
            depack.IsKeyframe(payload);
            if ((flags & 2) != 0)
            {
                depack.Begin();
            }

            depack.Append(payload);
        }
    }

    private static bool Next(ref ReadOnlySpan<byte> s, out ushort seq, out uint ts, out byte flags, out ReadOnlySpan<byte> payload)
    {
        seq = 0;
        ts = 0;
        flags = 0;
        payload = default;
        if (s.Length < 9)
        {
            return false;
        }

        seq = (ushort)((s[0] << 8) | s[1]);
        ts = (uint)((s[2] << 24) | (s[3] << 16) | (s[4] << 8) | s[5]);
        flags = s[6];
        var len = Math.Min((s[7] << 8) | s[8], s.Length - 9);
        payload = s.Slice(9, len);
        s = s[(9 + len)..];
        return true;
    }
}

/// <summary>A clock the input moves (the jitter buffer times arrivals and reads with it), so runs are reproducible.</summary>
internal sealed class SteppedClock : TimeProvider
{
    public long Ticks { get; set; }

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Ticks;
}
