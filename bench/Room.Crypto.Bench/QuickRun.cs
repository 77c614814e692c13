using System.Diagnostics;
using System.Security.Cryptography;
using Room.Crypto.SFrame;

namespace Room.Crypto.Bench;

internal static class QuickRun
{
    public static void Run(bool sframe)
    {
        Console.WriteLine($"load average at start: {File.ReadAllText("/proc/loadavg").Trim()}");
        if (sframe)
        {
            SFrame();
        }

        MlsCommits();
        Console.WriteLine($"load average at end: {File.ReadAllText("/proc/loadavg").Trim()}");
    }

    private static void SFrame()
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
    }

    /// <summary>mls-rs's published group_commit and group_receive_commit (gh-pages dev/bench/data.js, mls-rs 6fc9223d8c,
    /// 2026-08-07, GitHub's ubuntu-latest runner, OpenSSL provider, suite 1) for 16, 64, 128 members, in ms.</summary>
    private static readonly Dictionary<int, (double Create, double Process)> MlsRsPublished = new()
    {
        [16] = (2.712, 0.782), [64] = (7.366, 0.872), [128] = (13.686, 1.007),
    };

    /// <summary>
    /// MLS commits (suite 0x0001, empty proposal list) in the three tree shapes, 11 interleaved rounds of: one HPKE
    /// encryption of ours, one OpenSSL X25519 encapsulation (the reference), create, process. Medians, and the create
    /// time per path-secret encryption as a multiple of each reference measured in the same rounds.
    /// </summary>
    private static void MlsCommits()
    {
        var cs = Room.Crypto.Mls.MlsCipherSuite.Get(1);
        byte[] peer = cs.Hpke.Kem.GenerateKeyPair().PublicKey, gc = RandomNumberGenerator.GetBytes(120), secret = RandomNumberGenerator.GetBytes(32);
        byte[] eph = RandomNumberGenerator.GetBytes(32), pkOut = new byte[32], shared = new byte[32];
        foreach (var shape in Enum.GetValues<TreeShape>())
        {
            foreach (int members in new[] { 16, 64, 128 })
            {
                var m = new MlsCommitBench { Members = members, Shape = shape };
                var setup = Stopwatch.StartNew();
                m.Setup();
                double setupS = setup.Elapsed.TotalSeconds;
                int recipients = m.Recipients;
                const int rounds = 11;
                var create = new double[rounds];
                var process = new double[rounds];
                var seal = new double[rounds];
                var ossl = new double[rounds];
                for (int i = 0; i < rounds; i++)
                {
                    seal[i] = Time(() => cs.EncryptWithLabel(peer, "UpdatePathNode", gc, secret).KemOutput.Length, 20);
                    ossl[i] = Time(() => { OpenSslX25519.Encap(eph, peer, pkOut, shared); return 0; }, 20);
                    var sw = Stopwatch.StartNew();
                    var commit = m.Stage();
                    create[i] = sw.Elapsed.TotalMilliseconds;
                    m.Merge();
                    sw.Restart();
                    m.Process(commit);
                    process[i] = sw.Elapsed.TotalMilliseconds;
                }

                double c = Median(create), p = Median(process), perRecipientUs = c * 1000 / recipients;
                string published = shape == TreeShape.MlsRs ? $" | mls-rs published {MlsRsPublished[members].Create,6:F2} / {MlsRsPublished[members].Process,5:F2} ms" : "";
                Console.WriteLine($"{shape,-9} {members,3}: {recipients,3} encryptions | create {c,7:F2} ms (best {create.Min(),6:F2}) process {p,6:F2} ms (best {process.Min(),5:F2})"
                    + $" | per encryption {perRecipientUs,5:F0} us = {perRecipientUs / Median(seal),4:F2} x our HPKE seal ({Median(seal),4:F0} us), {perRecipientUs / Median(ossl),4:F2} x OpenSSL X25519 encap ({Median(ossl),4:F0} us){published} | setup {setupS:F1} s");
            }
        }
    }

    private static double Median(double[] xs)
    {
        var s = xs.Order().ToArray();
        return s[s.Length / 2];
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
