using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Room.Call.E2ee;
using Room.Crypto.SFrame;
using Room.Testing;

namespace Room.Call.Tests;

public sealed class SFrameTransformTests
{
    private static readonly byte[] Secret = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();

    /// <summary>A VP8-looking frame: frame tag with P=0 (keyframe) or 1, the keyframe start code and size, then data.</summary>
    internal static byte[] Vp8Frame(bool keyframe, int length)
    {
        var f = new byte[length];
        RandomNumberGenerator.Fill(f);
        f[0] = (byte)(keyframe ? f[0] & ~1 : f[0] | 1);
        if (keyframe && length >= 10)
        {
            f[3] = 0x9d; f[4] = 0x01; f[5] = 0x2a; // start code
            f[6] = 0x40; f[7] = 0x01; f[8] = 0xf0; f[9] = 0x00; // 320x240
        }
        return f;
    }

    private static (byte[] Out, int Length) Run(Room.Media.IFrameTransform t, ReadOnlySpan<byte> input)
    {
        var output = new byte[input.Length + SFrameLayout.MaxExpansion];
        return (output, t.Transform(input, false, output));
    }

    [Theory]
    [InlineData(true, 10)]
    [InlineData(false, 3)]
    public void Vp8_frames_keep_their_payload_header_in_clear_and_the_rest_is_sframe(bool keyframe, int prefix)
    {
        using var link = LinkKey.FromSecret(Secret);
        using var enc = link.CreateEncryptor(FrameKind.Vp8, 0x1234_5678);
        var frame = Vp8Frame(keyframe, 500);
        var (ct, n) = Run(enc, frame);
        Assert.True(n > 0);
        Assert.Equal(frame.AsSpan(0, prefix).ToArray(), ct.AsSpan(0, prefix).ToArray());
        var header = SFrameHeader.Decode(ct.AsSpan(prefix, n - prefix), out int hlen);
        Assert.Equal(0x1234_5678UL, header.KeyId);
        Assert.Equal(0UL, header.Counter);
        Assert.Equal(prefix + hlen + (500 - prefix) + 16, n);
        // The rest is not the plaintext.
        Assert.False(ct.AsSpan(prefix + hlen, 500 - prefix).SequenceEqual(frame.AsSpan(prefix)));

        using var dec = link.CreateDecryptor(FrameKind.Vp8);
        var (pt, m) = Run(dec, ct.AsSpan(0, n));
        Assert.Equal(500, m);
        Assert.Equal(frame, pt.AsSpan(0, m).ToArray());
    }

    [Fact]
    public void Opus_frames_are_encrypted_whole()
    {
        using var link = LinkKey.FromSecret(Secret);
        using var enc = link.CreateEncryptor(FrameKind.Audio, 77);
        var frame = new byte[] { 0x78, 1, 2, 3, 4, 5 };
        var (ct, n) = Run(enc, frame);
        var header = SFrameHeader.Decode(ct, out int hlen);
        Assert.Equal(77UL, header.KeyId);
        Assert.Equal(hlen + frame.Length + 16, n);
        using var dec = link.CreateDecryptor(FrameKind.Audio);
        var (pt, m) = Run(dec, ct.AsSpan(0, n));
        Assert.Equal(frame, pt.AsSpan(0, m).ToArray());
    }

    [Theory]
    [InlineData(0)]     // clear prefix byte (authenticated metadata)
    [InlineData(5)]     // clear keyframe dimensions
    [InlineData(11)]    // SFrame header
    [InlineData(40)]    // ciphertext
    [InlineData(-1)]    // tag
    public void Any_tampered_byte_is_rejected(int position)
    {
        using var link = LinkKey.FromSecret(Secret);
        using var enc = link.CreateEncryptor(FrameKind.Vp8, 9);
        var frame = Vp8Frame(true, 200);
        var (ct, n) = Run(enc, frame);
        int at = position < 0 ? n - 1 : position;
        // Flipping bit 1 (not bit 0, the keyframe flag, which would change the layout rather than the bytes) of the tag byte.
        ct[at] ^= 0x02;
        using var dec = link.CreateDecryptor(FrameKind.Vp8);
        Assert.Equal(-1, Run(dec, ct.AsSpan(0, n)).Length);
        Assert.Equal(1, dec.Rejected);
    }

