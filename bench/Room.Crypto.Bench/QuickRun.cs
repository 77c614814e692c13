using System.Diagnostics;
using Room.Crypto.SFrame;

namespace Room.Crypto.Bench;

internal static class QuickRun
{
    public static void Run()
    {
        foreach (var suite in new[] { SFrameCipherSuite.Aes128GcmSha256Tag128, SFrameCipherSuite.AesCtr128HmacSha256Tag80 })
        {
            foreach (int size in new[] { 1200, 50_000 })
            {
                var b = new SFrameBench { Size = size, Suite = suite };
                b.Setup();
                int iters = size > 10_000 ? 2000 : 20000;
                double bare = Time(b.BareAesGcm, iters), sf = Time(b.SFrameEncryptDecrypt, iters);
                long alloc0 = GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < 1000; i++)
                {
                    b.SFrameEncryptDecrypt();
                }

                long alloc = (GC.GetAllocatedBytesForCurrentThread() - alloc0) / 1000;
                Console.WriteLine($"{suite,-28} {size,6} B  bare AES-GCM {bare,9:F2} us  SFrame {sf,9:F2} us  ratio {sf / bare:F3}  alloc/op {alloc} B");
                b.Cleanup();
            }
        }
    }

    private static double Time(Func<int> f, int iters)
    {
        for (int i = 0; i < iters / 10; i++)
        {
            f();
        }

        double best = double.MaxValue;
        for (int round = 0; round < 5; round++)
        {
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < iters; i++)
            {
                f();
            }

            best = Math.Min(best, sw.Elapsed.TotalMicroseconds / iters);
        }

        return best;
    }
}
