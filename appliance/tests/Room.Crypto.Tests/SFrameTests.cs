using Room.Crypto.SFrame;

namespace Room.Crypto.Tests;

public sealed class SFrameTests
{
    private static readonly byte[] BaseKey = Convert.FromHexString("000102030405060708090a0b0c0d0e0f");

    [Theory]
    [InlineData(SFrameCipherSuite.AesCtr128HmacSha256Tag80)]
    [InlineData(SFrameCipherSuite.AesCtr128HmacSha256Tag64)]
    [InlineData(SFrameCipherSuite.AesCtr128HmacSha256Tag32)]
    [InlineData(SFrameCipherSuite.Aes128GcmSha256Tag128)]
    [InlineData(SFrameCipherSuite.Aes256GcmSha512Tag128)]
    [InlineData(SFrameCipherSuite.AesCtr256HmacSha512Tag80)]
    [InlineData(SFrameCipherSuite.AesCtr256HmacSha512Tag32)]
    public void Context_round_trips_frames_and_rejects_replay(SFrameCipherSuite suite)
    {
        using var tx = new SFrameContext(suite);
        using var rx = new SFrameContext(suite);
        tx.AddKey(42, BaseKey);
        rx.AddKey(42, BaseKey);
        byte[] pt = new byte[1200];
        Random.Shared.NextBytes(pt);
        byte[] ct = new byte[pt.Length + tx.MaxOverhead];
        byte[] back = new byte[ct.Length];
        for (int i = 0; i < 3; i++)
        {
            int n = tx.Encrypt(42, "meta"u8, pt, ct);
            int m = rx.Decrypt("meta"u8, ct.AsSpan(0, n), back);
            Assert.Equal(pt, back.AsSpan(0, m).ToArray());
            Assert.Throws<SFrameException>(() => rx.Decrypt("meta"u8, ct.AsSpan(0, n), back));
        }
    }

    [Fact]
    public void Tampered_ciphertext_metadata_or_header_is_refused()
    {
        using var k = new SFrameKey(SFrameCipherSuite.Aes128GcmSha256Tag128, 3, BaseKey);
        byte[] pt = [1, 2, 3, 4, 5];
        byte[] ct = new byte[pt.Length + k.MaxOverhead];
        int n = k.Encrypt(9, "m"u8, pt, ct);
        byte[] back = new byte[n];
        Assert.Equal(5, k.Decrypt("m"u8, ct.AsSpan(0, n), back));
        Assert.Throws<SFrameException>(() => k.Decrypt("x"u8, ct.AsSpan(0, n), back));
        for (int i = 0; i < n; i++)
        {
            byte[] bad = ct[..n];
            bad[i] ^= 0x10;
            Assert.ThrowsAny<SFrameException>(() => k.Decrypt("m"u8, bad, back));
        }
    }

    [Theory]
    [InlineData("")]          // empty
    [InlineData("88")]        // extended KID announced, missing
    [InlineData("0f0001")]    // 8-byte CTR announced, 2 given
    [InlineData("8805")]      // KID 5 in extended form: non-canonical
    [InlineData("090003")]    // 2-byte CTR 3: non-canonical
    [InlineData("890012")]    // 2-byte CTR 0x12 with leading zero byte
    public void Malformed_headers_are_refused(string hex)
    {
        byte[] b = Convert.FromHexString(hex);
        Assert.Throws<SFrameException>(() => SFrameHeader.Decode(b, out _));
    }

    [Fact]
    public void Frames_shorter_than_the_tag_and_unknown_kids_are_refused()
    {
        using var rx = new SFrameContext(SFrameCipherSuite.AesCtr128HmacSha256Tag80);
        rx.AddKey(1, BaseKey);
        byte[] back = new byte[64];
        Assert.Throws<SFrameException>(() => rx.Decrypt([], Convert.FromHexString("1001020304"), back));
        Assert.Throws<SFrameException>(() => rx.Decrypt([], Convert.FromHexString("20010203040506070809"), back));
    }

    [Fact]
    public void Large_metadata_round_trips_and_is_authenticated()
    {
        using var k = new SFrameKey(SFrameCipherSuite.Aes128GcmSha256Tag128, 300, BaseKey);
        byte[] meta = new byte[1000];
        meta[999] = 1;
        byte[] pt = [7, 7, 7];
        byte[] ct = new byte[pt.Length + k.MaxOverhead];
        int n = k.Encrypt(1000, meta, pt, ct);
        byte[] back = new byte[n];
        Assert.Equal(3, k.Decrypt(meta, ct.AsSpan(0, n), back));
        meta[999] = 2;
        Assert.Throws<SFrameException>(() => k.Decrypt(meta, ct.AsSpan(0, n), back));
    }

    [Fact]
    public void Output_buffer_too_small_is_refused_before_writing()
    {
        using var k = new SFrameKey(SFrameCipherSuite.Aes128GcmSha256Tag128, 3, BaseKey);
        byte[] small = new byte[10];
        Assert.Throws<SFrameException>(() => k.Encrypt(0, [], new byte[10], small));
        Assert.All(small, b => Assert.Equal(0, b));
    }

    [Fact]
    public void Decoder_survives_random_input_with_typed_errors_only()
    {
        var rng = new Random(1234);
        using var rx = new SFrameContext(SFrameCipherSuite.AesCtr128HmacSha256Tag32);
        rx.AddKey(0, BaseKey);
        byte[] back = new byte[128];
        int rejected = 0;
        for (int i = 0; i < 2000; i++)
        {
            byte[] b = new byte[rng.Next(0, 40)];
            rng.NextBytes(b);
            try
            {
                rx.Decrypt([], b, back);
            }
            catch (SFrameException)
            {
                rejected++;
            }
        }

        Assert.Equal(2000, rejected);
    }
}
