using System.Diagnostics;
using System.Runtime.InteropServices;
using Room.Rtc.Rtp;
using Room.Rtc.Srtp;

// rtc-bench: SRTP protect+unprotect throughput of Room.Rtc against libsrtp2 (Debian libsrtp2-1, P/Invoke), both
// profiles, and managed allocations per packet. Prints one line per profile and the ratio (ours / libsrtp).
const int Payload = 1100;
var seconds = args.Length > 0 ? double.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 2.0;
Console.WriteLine($"rtc-bench: SRTP protect+unprotect, {Payload}-byte payload, {seconds} s per run, best of 3, rate per CPU-second");
int failures = 0;
foreach (var profile in new[] { SrtpProfile.AesCm128HmacSha1Tag80, SrtpProfile.AeadAes128Gcm })
{
    var key = new byte[16];
    var salt = new byte[SrtpProfiles.MasterSaltLength(profile)];
    Random.Shared.NextBytes(key);
    Random.Shared.NextBytes(salt);
    double ours = 0, allocated = 0;
    double? theirs = null;
    for (int round = 0; round < 3; round++)
    {
        var (o, a) = Ours(profile, key, salt, seconds);
        if (o > ours) ours = o;
        allocated = Math.Max(allocated, a);
        if (LibSrtp.Available) theirs = Math.Max(theirs ?? 0, LibSrtp.Run(profile, key, salt, seconds, Payload));
    }
    string ratio = theirs is > 0 ? (ours / theirs.Value).ToString("F2", System.Globalization.CultureInfo.InvariantCulture) : "n/a";
    Console.WriteLine($"{profile,-24} ours {ours,12:N0} pkt/s   libsrtp2 {(theirs is null ? "n/a" : theirs.Value.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)),12} pkt/s   ratio {ratio}   alloc/pkt {allocated:F3} B");
    if (allocated >= 1) failures++; // goal: no allocation per packet (a one-off JIT allocation over the run is below 1 B/packet)
}
return failures == 0 ? 0 : 1;

static (double PacketsPerSecond, double AllocatedPerPacket) Ours(SrtpProfile profile, byte[] key, byte[] salt, double seconds)
{
    using var tx = new SrtpSession(profile, key, salt);
    using var rx = new SrtpSession(profile, key, salt);
    var buffer = new byte[1500];
    ushort seq = 0;
    int Once()
    {
        int n = RtpHeader.WriteFixed(buffer, 96, false, seq, seq * 3000u, 0x12345678);
        seq++;
        n += Payload;
        tx.ProtectRtp(buffer, n, out int p);
        return rx.UnprotectRtp(buffer, p, out _) == Room.Rtc.RtcError.None ? 1 : 0;
    }
    for (int i = 0; i < 20000; i++) Once();
    long ok = 0, count = 0;
    long before = GC.GetAllocatedBytesForCurrentThread();
    var cpu = CpuClock.Start();
    var sw = Stopwatch.StartNew();
    while (sw.Elapsed.TotalSeconds < seconds)
    {
        for (int i = 0; i < 1000; i++) ok += Once();
        count += 1000;
    }
    double used = cpu.Seconds;
    long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
    if (ok != count) throw new InvalidOperationException($"ours: {count - ok} packets failed to unprotect");
    return (count / used, (double)allocated / count);
}

internal static unsafe partial class LibSrtp
{
    private const string Lib = "libsrtp2.so.1";

    [StructLayout(LayoutKind.Sequential)]
    private struct CryptoPolicy
    {
        public int CipherType, CipherKeyLength, AuthType, AuthKeyLength, AuthTagLength, SecurityServices;
    }

    // srtp_policy_t of libsrtp 2.x (2.3 to 2.5), x86_64.
    [StructLayout(LayoutKind.Sequential)]
    private struct Policy
    {
        public int SsrcType;
        public uint SsrcValue;
        public CryptoPolicy Rtp;
        public CryptoPolicy Rtcp;
        public byte* Key;
        public void* Keys;
        public nuint NumMasterKeys;
        public void* DeprecatedEkt;
        public nuint WindowSize;
        public int AllowRepeatTx;
        public int* EncXtnHdr;
        public int EncXtnHdrCount;
        public void* Next;
    }

