// SharpFuzz harness for Room.Crypto's decoders of outside input: MLSMessage (PublicMessage, PrivateMessage, Welcome,
// GroupInfo, KeyPackage), the ratchet tree (and the checks a joiner runs on it), GroupInfo and GroupSecrets, the SFrame
// header and SFrame decryption for suites 0x0001-0x0005. Byte 0 of an input picks the target (Target.Kind). Any exception
// other than RoomCryptoException (the typed refusal) is a finding; so is a decoded value that does not encode back to
// the same bytes (the decoders refuse non-canonical input).
//
// Instrument a published copy (never the shared build output); the instrumented Room.Crypto.dll only runs under a fuzzer:
//   dotnet publish appliance/tests/Room.Crypto.Tests/fuzz -c Release -o /tmp/cryptofuzz && sharpfuzz /tmp/cryptofuzz/Room.Crypto.dll
//   AFL (Debian's afl++, SharpFuzz's out-of-process mode):
//       AFL_SKIP_BIN_CHECK=1 afl-fuzz -i corpus -o findings -t 5000 -m none -- dotnet /tmp/cryptofuzz/Room.Crypto.Fuzz.dll --afl
//   libFuzzer (libfuzzer-dotnet): libfuzzer-dotnet --target_path=/tmp/cryptofuzz/Room.Crypto.Fuzz corpus/
//   Replay files (regressions, or a corpus):        Room.Crypto.Fuzz --replay <file-or-directory>...
//   Fixed-seed smoke run (make test):              Room.Crypto.Fuzz --random <count> <seed> <corpus-directory>
//   Write the seed corpus (from our own writers):  Room.Crypto.Fuzz --seeds <dir>
using System.Globalization;
using Room.Crypto.Fuzz;
using SharpFuzz;

if (args.Length > 0 && args[0] == "--replay")
{
    int n = 0, accepted = 0;
    foreach (var path in args.Skip(1))
    {
        foreach (var file in Directory.Exists(path) ? Directory.EnumerateFiles(path).Order(StringComparer.Ordinal) : (IEnumerable<string>)[path])
        {
            accepted += Target.Run(File.ReadAllBytes(file)) ? 1 : 0;
            n++;
        }
    }

    if (n == 0)
    {
        Console.Error.WriteLine("nothing to replay");
        return 1;
    }

    Console.WriteLine($"replayed {n} inputs without a crash ({accepted} accepted, {n - accepted} refused with a typed error)");
    return 0;
}

if (args.Length > 0 && args[0] == "--random")
{
    int count = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2000;
    var rng = new Random(args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1);
    var seeds = args.Length > 3
        ? Directory.EnumerateFiles(args[3]).Order(StringComparer.Ordinal).Select(File.ReadAllBytes).Where(b => b.Length > 1).ToArray()
        : Seeds.All().Select(s => s.Data).ToArray();
    int accepted = 0;
    for (int i = 0; i < count; i++)
    {
        // Half noise (each target in turn), half mutated seeds (past the first checks of each decoder).
        byte[] input;
        if ((i & 1) == 0)
        {
            input = new byte[rng.Next(2, 1024)];
            rng.NextBytes(input);
            input[0] = (byte)(i / 2 % Target.Kinds);
        }
        else
        {
            input = (byte[])seeds[rng.Next(seeds.Length)].Clone();
            for (int flips = rng.Next(1, 8); flips > 0 && input.Length > 2; flips--)
            {
                int at = rng.Next(1, input.Length);
                switch (rng.Next(4))
                {
                    case 0: input[at] ^= (byte)(1 << rng.Next(8)); break;
                    case 1: input[at] = (byte)rng.Next(256); break;
                    case 2: input = input[..at]; break;
                    default: input = [.. input[..at], (byte)rng.Next(256), .. input[at..]]; break;
                }
            }
        }

        accepted += Target.Run(input) ? 1 : 0;
    }

    Console.WriteLine($"ran {count} random and mutated inputs ({seeds.Length} seeds) without a crash ({accepted} accepted, {count - accepted} refused with a typed error)");
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