    [Fact]
    public void A_frame_from_another_link_or_replayed_is_rejected()
    {
        using var link = LinkKey.FromSecret(Secret);
        using var other = LinkKey.FromSecret(new byte[32]);
        using var enc = other.CreateEncryptor(FrameKind.Audio, 100);
        var (ct, n) = Run(enc, [1, 2, 3]);
        using var dec = link.CreateDecryptor(FrameKind.Audio);
        Assert.Equal(-1, Run(dec, ct.AsSpan(0, n)).Length);

        using var ours = link.CreateEncryptor(FrameKind.Audio, 100);
        var (good, g) = Run(ours, [1, 2, 3]);
        using var fresh = link.CreateDecryptor(FrameKind.Audio);
        Assert.Equal(3, Run(fresh, good.AsSpan(0, g)).Length);
        Assert.Equal(-1, Run(fresh, good.AsSpan(0, g)).Length); // replay
    }

    [Theory]
    [InlineData("")]
    [InlineData("00")]                                   // header only
    [InlineData("0011223344556677889900aabbccddee")]      // 16 bytes: header + short tag
    [InlineData("ff")]                                   // extended KID/CTR, truncated
    [InlineData("8800000000000000000000000000000000")]   // non-canonical KID
    [InlineData("01ffffffffffffffffffffffffffffffffffffff")]
    public void Malformed_audio_frames_are_rejected_without_throwing(string hex)
    {
        using var link = LinkKey.FromSecret(Secret);
        using var dec = link.CreateDecryptor(FrameKind.Audio);
        var input = Convert.FromHexString(hex);
        Assert.Equal(-1, Run(dec, input).Length);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(10)]
    [InlineData(20)]
    public void Short_vp8_frames_are_rejected_without_throwing(int length)
    {
        using var link = LinkKey.FromSecret(Secret);
        using var dec = link.CreateDecryptor(FrameKind.Vp8);
        Assert.Equal(-1, Run(dec, Vp8Frame(true, length)).Length);
        Assert.Equal(-1, Run(dec, Vp8Frame(false, length)).Length);
    }

    [Fact]
    public void Frames_of_unknown_senders_are_bounded_in_keys_kept()
    {
        using var link = LinkKey.FromSecret(Secret);
        using var dec = link.CreateDecryptor(FrameKind.Audio);
        for (ulong kid = 8; kid < 8 + SFrameDecryptor.MaxKeys * 3; kid++)
        {
            using var enc = link.CreateEncryptor(FrameKind.Audio, kid);
            var (ct, n) = Run(enc, [9]);
            Assert.Equal(1, Run(dec, ct.AsSpan(0, n)).Length);
        }
        Assert.Equal(SFrameDecryptor.MaxKeys * 3, dec.Frames);
    }
}

public sealed class LinkKeyTests
{
    [Fact]
    public void The_fragment_key_is_32_bytes_of_base64url_and_anything_else_is_refused()
    {
        var text = LinkKey.NewSecretText();
        Assert.Equal(43, text.Length);
        using var key = LinkKey.FromFragment("k=" + text);
        Assert.NotNull(key);
        using var same = LinkKey.FromFragment("#x=1&k=" + text);
        Assert.Equal(key!.SecurityCode, same!.SecurityCode);
        Assert.Null(LinkKey.FromFragment(null));
        Assert.Null(LinkKey.FromFragment(""));
        Assert.Null(LinkKey.FromFragment("x=1"));
        Assert.Throws<FormatException>(() => LinkKey.FromFragment("k="));
        Assert.Throws<FormatException>(() => LinkKey.FromFragment("k=abc"));
        Assert.Throws<FormatException>(() => LinkKey.FromFragment("k=" + text + "AA"));
        Assert.Throws<FormatException>(() => LinkKey.FromFragment("k=" + text.Replace(text[5], '+')));
        Assert.Throws<FormatException>(() => LinkKey.FromFragment("k=" + new string('A', 500)));
        Assert.Throws<FormatException>(() => LinkKey.FromFragment("k=" + text + "&k=" + text));
    }