    [LibraryImport(Lib)] private static partial int srtp_init();
    [LibraryImport(Lib)] private static partial void srtp_crypto_policy_set_rtp_default(CryptoPolicy* p);
    [LibraryImport(Lib)] private static partial void srtp_crypto_policy_set_rtcp_default(CryptoPolicy* p);
    [LibraryImport(Lib)] private static partial void srtp_crypto_policy_set_aes_gcm_128_16_auth(CryptoPolicy* p);
    [LibraryImport(Lib)] private static partial int srtp_create(nint* session, Policy* policy);
    [LibraryImport(Lib)] private static partial int srtp_protect(nint session, byte* rtp, int* length);
    [LibraryImport(Lib)] private static partial int srtp_unprotect(nint session, byte* srtp, int* length);
    [LibraryImport(Lib)] private static partial int srtp_dealloc(nint session);

    private static readonly Lazy<bool> Initialized = new(() =>
    {
        try { return srtp_init() == 0; }
        catch (DllNotFoundException) { return false; }
    });

    public static bool Available => Initialized.Value;

    private static nint Create(SrtpProfile profile, byte[] keyAndSalt, bool outbound)
    {
        var policy = new Policy();
        if (profile == SrtpProfile.AeadAes128Gcm)
        {
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.Rtp);
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.Rtcp);
        }
        else
        {
            srtp_crypto_policy_set_rtp_default(&policy.Rtp);
            srtp_crypto_policy_set_rtcp_default(&policy.Rtcp);
        }
        policy.SsrcType = outbound ? 3 : 2; // ssrc_any_outbound / ssrc_any_inbound
        policy.WindowSize = 128;
        nint session;
        fixed (byte* k = keyAndSalt)
        {
            policy.Key = k;
            int rc = srtp_create(&session, &policy);
            if (rc != 0) throw new InvalidOperationException($"srtp_create: {rc}");
        }
        return session;
    }

    public static double Run(SrtpProfile profile, byte[] key, byte[] salt, double seconds, int payload)
    {
        var keyAndSalt = key.Concat(salt).ToArray();
        nint tx, rx;
        try
        {
            tx = Create(profile, keyAndSalt, true);
            rx = Create(profile, keyAndSalt, false);
        }
        catch (InvalidOperationException e)
        {
            Console.WriteLine($"libsrtp2 {profile}: {e.Message}");
            return 0;
        }
        var buffer = new byte[1500];
        ushort seq = 0;
        long ok = 0, count = 0;
        fixed (byte* b = buffer)
        {
            int Once(byte* p)
            {
                int n = RtpHeader.WriteFixed(buffer, 96, false, seq, seq * 3000u, 0x12345678);
                seq++;
                n += payload;
                if (srtp_protect(tx, p, &n) != 0) return 0;
                return srtp_unprotect(rx, p, &n) == 0 ? 1 : 0;
            }
            for (int i = 0; i < 20000; i++) Once(b);
            var cpu = CpuClock.Start();
            var sw = Stopwatch.StartNew();
            while (sw.Elapsed.TotalSeconds < seconds)
            {
                for (int i = 0; i < 1000; i++) ok += Once(b);
                count += 1000;
            }
            double used = cpu.Seconds;
            _ = srtp_dealloc(tx);
            _ = srtp_dealloc(rx);
            if (ok != count) Console.WriteLine($"libsrtp2 {profile}: {count - ok} packets failed to unprotect");
            return count / used;
        }
    }
}

/// <summary>CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID), so other work on the shared cores does not count.</summary>
internal readonly unsafe partial struct CpuClock
{
    private readonly double _start;

    private CpuClock(double start) => _start = start;

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds, Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, Timespec* ts);

    private static double Now()
    {
        Timespec ts;
        _ = ClockGetTime(3, &ts); // CLOCK_THREAD_CPUTIME_ID
        return ts.Seconds + ts.Nanoseconds / 1e9;
    }

    public static CpuClock Start() => new(Now());

    public double Seconds => Now() - _start;
}
