// Fuzz harness for Room.Rtc's parsers of network input: STUN/TURN messages, SDP (and the answer we build from a
// remote offer), ICE candidate lines, RTP headers and extensions, RTCP compounds (SR/RR, NACK, PLI/FIR, REMB,
// transport-wide feedback) and SRTP/SRTCP unprotect. Any exception other than RtcFormatException (the typed
// refusal) is a finding; so is a protect/unprotect round trip that does not give back the input.
//
// Instrument a published copy (never the shared build output); the instrumented Room.Rtc.dll only runs under a fuzzer:
//   dotnet publish appliance/tests/Room.Rtc.Fuzz -c Release -o /tmp/rtcfuzz && sharpfuzz /tmp/rtcfuzz/Room.Rtc.dll
//   AFL (Debian's afl++, SharpFuzz's out-of-process mode):
//       AFL_SKIP_BIN_CHECK=1 afl-fuzz -i corpus -o findings -t 5000 -m none -- dotnet /tmp/rtcfuzz/Room.Rtc.Fuzz.dll --afl
//   libFuzzer (libfuzzer-dotnet): libfuzzer-dotnet --target_path=/tmp/rtcfuzz/Room.Rtc.Fuzz corpus/
//   Replay files (regressions, or a corpus):        Room.Rtc.Fuzz --replay <file-or-directory>...
//   Random smoke run with a fixed seed (make test): Room.Rtc.Fuzz --random <count> <seed>
//   Write the seed corpus (real packets from our writers, RFC 5769, Janus/Chromium SDP): Room.Rtc.Fuzz --seeds <dir>
using Room.Rtc.Fuzz;
using SharpFuzz;

if (args.Length > 0 && args[0] == "--replay")
{
    var n = 0;
    foreach (var path in args.Skip(1))
    {
        foreach (var file in Directory.Exists(path) ? Directory.EnumerateFiles(path).Order(StringComparer.Ordinal) : (IEnumerable<string>)[path])
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
    var seeds = Seeds.All().Select(s => s.Data).ToArray();
    for (var i = 0; i < count; i++)
    {
        // Half pure noise (for each target), half mutated seeds (past the first checks of each parser).
        byte[] input;
        if ((i & 1) == 0)
        {
            input = new byte[rng.Next(1, 2048)];
            rng.NextBytes(input);
        }
        else
        {
            input = (byte[])seeds[rng.Next(seeds.Length)].Clone();
            for (int flips = rng.Next(1, 8); flips > 0 && input.Length > 1; flips--)
            {
                int at = rng.Next(1, input.Length);
                switch (rng.Next(3))
                {
                    case 0: input[at] ^= (byte)(1 << rng.Next(8)); break;
                    case 1: input[at] = (byte)rng.Next(256); break;
                    default: input = input[..at]; break;
                }
            }
        }
        Target.Run(input);
    }

    Console.WriteLine($"ran {count} random and mutated inputs without a crash");
    return 0;
}

if (args.Length > 1 && args[0] == "--seeds")
{
    Directory.CreateDirectory(args[1]);
    int n = 0;
    foreach (var (name, data) in Seeds.All())
    {
        File.WriteAllBytes(Path.Combine(args[1], name), data);
        n++;
    }
    Console.WriteLine($"wrote {n} seeds to {args[1]}");
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