    [Fact]
    public void The_security_code_has_the_mls_code_format_and_depends_on_the_secret()
    {
        using var a = LinkKey.FromSecret(new byte[32]);
        using var b = LinkKey.FromSecret(Enumerable.Repeat((byte)1, 32).ToArray());
        Assert.Matches(@"^(\d{5} ){11}\d{5}$", a.SecurityCode);
        Assert.NotEqual(a.SecurityCode, b.SecurityCode);
        using var again = LinkKey.FromSecret(new byte[32]);
        Assert.Equal(a.SecurityCode, again.SecurityCode);
    }

    [Fact]
    public void Base_keys_follow_the_labelled_hkdf_derivation_and_differ_per_sender()
    {
        var secret = Enumerable.Range(0, 32).Select(i => (byte)(i * 3)).ToArray();
        using var key = LinkKey.FromSecret(secret);
        var k1 = new byte[32];
        var k2 = new byte[32];
        Assert.Equal(32, key.BaseKey(1000, k1));
        key.BaseKey(1001, k2);
        Assert.NotEqual(k1, k2);

        var root = HKDF.Extract(HashAlgorithmName.SHA256, secret, "Room link key v1"u8.ToArray());
        var info = "Room link SFrame base key"u8.ToArray().Concat(new byte[] { 0, 0, 0, 0, 0, 0, 0x03, 0xe8 }).ToArray();
        Assert.Equal(HKDF.Expand(HashAlgorithmName.SHA256, root, 32, info), k1);
    }

    [Fact]
    public void New_key_ids_are_extended_and_fit_javascript_numbers()
    {
        for (int i = 0; i < 100; i++)
        {
            ulong kid = LinkKey.NewKeyId();
            Assert.InRange(kid, 8UL, (1UL << 53) - 1);
        }
    }
}

/// <summary>The browser's JavaScript (web/room-link-e2ee.js, WebCrypto in node) against the C# implementation.</summary>
public sealed class LinkE2eeJavaScriptTests
{
    internal static string ScriptPath => Path.Combine(AppContext.BaseDirectory, "web", "room-link-e2ee.js");

