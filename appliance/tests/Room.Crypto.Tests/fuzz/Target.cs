using Room.Crypto.Mls;
using Room.Crypto.SFrame;

namespace Room.Crypto.Fuzz;

/// <summary>
/// Input: byte 0 picks the decoder (<see cref="Kind"/>), the rest is the data. Throws only on a finding: an exception
/// other than <see cref="RoomCryptoException"/> (the typed refusal), or a broken invariant (what decodes must encode
/// back to the same bytes, since every decoder refuses non-canonical input).
/// </summary>
internal static class Target
{
    public enum Kind : byte { MlsMessage, RatchetTree, GroupInfo, GroupSecrets, SFrameHeader, SFrameDecrypt }

    public const int Kinds = 6;

    /// <summary>SFrame suites 0x0001-0x0005, each with base keys for KIDs 0-7 and 300 (all bytes KID+1).</summary>
    public static readonly SFrameCipherSuite[] Suites =
    [
        SFrameCipherSuite.AesCtr128HmacSha256Tag80, SFrameCipherSuite.AesCtr128HmacSha256Tag64, SFrameCipherSuite.AesCtr128HmacSha256Tag32,
        SFrameCipherSuite.Aes128GcmSha256Tag128, SFrameCipherSuite.Aes256GcmSha512Tag128,
    ];

    public static readonly ulong[] KeyIds = [0, 1, 2, 3, 4, 5, 6, 7, 300];

    public static byte[] BaseKey(ulong kid) => [.. Enumerable.Repeat((byte)(kid + 1), 32)];

    private static readonly Lazy<SFrameContext[]> Receivers = new(() => Suites.Select(s =>
    {
        var c = new SFrameContext(s);
        foreach (ulong k in KeyIds)
        {
            c.AddKey(k, BaseKey(k));
        }

        return c;
    }).ToArray());

    private static readonly MlsCipherSuite Cs = MlsCipherSuite.Get(1);
    private static readonly byte[] Output = new byte[1 << 16];

    /// <summary>Runs one input; true when the decoder accepted it, false when it refused it with a typed error.</summary>
    public static bool Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return false;
        }

        byte[] body = input[1..].ToArray();
        try
        {
            switch ((Kind)(input[0] % Kinds))
            {
                case Kind.MlsMessage:
                    RoundTrip(body, MlsMessage.Decode(body).ToBytes(), "MLSMessage");
                    break;
                case Kind.RatchetTree:
                    var tree = RatchetTree.Decode(body);
                    RoundTrip(body, tree.Encode(), "ratchet tree");
                    // What a joiner runs on a tree it was handed (suite 1); only typed refusals may come out.
                    _ = tree.RootHash(Cs);
                    _ = tree.VerifyParentHashes(Cs);
                    tree.VerifyLeaves(Cs, "fuzz-seed"u8.ToArray()); // the seeds' group id
                    break;
                case Kind.GroupInfo:
                    RoundTrip(body, MlsReader.DecodeAll(body, GroupInfo.Read).ToBytes(), "GroupInfo");
                    break;
                case Kind.GroupSecrets:
                    RoundTrip(body, MlsWriter.Encode(MlsReader.DecodeAll(body, GroupSecrets.Read).Write), "GroupSecrets");
                    break;
                case Kind.SFrameHeader:
                    var h = SFrameHeader.Decode(body, out int consumed);
                    Span<byte> buf = stackalloc byte[SFrameHeader.MaxSize];
                    int n = h.Encode(buf);
                    RoundTrip(body.AsSpan(0, consumed), buf[..n], "SFrame header");
                    break;
                case Kind.SFrameDecrypt:
                    if (body.Length == 0)
                    {
                        return false;
                    }

                    // Byte 1 picks the suite; the metadata is empty.
                    var rx = Receivers.Value[body[0] % Suites.Length];
                    int written = rx.Decrypt([], body.AsSpan(1), Output);
                    if (written < 0 || written > body.Length)
                    {
                        throw new InvalidOperationException($"SFrame decrypt wrote {written} bytes from {body.Length}");
                    }

                    break;
            }

            return true;
        }
        catch (RoomCryptoException)
        {
            // the typed refusal of malformed input
            return false;
        }
    }

    private static void RoundTrip(ReadOnlySpan<byte> input, ReadOnlySpan<byte> encoded, string what)
    {
        if (!input.SequenceEqual(encoded))
        {
            throw new InvalidOperationException($"{what} decoded from {Convert.ToHexString(input)} encodes to {Convert.ToHexString(encoded)}");
        }
    }
}
