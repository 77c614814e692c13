using System.Diagnostics;
using System.Security.Cryptography;
using Room.Crypto.SFrame;

namespace Room.Crypto.Bench;

internal static class QuickRun
{
    public static void Run()
    {
        // Encrypt and decrypt measured separately (interleaved, best of 40 rounds): stable on a loaded machine.
        foreach (var suite in new[] { SFrameCipherSuite.Aes128GcmSha256Tag128, SFrameCipherSuite.AesCtr128HmacSha256Tag80 })
        {
            foreach (int size in new[] { 1200, 50_000 })
            {
                byte[] key = RandomNumberGenerator.GetBytes(16), frame = RandomNumberGenerator.GetBytes(size);
                byte[] ct = new byte[size + 64], ctE = new byte[size + 64], pt = new byte[size + 64], bareCt = new byte[size], tag = new byte[16], tagE = new byte[16], nonce = new byte[12];
                using var gcm = new AesGcm(key, 16);
                using var k = new SFrameKey(suite, 7, key);
                gcm.Encrypt(nonce, frame, bareCt, tag, "hdr"u8);
                int n = k.Encrypt(5, "hdr"u8, frame, ct);
                ulong ctr = 10;
                int iters = size > 10_000 ? 100 : 1000;
                double be = double.MaxValue, se = double.MaxValue, bd = double.MaxValue, sd = double.MaxValue;
                for (int r = 0; r < 40; r++)
                {
                    be = Math.Min(be, Time(() => { gcm.Encrypt(nonce, frame, ctE.AsSpan(0, size), tagE, "hdr"u8); return 0; }, iters));
                    se = Math.Min(se, Time(() => k.Encrypt(ctr++, "hdr"u8, frame, ctE), iters));
                    bd = Math.Min(bd, Time(() => { gcm.Decrypt(nonce, bareCt, tag, pt.AsSpan(0, size), "hdr"u8); return 0; }, iters));
                    sd = Math.Min(sd, Time(() => k.Decrypt("hdr"u8, ct.AsSpan(0, n), pt), iters));
                }

                long a0 = GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < 100; i++)
                {
                    int m = k.Encrypt(ctr++, "hdr"u8, frame, ct);
                    k.Decrypt("hdr"u8, ct.AsSpan(0, m), pt);
                }

                long alloc = (GC.GetAllocatedBytesForCurrentThread() - a0) / 100;
                Console.WriteLine($"{suite,-26} {size,6} B  AES-GCM enc {be,8:F2} dec {bd,8:F2} us | SFrame enc {se,8:F2} dec {sd,8:F2} us | overhead {(se + sd) / (be + bd) - 1,7:P1} | alloc/frame {alloc} B");
            }
        }

        // MLS commit (full UpdatePath, suite 0x0001): 11 rounds each, median and best (a busy machine inflates the mean).
        foreach (int members in new[] { 2, 16, 64, 128 })
        {
            var m = new MlsCommitBench { Members = members };
            m.Setup();
            const int rounds = 11;
            var create = new double[rounds];
            var process = new double[rounds];
            for (int i = 0; i < rounds; i++)
            {
                var sw = Stopwatch.StartNew();
                m.MakeCommit();
                create[i] = sw.Elapsed.TotalMilliseconds;
                sw.Restart();
                m.ProcessCommit();
                process[i] = sw.Elapsed.TotalMilliseconds;
            }

            Array.Sort(create);
            Array.Sort(process);
            Console.WriteLine($"MLS commit, {members,3} members: create median {create[rounds / 2],7:F2} ms (best {create[0],7:F2})  process median {process[rounds / 2],6:F2} ms (best {process[0],6:F2})");
        }
    }

    private static double Time(Func<int> f, int iters)
    {
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < iters; i++)
        {
            f();
        }

        return sw.Elapsed.TotalMicroseconds / iters;
    }
}
