using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Room.Appliance.Meeting;

/// <summary>
/// Turns an MLS epoch authenticator into the digits people compare aloud: 6 groups of 5 digits.
/// Every member derives the same code from the same epoch; a different code means a different group state.
/// </summary>
public static class SecurityCodes
{
    private static readonly byte[] s_label = Encoding.ASCII.GetBytes("room security code v1");

    public static string FromEpochAuthenticator(ReadOnlySpan<byte> authenticator)
    {
        Span<byte> digest = stackalloc byte[32];
        HMACSHA256.HashData(s_label, authenticator, digest);
        var sb = new StringBuilder(35);
        for (var group = 0; group < 6; group++)
        {
            // 40 bits per group, reduced mod 100000: bias below 1e-7.
            var chunk = digest.Slice(group * 5, 5);
            ulong v = ((ulong)BinaryPrimitives.ReadUInt32BigEndian(chunk) << 8) | chunk[4];
            if (group > 0)
            {
                sb.Append(' ');
            }

            sb.Append((v % 100000).ToString("D5"));
        }

        return sb.ToString();
    }
}
