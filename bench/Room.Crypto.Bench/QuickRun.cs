using System.Diagnostics;
using System.Security.Cryptography;
using Room.Crypto.Mls;
using Room.Crypto.SFrame;

namespace Room.Crypto.Bench;

internal static class QuickRun
{
    public static void Run(bool sframe, TreeShape[] shapes)
    {
        Console.WriteLine($"load average at start: {File.ReadAllText("/proc/loadavg").Trim()}");
        if (sframe)
        {
            SFrame();
        }

        MlsCommits(shapes.Length > 0 ? shapes : Enum.GetValues<TreeShape>());
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
    private static void MlsCommits(TreeShape[] shapes)
    {
        var cs = MlsCipherSuite.Get(1);
        byte[] peer = cs.Hpke.Kem.GenerateKeyPair().PublicKey, gc = RandomNumberGenerator.GetBytes(120), secret = RandomNumberGenerator.GetBytes(32);
        byte[] eph = RandomNumberGenerator.GetBytes(32), pkOut = new byte[32], shared = new byte[32];
        foreach (var shape in shapes)
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
                var createCpu = new double[rounds];
                var process = new double[rounds];
                var processCpu = new double[rounds];
                var seal = new double[rounds];
                var ossl = new double[rounds];
                for (int i = 0; i < rounds; i++)
                {
                    seal[i] = CpuTime(() => cs.EncryptWithLabel(peer, "UpdatePathNode", gc, secret), 20);
                    ossl[i] = CpuTime(() => OpenSslX25519.Encap(eph, peer, pkOut, shared), 20);
                    MlsMessage commit = null!;
                    (create[i], createCpu[i]) = WallAndCpu(() => commit = m.Stage());
                    m.Merge();
                    (process[i], processCpu[i]) = WallAndCpu(() => m.Process(commit));
                }

                double c = Median(createCpu), perEncryptionUs = c * 1000 / recipients;
                string published = shape == TreeShape.MlsRs ? $" | mls-rs published {MlsRsPublished[members].Create,5:F2} / {MlsRsPublished[members].Process,4:F2} ms" : "";
                Console.WriteLine($"{shape,-9} {members,3}: {recipients,3} encryptions | CPU create {c,6:F2} ms process {Median(processCpu),5:F2} ms | wall create {Median(create),6:F2} ms process {Median(process),5:F2} ms"
                    + $" | CPU per encryption {perEncryptionUs,4:F0} us = {perEncryptionUs / Median(seal),4:F2} x our HPKE seal ({Median(seal),3:F0} us), {perEncryptionUs / Median(ossl),4:F2} x OpenSSL X25519 encap ({Median(ossl),3:F0} us){published} | setup {setupS:F0} s");
            }
        }
    }

    private static (double WallMs, double CpuMs) WallAndCpu(Action a)
    {
        double cpu0 = CpuClock.NowMs();
        var sw = Stopwatch.StartNew();
        a();
        return (sw.Elapsed.TotalMilliseconds, CpuClock.NowMs() - cpu0);
    }

    /// <summary>Process CPU time of one call, in microseconds (mean of <paramref name="iters"/>).</summary>
    private static double CpuTime(Action a, int iters) => WallAndCpu(() =>
    {
        for (int i = 0; i < iters; i++)
        {
            a();
        }
    }).CpuMs * 1000 / iters;

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
