using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Room.Crypto.SFrame;

namespace Room.Crypto.Bench;

/// <summary>SFrame encrypt+decrypt of one frame vs bare AES-GCM on the same data (goal: overhead below 15%).</summary>
[MemoryDiagnoser]
public class SFrameBench
{
    private byte[] _frame = [];
    private byte[] _ct = [];
    private byte[] _pt = [];
    private byte[] _tag = new byte[16];
    private readonly byte[] _nonce = new byte[12];
    private AesGcm _gcm = null!;
    private SFrameContext _tx = null!;
    private SFrameContext _rx = null!;

    [Params(1200, 50_000)]
    public int Size { get; set; }

    [Params(SFrameCipherSuite.Aes128GcmSha256Tag128, SFrameCipherSuite.AesCtr128HmacSha256Tag80)]
    public SFrameCipherSuite Suite { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _frame = RandomNumberGenerator.GetBytes(Size);
        _ct = new byte[Size + 64];
        _pt = new byte[Size + 64];
        byte[] key = RandomNumberGenerator.GetBytes(16);
        _gcm = new AesGcm(key, 16);
        _tx = new SFrameContext(Suite);
        _rx = new SFrameContext(Suite);
        _tx.AddKey(7, key);
        _rx.AddKey(7, key);
    }

    [Benchmark(Baseline = true)]
    public int BareAesGcm()
    {
        _nonce[11]++;
        _gcm.Encrypt(_nonce, _frame, _ct.AsSpan(0, Size), _tag, "hdr"u8);
        _gcm.Decrypt(_nonce, _ct.AsSpan(0, Size), _tag, _pt.AsSpan(0, Size), "hdr"u8);
        return _pt[0];
    }

    [Benchmark]
    public int SFrameEncryptDecrypt()
    {
        int n = _tx.Encrypt(7, "hdr"u8, _frame, _ct);
        return _rx.Decrypt("hdr"u8, _ct.AsSpan(0, n), _pt);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _gcm.Dispose();
        _tx.Dispose();
        _rx.Dispose();
    }
}