    [Fact]
    public async Task The_javascript_derives_the_same_code_and_each_side_decrypts_the_others_frames()
    {
        Assert.True(File.Exists("/usr/bin/node"), "node is not installed (make deps)");
        var secret = RandomNumberGenerator.GetBytes(32);
        var fragment = "k=" + Convert.ToBase64String(secret).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        using var link = LinkKey.FromFragment(fragment)!;
        using var enc = link.CreateEncryptor(FrameKind.Vp8, 0xABCDEF);
        var key = SFrameTransformTests.Vp8Frame(true, 300);
        var delta = SFrameTransformTests.Vp8Frame(false, 120);
        var outKey = new byte[400];
        var outDelta = new byte[200];
        int nk = enc.Transform(key, true, outKey);
        int nd = enc.Transform(delta, false, outDelta);

        var script = $$"""
            require('{{ScriptPath}}');
            const E = globalThis.RoomLinkE2ee;
            (async () => {
              const ctx = new E.LinkContext(E.keyFromFragment('#{{fragment}}'));
              const hex = b => Buffer.from(b).toString('hex');
              const un = h => Uint8Array.from(Buffer.from(h, 'hex'));
              const out = {
                code: await ctx.securityCode(),
                key: hex(await ctx.decrypt('video', un('{{Convert.ToHexString(outKey, 0, nk)}}'))),
                delta: hex(await ctx.decrypt('video', un('{{Convert.ToHexString(outDelta, 0, nd)}}'))),
                audio: hex(await ctx.encrypt(123456789, 'audio', un('0102030405'))),
                video: hex(await ctx.encrypt(123456789, 'video', un('{{Convert.ToHexString(delta)}}'))),
              };
              let tampered = un('{{Convert.ToHexString(outDelta, 0, nd)}}'); tampered[1] ^= 4;
              try { await ctx.decrypt('video', tampered); out.tampered = 'accepted'; } catch (e) { out.tampered = 'rejected'; }
              console.log(JSON.stringify(out));
            })().catch(e => { console.error(e); process.exit(1); });
            """;
        var psi = new ProcessStartInfo("/usr/bin/node") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using var node = Process.Start(psi)!;
        await node.StandardInput.WriteAsync(script);
        node.StandardInput.Close();
        var stdout = await node.StandardOutput.ReadToEndAsync();
        var stderr = await node.StandardError.ReadToEndAsync();
        await node.WaitForExitAsync();
        Assert.True(node.ExitCode == 0, stderr);
        var r = JsonDocument.Parse(stdout).RootElement;

        Assert.Equal(link.SecurityCode, r.GetProperty("code").GetString());
        Assert.Equal(Convert.ToHexString(key), r.GetProperty("key").GetString(), ignoreCase: true);
        Assert.Equal(Convert.ToHexString(delta), r.GetProperty("delta").GetString(), ignoreCase: true);
        Assert.Equal("rejected", r.GetProperty("tampered").GetString());

        using var dec = link.CreateDecryptor(FrameKind.Audio);
        var audio = Convert.FromHexString(r.GetProperty("audio").GetString()!);
        var pt = new byte[audio.Length];
        Assert.Equal(5, dec.Transform(audio, false, pt));
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, pt[..5]);
        using var vdec = link.CreateDecryptor(FrameKind.Vp8);
        var video = Convert.FromHexString(r.GetProperty("video").GetString()!);
        Assert.Equal(delta.AsSpan(0, 3).ToArray(), video[..3]);
        var vpt = new byte[video.Length];
        Assert.Equal(delta.Length, vdec.Transform(video, false, vpt));
        Assert.Equal(delta, vpt[..delta.Length]);
    }
}

public sealed class SFrameAllocationTests
{
    [Fact]
    public void Steady_state_encryption_and_decryption_allocate_nothing_per_frame()
    {
        using var link = LinkKey.FromSecret(new byte[32]);
        using var enc = link.CreateEncryptor(FrameKind.Vp8, 4242);
        using var dec = link.CreateDecryptor(FrameKind.Vp8);
        var key = SFrameTransformTests.Vp8Frame(true, 3000);
        var delta = SFrameTransformTests.Vp8Frame(false, 800);
        var ct = new byte[4000];
        var pt = new byte[4000];
        // Warm up (key derived, code paths compiled), then count.
        for (int i = 0; i < 200; i++) dec.Transform(ct.AsSpan(0, enc.Transform(i % 2 == 0 ? key : delta, false, ct)), false, pt);
        int wrong = 0;
        long encBytes = 0, decBytes = 0;
        ThreadAllocations.Start();
        for (int i = 0; i < 1000; i++)
        {
            var frame = i % 30 == 0 ? key : delta;
            long a = GC.GetAllocatedBytesForCurrentThread();
            int n = enc.Transform(frame, false, ct);
            long b = GC.GetAllocatedBytesForCurrentThread();
            if (dec.Transform(ct.AsSpan(0, n), false, pt) != frame.Length) wrong++;
            long c = GC.GetAllocatedBytesForCurrentThread();
            encBytes += b - a;
            decBytes += c - b;
        }
        Assert.Equal(0, wrong);
        Assert.Equal((0L, 0L), (encBytes, decBytes));
    }
}
