using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using NSec.Cryptography;

namespace Room.MeetingServer.Identity;

/// <summary>Local accounts' passwords: Argon2id (NSec/libsodium) in the PHC string format.</summary>
public sealed class PasswordHasher(IOptions<MeetingServerOptions> options)
{
    private const int HashSize = 32;

    public string Hash(string password)
    {
        var o = options.Value;
        var p = new Argon2Parameters { DegreeOfParallelism = 1, MemorySize = o.Argon2MemoryKiB, NumberOfPasses = o.Argon2Passes };
        var alg = PasswordBasedKeyDerivationAlgorithm.Argon2id(p);
        byte[] salt = RandomNumberGenerator.GetBytes(alg.MaxSaltSize);
        byte[] hash = alg.DeriveBytes(password, salt, HashSize);
        return string.Create(CultureInfo.InvariantCulture,
            $"$argon2id$v=19$m={p.MemorySize},t={p.NumberOfPasses},p=1${Convert.ToBase64String(salt).TrimEnd('=')}${Convert.ToBase64String(hash).TrimEnd('=')}");
    }

    public static bool Verify(string password, string phc)
    {
        string[] parts = phc.Split('$');
        if (parts.Length != 6 || parts[1] != "argon2id" || parts[2] != "v=19")
        {
            return false;
        }

        var settings = parts[3].Split(',').Select(kv => kv.Split('=')).Where(kv => kv.Length == 2).ToDictionary(kv => kv[0], kv => kv[1]);
        if (!settings.TryGetValue("m", out var m) || !settings.TryGetValue("t", out var t)
            || !int.TryParse(m, CultureInfo.InvariantCulture, out int mem) || !int.TryParse(t, CultureInfo.InvariantCulture, out int passes))
        {
            return false;
        }

        byte[] salt = FromB64(parts[4]), expected = FromB64(parts[5]);
        var alg = PasswordBasedKeyDerivationAlgorithm.Argon2id(new Argon2Parameters { DegreeOfParallelism = 1, MemorySize = mem, NumberOfPasses = passes });
        byte[] actual = alg.DeriveBytes(password, salt, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    private static byte[] FromB64(string s) => Convert.FromBase64String(s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '='));
}
